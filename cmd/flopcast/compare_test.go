package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures are the hand-made results files of bench/compare's tests.
func fixture(name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "bench", "compare", "testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

func TestCompareFixtures(t *testing.T) {
	o := flopcast(t, t.TempDir(), "compare", fixture("fixture-h100x2.json"), fixture("fixture-cpu.json"), "--format", "markdown")
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	for _, want := range []string{"| fixture-h100x2 / NVIDIA H100 80GB HBM3 ×2 |", "fixture.cpu-8x", "**49.1**", "missing", "$6.88", "days to train llama3-70b, 15T tokens, 1024 GPUs", "$56.4M"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("compare output lacks %q:\n%s", want, o.stdout)
		}
	}
}

func TestCompareGate(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		code           int
		want           string
	}{
		{"slowdown", "fixture-base.json", "fixture-slow.json", 1, "1 measurement regressed"},
		{"noise", "fixture-noisy-base.json", "fixture-noisy.json", 0, "within noise"},
		{"throttled baseline", "fixture-throttled-base.json", "fixture-slow.json", 0, "baseline throttled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := flopcast(t, t.TempDir(), "compare", "--baseline", fixture("gate/"+c.old), fixture("gate/"+c.new), "--threshold", "5%")
			if o.code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", o.code, c.code, o.stderr)
			}
			if !strings.Contains(o.stdout+o.stderr, c.want) {
				t.Errorf("output lacks %q:\n%s%s", c.want, o.stdout, o.stderr)
			}
		})
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
		{[]string{"compare", "--baseline", fixture("gate/fixture-base.json"), fixture("fixture-cpu.json")}, "nothing in common"},
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
