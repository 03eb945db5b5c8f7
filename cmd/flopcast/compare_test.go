package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
)

// fixtures are the hand-made results files of bench/compare's tests.
func fixture(name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "bench", "compare", "testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

// fixtureFiles are the hand-made files of three machine types.
func fixtureFiles() []string {
	return []string{fixture("fixture-h100x2.json"), fixture("fixture-cpu.json"), fixture("fixture-h200-a.json"), fixture("fixture-h200-b.json")}
}

func TestCompareFixtures(t *testing.T) {
	o := flopcast(t, t.TempDir(), append([]string{"compare", "--format", "markdown"}, fixtureFiles()...)...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	for _, want := range []string{"| NVIDIA H100 80GB HBM3 ×2 |", "fixture.cpu-8x: Fixture CPU (8 CPUs)", "fixture.gpu-8x: NVIDIA H200 ×8",
		"(749–772, n=2)", "| bf16 GEMM plateau | TFLOP/s | 688 ‡ | - |", "days to train llama3-70b, 15T tokens, 1024 GPUs", "dated"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("compare output lacks %q:\n%s", want, o.stdout)
		}
	}
}

// committedResults is the repository's results directory.
func committedResults() string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "results"))
	return p
}

// TestCompareCommitted: the committed files make one H200 column, with the
// spread of its machines, and one CPU column, in under 120 columns.
func TestCompareCommitted(t *testing.T) {
	o := flopcast(t, t.TempDir(), "compare", committedResults())
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	lines := strings.Split(o.stdout, "\n")
	if !regexp.MustCompile(`^figure +unit +AMD EPYC \(2 CPUs\) +NVIDIA H200 ×1$`).MatchString(lines[0]) {
		t.Errorf("header %q: want one CPU and one H200 column", lines[0])
	}
	// The H200 bf16 plateau has a spread over runs (808 (799–820, n=4) ‡
	// with the files of 2026-11-26).
	if !regexp.MustCompile(`(?m)^bf16 GEMM plateau .* \d+ \(\d+–\d+, n=\d+\)`).MatchString(o.stdout) || !strings.Contains(o.stdout, "2 machines") {
		t.Errorf("no spread of the H200 machines:\n%s", o.stdout)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 120 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	for _, args := range [][]string{{"--all"}, {"--by", "machine"}, {"--by", "file"}, {"--relative-to", "H200"}, {"--format", "csv"}, {"--format", "json"}} {
		o := flopcast(t, t.TempDir(), append(append([]string{"compare"}, args...), committedResults())...)
		if o.code != 0 || o.stdout == "" {
			t.Errorf("compare %v: exit %d: %s", args, o.code, o.stderr)
		}
	}
}

// writeResults writes f as name in dir.
func writeResultsFile(t *testing.T, dir, name string, f *result.File) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := result.Write(p, f); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFixture(t *testing.T, name string) *result.File {
	t.Helper()
	f, err := result.Read(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCompareGate runs every gate case through the command, each with the
// exit code it must give.
func TestCompareGate(t *testing.T) {
	dir := t.TempDir()
	skipped := readFixture(t, "gate/fixture-base.json")
	for i := range skipped.Measurements {
		m := &skipped.Measurements[i]
		m.Status, m.Verified, m.FLOPPerSecond, m.Notes = result.StatusSkipped, false, 0, []string{"skipped: out of memory"}
	}
	unverified := readFixture(t, "gate/fixture-base.json")
	for i := range unverified.Measurements {
		unverified.Measurements[i].Verified, unverified.Measurements[i].FLOPPerSecond = false, 0
	}
	partial := readFixture(t, "gate/fixture-base.json")
	partial.Partial = true
	partial.Measurements = partial.Measurements[:1]
	h200 := readFixture(t, "gate/fixture-base.json")
	h200.Devices[0].Name = "NVIDIA H200"
	files := map[string]string{
		"skipped":    writeResultsFile(t, dir, "skipped.json", skipped),
		"unverified": writeResultsFile(t, dir, "unverified.json", unverified),
		"partial":    writeResultsFile(t, dir, "partial.json", partial),
		"h200":       writeResultsFile(t, dir, "h200.json", h200),
	}
	for _, c := range []struct {
		name     string
		old, new string
		extra    []string
		code     int
		want     string
	}{
		{"slowdown", fixture("gate/fixture-base.json"), fixture("gate/fixture-slow.json"), nil, 1, "1 measurement regressed"},
		{"noise", fixture("gate/fixture-noisy-base.json"), fixture("gate/fixture-noisy.json"), nil, 0, "within noise"},
		{"throttled baseline", fixture("gate/fixture-throttled-base.json"), fixture("gate/fixture-slow.json"), nil, 0, "baseline throttled"},
		{"same file", fixture("gate/fixture-base.json"), fixture("gate/fixture-base.json"), nil, 0, "0 measurements regressed"},
		{"new all skipped", fixture("gate/fixture-base.json"), files["skipped"], nil, 1, "no usable measurement (2 skipped, 0 failed, 0 unverified)"},
		{"new all unverified", fixture("gate/fixture-base.json"), files["unverified"], nil, 1, "no usable measurement (0 skipped, 0 failed, 2 unverified)"},
		{"new partial", fixture("gate/fixture-base.json"), files["partial"], nil, 1, "partial.json is partial"},
		{"missing listed", fixture("gate/fixture-base.json"), files["partial"], nil, 1, "1 measurement of the baseline not in the new run: "},
		{"different machine types", fixture("gate/fixture-base.json"), files["h200"], nil, 2, `device "NVIDIA H100 80GB HBM3" ≠ "NVIDIA H200"`},
		{"different machine types allowed", fixture("gate/fixture-base.json"), files["h200"], []string{"--allow-different-machines"}, 0, "machine types differ (allowed)"},
		{"GPU against CPU", fixture("gate/fixture-base.json"), fixture("fixture-cpu.json"), nil, 2, "different machine types"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"compare", "--baseline", c.old, c.new, "--threshold", "5%"}, c.extra...)
			o := flopcast(t, t.TempDir(), args...)
			if o.code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", o.code, c.code, o.stderr)
			}
			if !strings.Contains(o.stdout+o.stderr, c.want) {
				t.Errorf("output lacks %q:\n%s%s", c.want, o.stdout, o.stderr)
			}
			if lines := strings.Split(strings.TrimRight(o.stderr, "\n"), "\n"); o.code != 0 && len(lines) != 1 {
				t.Errorf("stderr is not one line: %q", o.stderr)
			}
		})
	}
}

