package bench

import (
	"testing"

	"github.com/flopcast/flopcast/kernels"
)

func TestGPUSuites(t *testing.T) {
	for _, name := range Suites {
		cpu, _ := LookupSuite(name)
		same, err := LookupSuiteFor(name, "cpu")
		if err != nil || len(same.Problems) != len(cpu.Problems) || same.Bandwidth {
			t.Errorf("%s: the CPU suite changed: %v", name, err)
		}
		g, err := LookupSuiteFor(name, "gpu")
		if err != nil || !g.Bandwidth || len(g.DTypes) != 5 || g.DTypes[4] != kernels.FP8E4M3 {
			t.Fatalf("%s gpu suite: %+v, %v", name, g, err)
		}
		if err := (Config{Problems: g.Problems, DTypes: g.DTypes, MinRepeats: g.Repeats, MinTime: g.MinTime, MaxTime: g.MaxTime}).Validate(); err != nil {
			t.Errorf("%s gpu suite is invalid: %v", name, err)
		}
		for _, p := range g.Problems {
			if p.Shape.K%16 != 0 || p.Shape.N%16 != 0 {
				t.Errorf("%s: %s %s is not fp8-aligned", name, p.Label, p.Shape)
			}
		}
	}
	q, _ := LookupSuiteFor("quick", "gpu")
	if last := q.Problems[len(q.Problems)-1].Shape; last != kernels.Square(8192) {
		t.Errorf("quick suite lacks 8192^3 (the peer comparison): %v", last)
	}
	s, _ := LookupSuiteFor("standard", "gpu")
	want := map[string]kernels.GEMMShape{
		"square":             kernels.Square(16384),
		"llama3-8b qkv":      {M: 8192, N: 6144, K: 4096},
		"llama3-8b mlp_up":   {M: 8192, N: 28672, K: 4096},
		"llama3-8b mlp_down": {M: 8192, N: 4096, K: 14336},
	}
	found := map[string]bool{}
	for _, p := range s.Problems {
		if w, ok := want[p.Label]; ok && p.Shape == w {
			found[p.Label] = true
		}
	}
	if len(found) != len(want) {
		t.Errorf("standard gpu suite has %v of %v", found, want)
	}
	if _, err := LookupSuiteFor("huge", "gpu"); err == nil {
		t.Error("unknown suite accepted")
	}
}
