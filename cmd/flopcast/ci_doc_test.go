package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

// docCommands returns the flopcast command lines of docs/ci.md's code
// blocks, each as its arguments (after "flopcast", up to a pipe).
func docCommands(t *testing.T) [][]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	inCode := false
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		i := strings.Index(line, "flopcast run ")
		if j := strings.Index(line, "flopcast compare "); i < 0 || j >= 0 && j < i {
			i = j
		}
		if !inCode || i < 0 {
			continue
		}
		cmd := line[i+len("flopcast "):]
		if k := strings.Index(cmd, " |"); k >= 0 {
			cmd = cmd[:k]
		}
		out = append(out, strings.Fields(cmd))
	}
	return out
}

// TestCIDocCommands runs the commands docs/ci.md tells CI to run: the
// short suite (on one tiny size, to keep the test fast) and every compare
// and gate line, on the committed results files standing in for the
// baseline and the new run; the gate passes on a file against itself and
// fails (exit 1) on a new run whose measurements were all skipped.
func TestCIDocCommands(t *testing.T) {
	cmds := docCommands(t)
	runs, gates, compares := 0, 0, 0
	dir := t.TempDir()
	committed := filepath.Join(committedResults(), "2026-11-26_cpu-amd-epyc-2c_gemm-standard.json")
	f, err := result.Read(committed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Measurements {
		m := &f.Measurements[i]
		m.Status, m.Verified, m.FLOPPerSecond = result.StatusSkipped, false, 0
	}
	skipped := writeResultsFile(t, dir, "skipped.json", f)
	for _, args := range cmds {
		sub := func(newFile string) []string {
			var out []string
			for _, a := range args {
				switch a {
				case "baseline.json":
					a = committed
				case "new.json":
					a = newFile
				}
				out = append(out, a)
			}
			return out
		}
		switch args[0] {
		case "run":
			runs++
			out := filepath.Join(dir, fmt.Sprintf("run-%d.json", runs))
			a := sub(out)
			a = append(a, "--sizes", "64", "--repeats", "3", "--warmup", "1", "--min-time", "0s", "--max-time", "1s")
			o := flopcast(t, dir, a...)
			if o.code != 0 {
				t.Errorf("%v: exit %d: %s", a, o.code, o.stderr)
			}
			if _, err := result.Read(out); err != nil {
				t.Errorf("%v wrote no results file: %v", a, err)
			}
		case "compare":
			gate := false
			for _, a := range args {
				gate = gate || a == "--baseline"
			}
			if !gate {
				compares++
				if o := flopcast(t, dir, sub(committed)...); o.code != 0 || !strings.HasPrefix(o.stdout, "| figure |") {
					t.Errorf("%v: exit %d: %s%s", args, o.code, o.stdout, o.stderr)
				}
				continue
			}
			gates++
			o := flopcast(t, dir, sub(committed)...)
			if o.code != 0 || !regexp.MustCompile(`^\|\s*machine\s*\|\s*measurement\s*\|`).MatchString(o.stdout) || !strings.Contains(o.stdout, "0 measurements regressed") {
				t.Errorf("%v on the committed file against itself: exit %d:\n%s%s", args, o.code, o.stdout, o.stderr)
			}
			o = flopcast(t, dir, sub(skipped)...)
			if o.code != 1 || !strings.Contains(o.stdout, "gate fails: the new run holds no usable measurement") {
				t.Errorf("%v on an all-skipped run: exit %d, want 1:\n%s%s", args, o.code, o.stdout, o.stderr)
			}
		}
	}
	// GitHub and GitLab each: a run and a gate; and the side-by-side line.
	if runs != 2 || gates != 2 || compares != 1 {
		t.Errorf("docs/ci.md has %d run, %d gate and %d compare lines; want 2, 2, 1: %q", runs, gates, compares, cmds)
	}
}