// TestShowUnverifiedAndControlCharacters: the committed host-copy rows that
// were timed without a check are never shown as a throughput or with ✓;
// text from files reaches the terminal without control characters.
func TestShowUnverifiedAndControlCharacters(t *testing.T) {
	o := flopcast(t, t.TempDir(), "show", filepath.Join(committedResults(), "2026-11-26_nvidia-h200_gemm-quick-bandwidth.json"))
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	n := 0
	for _, l := range strings.Split(o.stdout, "\n") {
		if strings.Contains(l, "h2d_pinned") || strings.Contains(l, "d2h_pinned") {
			if strings.Contains(l, "MiB moved") {
				n++
				if strings.Contains(l, "GB/s") || strings.Contains(l, "✓") || !strings.Contains(l, "unverified") {
					t.Errorf("unverified row shown as a figure: %q", l)
				}
			}
		}
	}
	if n != 2 {
		t.Errorf("%d host-copy rows, want 2:\n%s", n, o.stdout)
	}
	dir := t.TempDir()
	f := readFixture(t, "fixture-cpu.json")
	f.Host.Hostname = "evil\x1b[2J\x1b]0;pwned\x07host"
	f.Devices[0].Name = "CPU\x1b[31m red"
	f.Measurements[0].Notes = []string{"note \x1b]8;;http://example.invalid\x07link\u202e"}
	p := writeResultsFile(t, dir, "evil.json", f)
	for _, args := range [][]string{{"show", p}, {"show", p, p}, {"show", "--format", "csv", p}, {"compare", p}, {"compare", "--all", "--format", "markdown", p}, {"compare", "--format", "csv", p}} {
		o := flopcast(t, dir, args...)
		if o.code != 0 {
			t.Errorf("%v: exit %d: %s", args, o.code, o.stderr)
		}
		if strings.ContainsAny(o.stdout+o.stderr, "\x1b\x07\u202e") {
			t.Errorf("%v: control characters reach the terminal: %q", args, o.stdout)
		}
	}
}

// TestReportRefusesToOverwriteResults: a report never replaces an input or
// any existing results file.
func TestReportRefusesToOverwriteResults(t *testing.T) {
	dir := t.TempDir()
	a := writeResultsFile(t, dir, "a.json", readFixture(t, "fixture-cpu.json"))
	b := writeResultsFile(t, dir, "b.json", readFixture(t, "fixture-h100x2.json"))
	other := writeResultsFile(t, t.TempDir(), "other.json", readFixture(t, "fixture-cpu.json"))
	os.Symlink(a, filepath.Join(dir, "link.html"))
	before := map[string][]byte{}
	for _, p := range []string{a, b, other} {
		before[p], _ = os.ReadFile(p)
	}
	for _, args := range [][]string{
		{"report", a, "-o", a},
		{"report", "-o", a, b},     // the slip: report -o results/*.json
		{"report", b, "-o", other}, // not an input, but a results file
		{"report", a, "-o", filepath.Join(dir, "link.html")},
		{"report", dir, "-o", b},
	} {
		o := flopcast(t, dir, args...)
		if o.code != 2 || strings.Count(o.stderr, "\n") != 1 || !strings.Contains(o.stderr, "refusing to overwrite") {
			t.Errorf("%v: exit %d, stderr %q; want one line and exit 2", args, o.code, o.stderr)
		}
	}
	for p, want := range before {
		if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
			t.Errorf("%s was changed", p)
		}
	}
	// An ordinary HTML file is replaced as asked.
	page := filepath.Join(dir, "r.html")
	os.WriteFile(page, []byte("old page"), 0o644)
	if o := flopcast(t, dir, "report", a, b, "-o", page); o.code != 0 {
		t.Errorf("report over an old page: exit %d: %s", o.code, o.stderr)
	}
}

