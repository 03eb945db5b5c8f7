package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bench/compare -update)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from %s (got in %s.got)", name, path, path)
	}
}

// fixturePaths are the hand-made files of three machine types: two H100s
// in one machine, a CPU, and two machines of an H200 type.
var fixturePaths = []string{"testdata/fixture-h100x2.json", "testdata/fixture-cpu.json", "testdata/fixture-h200-a.json", "testdata/fixture-h200-b.json"}

func fixtureInputs(t *testing.T) []Input {
	t.Helper()
	in, err := Load(fixturePaths)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// fixturePrice is a stand-in price list: $4/GPU-hour for the H100
// fixture, $5 for the H200 and $1.20 for the CPU fixture.
func fixturePrice(m Machine) (Price, bool) {
	switch {
	case strings.Contains(m.DeviceName, "H100"):
		return Price{USDPerGPUHour: 4, Basis: "fixture price, dated 2026-11-20"}, true
	case strings.Contains(m.DeviceName, "H200"):
		return Price{USDPerGPUHour: 5, Basis: "fixture price, dated 2026-11-20"}, true
	case m.InstanceType == "fixture.cpu-8x":
		return Price{USDPerGPUHour: 1.2, Basis: "fixture price, dated 2026-11-20"}, true
	}
	return Price{}, false
}

func fixtureEstimate(m Machine, ref Reference) (Estimate, error) {
	if m.DeviceKind == "cpu" {
		return Estimate{}, errors.New("no forecast for CPUs")
	}
	return Estimate{Days: 31.5, CostUSD: 3.1e6}, nil
}

// committed loads the measured files in results/.
func committed(t *testing.T) []Input {
	t.Helper()
	in, err := Load([]string{"../../results"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestCompareGolden(t *testing.T) {
	priced := Options{Price: fixturePrice, Estimate: fixtureEstimate}
	all := priced
	all.All, all.RelativeTo = true, "H100"
	for _, c := range []struct {
		name string
		in   func(*testing.T) []Input
		opt  Options
	}{
		{"plain", fixtureInputs, Options{}},
		{"priced", fixtureInputs, priced},
		{"all", fixtureInputs, all},
		// The committed measurements, with stand-in prices and forecast so
		// that the golden files do not change with the catalog.
		{"results", committed, priced},
	} {
		tab, err := Build(c.in(t), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats {
			t.Run(c.name+"/"+string(f), func(t *testing.T) {
				var b bytes.Buffer
				if err := Render(&b, tab, f); err != nil {
					t.Fatal(err)
				}
				ext := map[Format]string{FormatTable: "txt", FormatMarkdown: "md", FormatCSV: "csv", FormatJSON: "json"}[f]
				golden(t, "compare-"+c.name+"."+ext, b.Bytes())
				if f == FormatTable {
					for _, line := range strings.Split(b.String(), "\n") {
						if w := textWidth(line); w > MaxWidth {
							t.Errorf("a table line is %d wide (> %d): %q", w, MaxWidth, line)
						}
					}
				}
			})
		}
	}
}

// rowOf finds a row by name.
func rowOf(t *testing.T, tab *Table, name string) Row {
	t.Helper()
	for _, r := range tab.Rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %q", name)
	return Row{}
}

// fileFigures returns, for each input file, the FLOP/s of the bf16 8192³
// measurements of each timing kind.
func gemmFLOPs(f *result.File, dtype string, n int, burst bool) []float64 {
	var out []float64
	for _, m := range f.Measurements {
		if m.Workload == "gemm" && m.DType == dtype && m.Shape.M == n && m.Shape.N == n && m.BurstTiming() == burst {
			out = append(out, m.FLOPPerSecond/1e12)
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestCompareNumbers(t *testing.T) {
	in := fixtureInputs(t)
	tab, err := Build(in, Options{Price: fixturePrice, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Columns) != 3 {
		t.Fatalf("%d columns, want 3 types", len(tab.Columns))
	}
	h100, cpu, h200 := tab.Columns[0], tab.Columns[1], tab.Columns[2]
	if h100.Label != "NVIDIA H100 80GB HBM3 ×2" || cpu.Label != "fixture.cpu-8x: Fixture CPU (8 CPUs)" || h200.Label != "fixture.gpu-8x: NVIDIA H200 ×8" {
		t.Errorf("labels %q, %q, %q", h100.Label, cpu.Label, h200.Label)
	}
	if h200.Machines != 2 || len(h200.Files) != 2 || h100.Machines != 1 {
		t.Errorf("machines: H200 %d (files %v), H100 %d", h200.Machines, h200.Files, h100.Machines)
	}
	// H100: one run, two GPUs: the median of its two devices, burst-timed.
	per := gemmFLOPs(in[0].File, "bf16", 8192, true)
	want := (per[0] + per[1]) / 2
	r := rowOf(t, tab, "bf16 GEMM plateau")
	if c := r.Cells[0]; c.State != Value || !near(c.Value, want) || c.N != 1 || !c.Burst {
		t.Errorf("H100 bf16 plateau %+v, want %.3f burst", c, want)
	}
	// Like with like: the CPU has no bf16, shown as missing, never zero.
	if c := r.Cells[1]; c.State != Missing || c.Value != 0 || c.Text(r.Unit) != "-" {
		t.Errorf("cpu bf16: %+v, want missing", c)
	}
	// H200: two machines' sustained 8192³ figures; machine b's burst row is
	// set aside, never merged.
	a, b := gemmFLOPs(in[2].File, "bf16", 8192, false), gemmFLOPs(in[3].File, "bf16", 8192, false)
	c := r.Cells[2]
	if c.State != Value || !near(c.Value, (a[0]+b[0])/2) || c.N != 2 || c.Machines != 2 || c.Burst || c.SetAside != 1 ||
		!near(c.Min, math.Min(a[0], b[0])) || !near(c.Max, math.Max(a[0], b[0])) {
		t.Errorf("H200 bf16 plateau %+v, want median of %v and %v", c, a, b)
	}
	if got := c.Text(r.Unit); !regexp.MustCompile(`^\d+ \(\d+–\d+, n=2\)`).MatchString(got) {
		t.Errorf("H200 cell text %q", got)
	}
	// --all: the single shape row, and the best mark.
	r = rowOf(t, tab, "GEMM fp32 square 4096x4096x4096")
	if r.Values() != 3 || !r.Cells[0].Best || r.Cells[1].Best {
		t.Errorf("fp32 4096: %+v", r.Cells)
	}
	// Device bandwidth: the H200's device copy only (host link left out).
	r = rowOf(t, tab, RowBandwidth)
	var bws []float64
	for _, f := range in[2:] {
		for _, m := range f.File.Measurements {
			if m.Workload == "bandwidth" && m.Label == "d2d_copy" {
				bws = append(bws, float64(m.Bytes)/m.Seconds.Median/1e9)
			}
		}
	}
	if !near(r.Cells[2].Value, (bws[0]+bws[1])/2) || r.Cells[1].State != Missing {
		t.Errorf("bandwidth %+v, want %.1f GB/s", r.Cells, (bws[0]+bws[1])/2)
	}
	// $ per 10^18 bf16 FLOP: price / 3600 s / plateau FLOP/s × 1e18.
	r = rowOf(t, tab, RowCostPerExaOps)
	if got, w := r.Cells[0].Value, 4.0/3600/(want*1e12)*1e18; !near(got, w) || !r.Cells[0].Burst {
		t.Errorf("$ per 1e18 FLOP %+v, want %v", r.Cells[0], w)
	}
	// The common block preset is the headline; tokens per dollar from it.
	blk := rowOf(t, tab, "block tokens/s llama3-8b bf16 seq 4096 × batch 2")
	tpd := rowOf(t, tab, "tokens per $ llama3-8b bf16 seq 4096 × batch 2")
	if !blk.Headline || !tpd.Headline || blk.Values() != 2 {
		t.Errorf("block headline rows: %+v", blk)
	}
	if w := blk.Cells[2].Value * 3600 / 5; !near(tpd.Cells[2].Value, w) {
		t.Errorf("tokens per dollar %v, want %v", tpd.Cells[2].Value, w)
	}
	// Without an estimator the forecast rows are left out (no value).
	for _, r := range tab.Rows {
		if r.Section == SectionForecast {
			t.Errorf("forecast row without a forecast: %q", r.Name)
		}
	}
	// The unknown workload is skipped with a note; the price is dated.
	notes := strings.Join(tab.Notes, "\n")
	for _, w := range []string{`1 measurement of workload "allreduce" skipped`, "price fixture.gpu-8x: NVIDIA H200 ×8: fixture price, dated 2026-11-20", "‡ burst timing"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q: %s", w, notes)
		}
	}
	// The headline view has no single-shape rows; every row has a value.
	head, err := Build(in, Options{Price: fixturePrice})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range head.Rows {
		if strings.HasPrefix(r.Name, "GEMM ") || r.Values() == 0 {
			t.Errorf("headline row %q (%d values)", r.Name, r.Values())
		}
	}
}

func TestCompareRelativeTo(t *testing.T) {
	tab, err := Build(fixtureInputs(t), Options{RelativeTo: "h100"})
	if err != nil {
		t.Fatal(err)
	}
	r := rowOf(t, tab, "bf16 GEMM plateau")
	if !near(r.Cells[2].Ratio, r.Cells[2].Value/r.Cells[0].Value) || r.Cells[0].Ratio != 1 || r.Cells[1].Ratio != 0 {
		t.Errorf("ratios %+v", r.Cells)
	}
	if !strings.Contains(r.Cells[2].Text(r.Unit), "×") {
		t.Errorf("ratio not shown: %q", r.Cells[2].Text(r.Unit))
	}
	for _, bad := range []string{"nvidia", "A100"} {
		if _, err := Build(fixtureInputs(t), Options{RelativeTo: bad}); !errors.Is(err, ErrUnknownColumn) {
			t.Errorf("--relative-to %s: %v", bad, err)
		}
	}
}

// TestCompareCommitted: the committed results make one H200 column with the
// spread of its two machines and one CPU column, within 120 columns.
func TestCompareCommitted(t *testing.T) {
	tab, err := Build(committed(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Columns) != 2 || tab.Columns[0].Label != "AMD EPYC (2 CPUs)" || tab.Columns[1].Label != "NVIDIA H200 ×1" {
		t.Fatalf("columns %+v", tab.Columns)
	}
	if tab.Columns[1].Machines < 2 {
		t.Errorf("H200 machines %d, want 2 or more (two GPU UUIDs)", tab.Columns[1].Machines)
	}
	c := rowOf(t, tab, "bf16 GEMM plateau").Cells[1]
	if c.N < 2 || !(c.Min < c.Value && c.Value < c.Max) {
		t.Errorf("H200 bf16 plateau %+v", c)
	}
	var b bytes.Buffer
	Render(&b, tab, FormatTable)
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "figure") {
		t.Errorf("the table turned: %q", lines[0])
	}
	for _, l := range lines {
		if textWidth(l) > MaxWidth {
			t.Errorf("line %d wide: %q", textWidth(l), l)
		}
	}
}

func TestCompareTurnsWhenWide(t *testing.T) {
	tab, err := Build(fixtureInputs(t), Options{By: ByFile, All: true})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	Render(&b, tab, FormatTable)
	out := b.String()
	if !strings.Contains(out, "\nfixture-h200-a.json") || strings.HasPrefix(out, "figure") {
		t.Errorf("a wide table does not turn:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if textWidth(l) > MaxWidth {
			t.Errorf("line %d wide: %q", textWidth(l), l)
		}
	}
}

func TestCompareNoPrice(t *testing.T) {
	tab, err := Build(fixtureInputs(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Section == SectionCost {
			t.Errorf("cost row without prices: %q", r.Name)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"vm":                          "vm",
		"evil\x1b[2J\x1b]0;x\x07host": "evil[2J]0;xhost",
		"a\tb\nc":                     "a b c",
		"bidi\u202eabc":               "bidiabc",
		"csi\u009b31m":                "csi31m",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	f := fixtureCPU()
	f.Host.Hostname = "host\x1b[31m"
	f.Measurements[0].Notes = []string{"note\x1b]8;;http://x\x07"}
	tab, err := Build([]Input{{Path: "x.json", File: f}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, fm := range Formats {
		var b bytes.Buffer
		Render(&b, tab, fm)
		if strings.ContainsAny(b.String(), "\x1b\x07") {
			t.Errorf("%s output holds control characters", fm)
		}
	}
}

func writeFile(t *testing.T, dir, name string, f *result.File) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := result.Write(p, f); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "README.md"), []byte("no results"), 0o644)
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"name":"x"}`), 0o644)
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"schema_version": 99, "tool": {"name": "flopcast"}}`), 0o644)
	// A GPU file with only bf16 and a CPU file with only fp64: nothing
	// in common.
	g := fixtureH100x2()
	g.Measurements = g.Measurements[:1]
	c := fixtureCPU()
	c.Measurements = c.Measurements[4:5]
	gp, cp := writeFile(t, dir, "g.json", g), writeFile(t, dir, "c.json", c)
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{empty}, "directory holds no results files"},
		{[]string{other}, "not a flopcast results file"},
		{[]string{newer}, "results schema version 99 is newer"},
		{[]string{filepath.Join(dir, "absent.json")}, "no such file"},
		{[]string{gp, cp}, "nothing in common to compare"},
	} {
		in, err := Load(tc.paths)
		if err == nil {
			_, err = Build(in, Options{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q", tc.paths, err, tc.want)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", fixtureCPU())
	writeFile(t, dir, "b.json", fixtureCPU())
	os.WriteFile(filepath.Join(dir, ".a.json.tmp-1"), []byte("half"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("x"), 0o644)
	in, err := Load([]string{dir, filepath.Join(dir, "a.json")})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 2 {
		t.Fatalf("loaded %d files, want 2 (a.json once)", len(in))
	}
	ms := Machines(in)
	if ms[0].Label == ms[1].Label {
		t.Errorf("two runs of one machine share label %q", ms[0].Label)
	}
}

func TestThrottled(t *testing.T) {
	for _, c := range []struct {
		m    result.Measurement
		want bool
	}{
		{result.Measurement{}, false},
		{result.Measurement{StateBefore: &result.State{Throttled: true}}, true},
		{result.Measurement{StateAfter: &result.State{Throttled: true}}, true},
		{result.Measurement{StateBefore: &result.State{ThrottleEvents: 3}, StateAfter: &result.State{ThrottleEvents: 5}}, true},
		{result.Measurement{StateBefore: &result.State{ThrottleEvents: 3}, StateAfter: &result.State{ThrottleEvents: 3}}, false},
		{result.Measurement{Notes: []string{"GPU Throttled: power cap"}}, true},
		{result.Measurement{Notes: []string{"noisy"}}, false},
	} {
		if got := Throttled(c.m); got != c.want {
			t.Errorf("Throttled(%+v) = %v", c.m, got)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	tab, _ := Build(fixtureInputs(t), Options{})
	var b bytes.Buffer
	Render(&b, tab, FormatJSON)
	var back struct {
		Columns []struct{ Label string }
		Rows    []Row
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != len(tab.Rows) || len(back.Columns) != 3 || back.Rows[0].Cells[2].N != 2 {
		t.Errorf("round trip lost rows or columns: %+v", back)
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{732.456, "TFLOP/s", "732"},
		{46.91, "TFLOP/s", "46.9"},
		{0.1432, "TFLOP/s", "0.143"},
		{3.1e6, "$", "$3.1M"},
		{1.1234, "$", "$1.12"},
		{4, "$/GPU-hour", "$4.00"},
		{51.23, "%", "51.2%"},
		{4.1e6, "tokens/$", "4.1M"},
	} {
		if got := FormatValue(c.v, c.unit); got != c.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestParseReference(t *testing.T) {
	r, err := ParseReference("llama3-8b:2T:512")
	if err != nil || r.Model != "llama3-8b" || r.Tokens != 2e12 || r.GPUs != 512 {
		t.Errorf("ParseReference: %+v %v", r, err)
	}
	r, err = ParseReference("gpt3-175b")
	if err != nil || r.Tokens != 15e12 || r.GPUs != 1024 {
		t.Errorf("ParseReference defaults: %+v %v", r, err)
	}
	for _, bad := range []string{"", "llama9", "llama3-8b:x", "llama3-8b:1T:0", "llama3-8b:1T:2:3", "llama3-8b:-1T"} {
		if _, err := ParseReference(bad); err == nil {
			t.Errorf("ParseReference(%q) accepted", bad)
		}
	}
}
