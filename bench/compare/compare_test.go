package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
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

func fixtureInputs(t *testing.T) []Input {
	t.Helper()
	in, err := Load([]string{"testdata/fixture-h100x2.json", "testdata/fixture-cpu.json"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// fixturePrice is a stand-in price list: $4/GPU-hour for the H100 fixture
// and $1.20 for the CPU fixture.
func fixturePrice(m Machine) (float64, bool) {
	switch {
	case strings.Contains(m.DeviceName, "H100"):
		return 4, true
	case m.InstanceType == "fixture.cpu-8x":
		return 1.2, true
	}
	return 0, false
}

func TestCompareGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"plain", Options{}},
		{"priced", Options{Price: fixturePrice, Estimate: func(m Machine, ref Reference) (Estimate, error) {
			if m.DeviceKind == "cpu" {
				return Estimate{}, errors.New("no forecast for CPUs")
			}
			return Estimate{Days: 31.5, CostUSD: 3.1e6}, nil
		}}},
	} {
		tab, err := Build(fixtureInputs(t), c.opt)
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
			})
		}
	}
}

// cellOf finds a row by name prefix and returns its cells.
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

func TestCompareNumbers(t *testing.T) {
	in := fixtureInputs(t)
	tab, err := Build(in, Options{Price: fixturePrice})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Machines) != 2 {
		t.Fatalf("%d machines, want 2", len(tab.Machines))
	}
	gpu, cpu := tab.Machines[0], tab.Machines[1]
	if gpu.Label != "fixture-h100x2 / NVIDIA H100 80GB HBM3 ×2" || cpu.Label != "fixture.cpu-8x" {
		t.Errorf("labels %q, %q", gpu.Label, cpu.Label)
	}
	if strings.Join(gpu.DeviceIDs, ",") != "cuda:0,cuda:1" {
		t.Errorf("device ids %v", gpu.DeviceIDs)
	}
	// The GPU's bf16 8192³ figure is the median of its two devices'.
	var per []float64
	for _, m := range in[0].File.Measurements {
		if m.Workload == "gemm" && m.DType == "bf16" && m.Shape.M == 8192 {
			per = append(per, m.FLOPPerSecond/1e12)
		}
	}
	want := (per[0] + per[1]) / 2
	r := rowOf(t, tab, "GEMM bf16 square 8192x8192x8192")
	if r.Cells[0].State != Value || math.Abs(r.Cells[0].Value-want) > 1e-9 {
		t.Errorf("bf16 8192: %+v, want %.3f", r.Cells[0], want)
	}
	// Like with like: the CPU has no bf16, shown as missing, never zero.
	if r.Cells[1].State != Missing || r.Cells[1].Value != 0 {
		t.Errorf("cpu bf16: %+v, want missing", r.Cells[1])
	}
	// Shared fp32 4096³: both have values, the GPU's is best.
	r = rowOf(t, tab, "GEMM fp32 square 4096x4096x4096")
	if r.Values() != 2 || !r.Cells[0].Best || r.Cells[1].Best {
		t.Errorf("fp32 4096: %+v", r.Cells)
	}
	// Bandwidth: bytes / median seconds, median over the devices.
	r = rowOf(t, tab, "memory bandwidth copy")
	var bws []float64
	for _, m := range in[0].File.Measurements {
		if m.Workload == "bandwidth" {
			bws = append(bws, float64(m.Bytes)/m.Seconds.Median/1e9)
		}
	}
	if math.Abs(r.Cells[0].Value-(bws[0]+bws[1])/2) > 1e-6 || r.Cells[1].State != Missing {
		t.Errorf("bandwidth %+v, want %.1f GB/s", r.Cells, (bws[0]+bws[1])/2)
	}
	// Cost of 10^18 bf16 FLOP: $4 / 3600 s / best bf16 FLOP/s × 1e18.
	r = rowOf(t, tab, "cost of 10^18 bf16 FLOP delivered (best bf16 GEMM)")
	if got, w := r.Cells[0].Value, 4.0/3600/(want*1e12)*1e18; math.Abs(got-w) > 1e-9 {
		t.Errorf("$ per 1e18 FLOP %v, want %v", got, w)
	}
	// Tokens per dollar from the block's tokens/s.
	blk := rowOf(t, tab, "block tokens/s per device llama3-8b bf16 seq 4096 × batch 2")
	tpd := rowOf(t, tab, "tokens per dollar llama3-8b bf16 seq 4096 × batch 2")
	if w := blk.Cells[0].Value * 3600 / 4; math.Abs(tpd.Cells[0].Value-w) > 1e-6 {
		t.Errorf("tokens per dollar %v, want %v", tpd.Cells[0].Value, w)
	}
	// Without an estimator the forecast rows say so.
	r = rowOf(t, tab, "days to train llama3-70b, 15T tokens, 1024 GPUs")
	if r.Cells[0].State != Unavailable || r.Cells[0].Text(r.Unit) != "forecast not available" {
		t.Errorf("forecast cell %+v", r.Cells[0])
	}
	// The unknown workload is skipped with a note.
	if !strings.Contains(strings.Join(tab.Notes, "\n"), `1 measurement of workload "allreduce" skipped`) {
		t.Errorf("notes lack the skipped workload: %q", tab.Notes)
	}
}

func TestCompareNoPrice(t *testing.T) {
	tab, err := Build(fixtureInputs(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rowOf(t, tab, "price per GPU-hour")
	for _, c := range r.Cells {
		if c.State != Unavailable || c.Text(r.Unit) != "—" || c.Best {
			t.Errorf("price without a catalog: %+v", c)
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
		Machines []struct{ Label string }
		Rows     []Row
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != len(tab.Rows) || len(back.Machines) != 2 {
		t.Errorf("round trip lost rows or machines")
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