// TestReportBoundedOnImplausibleValues: a file whose state holds a
// temperature, clock and power of 3e15 ends at once, either refused by the
// reader in one line (exit 2) or drawn without NaN or Inf.
func TestReportBoundedOnImplausibleValues(t *testing.T) {
	dir := t.TempDir()
	f := readFixture(t, "fixture-h100x2.json")
	for i := range f.Measurements {
		if st := f.Measurements[i].StateAfter; st != nil {
			st.TempC, st.ClockMHz, st.PowerW = 3e15, 3e15, 3e15
		}
	}
	if f.Measurements[len(f.Measurements)-2].Block != nil {
		f.Measurements[len(f.Measurements)-2].Block.MFU = 8.41
	}
	p := writeResultsFile(t, dir, "hot.json", f)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "report", p, "-o", filepath.Join(dir, "hot.html"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatal("report did not finish within a minute on implausible values")
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	switch code {
	case 2:
		if strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("refusal is not one line: %q", errb.String())
		}
	case 0:
		page, _ := os.ReadFile(filepath.Join(dir, "hot.html"))
		for _, bad := range []string{"NaN", "Inf", "841"} {
			if bytes.Contains(page, []byte(bad)) {
				t.Errorf("the page shows %q", bad)
			}
		}
	default:
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

func TestCompareBadReference(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--reference", "llama3-70b:15T:999999999999"}, "--reference llama3-70b:15T:999999999999: GPUs"},
		{[]string{"--reference", "llama3-70b:1e30:1024"}, "tokens"},
		{[]string{"--relative-to", "TPU"}, "--relative-to: no such column"},
		{[]string{"--by", "rack"}, "--by"},
	} {
		o := flopcast(t, t.TempDir(), append(append([]string{"compare"}, c.args...), fixtureFiles()...)...)
		if o.code != 2 || strings.Count(o.stderr, "\n") != 1 || !strings.Contains(o.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.args, o.code, o.stderr)
		}
	}
}

func TestReportWritesPage(t *testing.T) {
	dir := t.TempDir()
	o := flopcast(t, dir, "report", fixture("fixture-h100x2.json"), fixture("fixture-cpu.json"), "-o", "report.html")
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.HasSuffix(string(page), "</html>\n") || strings.Count(string(page), "<svg") < 8 {
		t.Errorf("report.html is not a whole page with charts (%d bytes)", len(page))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left other files behind: %v", entries)
	}
}

func TestCompareReportBadInput(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	notOurs := filepath.Join(base, "other.json")
	os.WriteFile(notOurs, []byte(`{"name": "something else"}`), 0o644)
	newer := filepath.Join(base, "newer.json")
	os.WriteFile(newer, []byte(`{"schema_version": 7, "tool": {"name": "flopcast"}}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"compare"}, "no results file or directory given"},
		{[]string{"compare", empty}, "directory holds no results files"},
		{[]string{"compare", notOurs}, "not a flopcast results file"},
		{[]string{"compare", newer}, "results schema version 7 is newer than this flopcast reads"},
		{[]string{"compare", "--format", "xml", fixture("fixture-cpu.json")}, `--format: unknown format "xml"`},
		{[]string{"compare", "--threshold", "lots", "--baseline", fixture("fixture-cpu.json"), fixture("fixture-cpu.json")}, "--threshold"},
		{[]string{"compare", "--reference", "llama9", fixture("fixture-cpu.json")}, "--reference llama9: unknown model preset"},
		{[]string{"compare", "--baseline", empty, fixture("fixture-cpu.json")}, "--baseline"},
		{[]string{"compare", "--baseline", fixture("gate/fixture-base.json"), fixture("fixture-cpu.json")}, "different machine types"},
		{[]string{"report", empty, "-o", "r.html"}, "directory holds no results files"},
		{[]string{"report", notOurs, "-o", "r.html"}, "not a flopcast results file"},
		{[]string{"report", fixture("fixture-cpu.json"), "-o", "/nonexistent/dir/r.html"}, "-o /nonexistent/dir/r.html: cannot write"},
		{[]string{"report", fixture("fixture-cpu.json"), "-o", ""}, "-o: empty path"},
		{[]string{"report", fixture("fixture-cpu.json"), "--sweep-gpus", "8,x"}, "--sweep-gpus"},
		{[]string{"report", "-o", "r.html"}, "no results file or directory given"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			o := flopcast(t, dir, c.args...)
			if o.code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", o.code, o.stderr)
			}
			lines := strings.Split(strings.TrimRight(o.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "flopcast: ") || !strings.Contains(o.stderr, c.want) {
				t.Errorf("stderr %q: want one flopcast line saying %q", o.stderr, c.want)
			}
			if o.stdout != "" {
				t.Errorf("stdout not empty: %q", o.stdout)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left files behind: %v", entries)
			}
		})
	}
}
