package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func TestDefaultSearchStep(t *testing.T) {
	for _, c := range []struct{ n, want int }{{8192, 256}, {16384, 512}, {4096, 128}, {1000, 16}, {64, 2}, {63, 1}, {1, 1}} {
		if got := DefaultSearchStep(c.n); got != c.want {
			t.Errorf("DefaultSearchStep(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestSearchGrid(t *testing.T) {
	c := kernels.Square(64)
	g := SearchGrid(c, 16, 1, 1)
	if len(g) != 27 || g[0] != c {
		t.Fatalf("grid of %d, first %v; want 27 starting with the centre", len(g), g[0])
	}
	seen := map[kernels.GEMMShape]bool{}
	last := 0
	for i, s := range g {
		if seen[s] {
			t.Errorf("%v twice", s)
		}
		seen[s] = true
		d := abs(s.M-64) + abs(s.N-64) + abs(s.K-64)
		if d < last {
			t.Errorf("shape %d %v (distance %d) after one at distance %d", i, s, d, last)
		}
		last = d
		for _, v := range []int{s.M, s.N, s.K} {
			if v != 48 && v != 64 && v != 80 {
				t.Errorf("%v: a dimension outside 64±16", s)
			}
		}
	}
	if g[1] != (kernels.GEMMShape{M: 48, N: 64, K: 64}) || g[26] != kernels.Square(80) {
		t.Errorf("order: second %v, last %v", g[1], g[26])
	}

	// fp8 alignment: every dimension a multiple of 16, duplicates merged.
	a := SearchGrid(kernels.GEMMShape{M: 40, N: 40, K: 40}, 8, 1, 16)
	for _, s := range a {
		if s.M%16 != 0 || s.N%16 != 0 || s.K%16 != 0 {
			t.Errorf("%v not 16-aligned", s)
		}
	}
	if len(a) != 8 { // 32 and 48 in each dimension
		t.Errorf("aligned grid has %d shapes, want 8: %v", len(a), a)
	}
	// Near zero, non-positive sizes are dropped.
	if z := SearchGrid(kernels.Square(2), 1, 2, 1); len(z) != 64 || z[0] != kernels.Square(2) {
		t.Errorf("grid around 2: %d shapes (want 4^3 = 64), first %v", len(z), z[0])
	}
}

func searchCfg() SearchConfig {
	return SearchConfig{Center: kernels.Square(32), DType: kernels.FP32, Step: 8, Radius: 1,
		Warmup: 1, Repeats: 3, MaxTime: time.Second, Seed: 9}
}

func TestSearchFindsTheFastestShape(t *testing.T) {
	// Every call takes 1 ms, so the shape with the most FLOPs is fastest.
	b := &fake.Backend{Peak: 1e12}
	res, err := Search(context.Background(), b, searchCfg())
	if err != nil {
		t.Fatal(err)
	}
	if res.Planned != 27 || len(res.Measurements) != 27 || res.Best < 0 {
		t.Fatalf("planned %d, measured %d, best %d", res.Planned, len(res.Measurements), res.Best)
	}
	best := res.Measurements[res.Best]
	if best.Shape != kernels.Square(40) || best.Label != SearchBestLabel || !best.Verified {
		t.Errorf("best %s %s verified %v, want 40x40x40", best.Label, best.Shape, best.Verified)
	}
	if want := kernels.Square(40).FLOPs() / 1e-3; best.FLOPPerSecond != want || best.PeakFLOPPerSecond != 1e12 {
		t.Errorf("best at %g FLOP/s (peak %g), want %g", best.FLOPPerSecond, best.PeakFLOPPerSecond, want)
	}
	note := best.Notes[len(best.Notes)-1]
	// (40/32)^3 = 1.953: 95.3% above the centre.
	if !strings.HasPrefix(note, "fastest of 27 verified shapes (27 of 27 measured, step 8, radius 1, in ") ||
		!strings.HasSuffix(note, "; 95.3% above the centre 32x32x32") {
		t.Errorf("note %q", note)
	}
	labels := 0
	for _, m := range res.Measurements {
		if m.Label == SearchBestLabel {
			labels++
		} else if m.Label != SearchLabel {
			t.Errorf("label %q", m.Label)
		}
		if m.Device != "fake" || m.Status != result.StatusOK || m.Seconds == nil {
			t.Errorf("%s: %+v", m.Shape, m)
		}
	}
	if labels != 1 {
		t.Errorf("%d best labels", labels)
	}
}

func TestSearchBudgetAndFailures(t *testing.T) {
	d := fake.NewDevices(1, func(int) *fake.Backend { return &fake.Backend{} })[0]
	d.OnRun = func(string) { time.Sleep(2 * time.Millisecond) }
	cfg := searchCfg()
	cfg.Budget = time.Nanosecond // only the centre, always measured
	res, err := Search(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Measurements) != 1 || res.Best != 0 || res.Measurements[0].Shape != kernels.Square(32) {
		t.Fatalf("budget: %d measured, best %d", len(res.Measurements), res.Best)
	}
	if n := res.Measurements[0].Notes; !strings.Contains(n[len(n)-1], "(1 of 27 measured") || !strings.Contains(n[len(n)-1], "stopped by the 1ns budget") {
		t.Errorf("note %q", n)
	}

	// A wrong kernel: every shape fails its check, no best.
	res, err = Search(context.Background(), &fake.Backend{Fault: fake.Wrong}, searchCfg())
	if err != nil || res.Best != -1 || len(res.Measurements) != 27 {
		t.Fatalf("wrong kernel: best %d, %d measured, %v", res.Best, len(res.Measurements), err)
	}
	for _, m := range res.Measurements {
		if m.Status != result.StatusFailed || m.Label != SearchLabel || m.FLOPPerSecond != 0 {
			t.Errorf("wrong kernel %s: %s %s %g", m.Shape, m.Status, m.Label, m.FLOPPerSecond)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Search(ctx, &fake.Backend{}, searchCfg()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled search: %v", err)
	}
	bad := searchCfg()
	bad.Repeats = 0
	if _, err := Search(context.Background(), &fake.Backend{}, bad); err == nil {
		t.Error("repeats 0 accepted")
	}
}
