package main

import (
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

func TestRunSearchOnCPU(t *testing.T) {
	dir := t.TempDir()
	out := dir + "/s.json"
	o := flopcast(t, dir, "run", "--device", "cpu", "--search", "--sizes", "48", "--search-step", "16", "--repeats", "3",
		"--min-time", "0s", "--max-time", "50ms", "--search-time", "1m", "--out", out, "--quiet")
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	// 32, 48, 64 and 16, 80 in each dimension: 125 shapes, centre first.
	if len(f.Measurements) != 125 || f.Measurements[0].Shape.String() != "48x48x48" {
		t.Fatalf("%d measurements, first %v", len(f.Measurements), f.Measurements[0].Shape)
	}
	best := 0
	var top float64
	for _, m := range f.Measurements {
		if m.Status != result.StatusOK || !m.Verified || m.DType != "fp32" {
			t.Errorf("%s: %s verified %v %s", m.Shape, m.Status, m.Verified, m.DType)
		}
		top = max(top, m.FLOPPerSecond)
		if m.Label == "search best" {
			best++
			if !strings.HasPrefix(m.Notes[len(m.Notes)-1], "fastest of 125 verified shapes (125 of 125 measured, step 16, radius 2") {
				t.Errorf("best note %q", m.Notes)
			}
		}
	}
	for _, m := range f.Measurements {
		if m.Label == "search best" && m.FLOPPerSecond != top {
			t.Errorf("best %s at %g, but %g was measured", m.Shape, m.FLOPPerSecond, top)
		}
	}
	if best != 1 || !strings.Contains(o.stdout, "search best") {
		t.Errorf("%d best measurements; table:\n%s", best, o.stdout)
	}
}

func TestRunSearchAndBandwidthFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--search", "--sizes", "64,128"}, "--sizes 64,128: --search takes one size or shape to search around"},
		{[]string{"--search", "--workload", "block"}, "--search: applies to --workload gemm only"},
		{[]string{"--search", "--search-time", "0s"}, "--search-time 0s: must be > 0"},
		{[]string{"--search", "--search-step", "-1"}, "--search-step -1: must be >= 1 (0: automatic)"},
		{[]string{"--search-time", "3s"}, "--search-time: applies with --search only"},
		{[]string{"--workload", "bandwidth", "--sizes", "8"}, "--sizes: --workload bandwidth copies bytes; it takes no sizes"},
		{[]string{"--workload", "bandwidth", "--device", "cpu"}, "--workload bandwidth: device cpu ("},
	} {
		dir := t.TempDir()
		o := flopcast(t, dir, append([]string{"run"}, c.args...)...)
		if o.code != 2 || !strings.HasPrefix(o.stderr, "flopcast: "+c.want) || strings.Count(o.stderr, "\n") != 1 || o.stdout != "" {
			t.Errorf("run %v: exit %d, stderr %q, want exit 2 and %q", c.args, o.code, o.stderr, c.want)
		}
	}
}
