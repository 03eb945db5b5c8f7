package gpu

import (
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/kernels"
)

// TestWindowOnGPU times a back-to-back window of a 4096³ bf16 GEMM (about
// 0.2 ms a call on an H100/H200): the device must stay busy (duty cycle
// at least 0.95), every call must be timed, the output of the last call
// checked after the poisoned sets were filled by the window, and NVML, when
// present, must have sampled the window.
func TestWindowOnGPU(t *testing.T) {
	b := requireCUDA(t)
	d := kernels.BF16
	if !b.Supports(d) {
		d = kernels.FP32
	}
	s := kernels.Square(4096)
	g, err := b.NewGEMM(s, d, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	wg := g.(*gemm)
	if _, err := wg.RunWindow(20); err != nil { // warm-up
		t.Fatal(err)
	}
	g.Poison(0)
	g.Poison(1)
	stop := b.SampleWindow()
	w, err := wg.RunWindow(501)
	win, why := stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Samples) != 501 || w.Calls != 501 || w.PerSample != 1 {
		t.Fatalf("window: %d samples, %d calls, %d per sample", len(w.Samples), w.Calls, w.PerSample)
	}
	if duty := w.DutyCycle(); duty < 0.95 {
		t.Errorf("duty cycle %.3f below 0.95 (busy %.4f s, span %.4f s, wall %.4f s)", duty, w.Busy, w.Span, w.Wall)
	}
	if w.Wall < w.Span || w.Span < w.Busy*0.999 {
		t.Errorf("busy %.4f s, span %.4f s, wall %.4f s out of order", w.Busy, w.Span, w.Wall)
	}
	// Call 500 wrote set 0 last; set 1 by call 499.
	for set := 0; set < 2; set++ {
		a, bm, c := g.Operands(set)
		if rep := verify.GEMM(a, bm, c, d, 5); !rep.Passed {
			t.Errorf("set %d after the window: %s", set, rep.Reason)
		}
	}
	if win == nil {
		t.Logf("no window state: %v", why)
	} else if win.SMClockMHz == nil || win.Samples < 2 {
		t.Errorf("window state %+v", win)
	} else {
		t.Logf("duty %.3f, SM clock %.0f MHz (%.0f-%.0f), power %v W, energy %.1f J, %d samples",
			w.DutyCycle(), win.SMClockMHz.Mean, win.SMClockMHz.Min, win.SMClockMHz.Max, win.PowerW, win.EnergyJ, win.Samples)
	}
}

// TestForcedAlgoOnGPU checks --lt-algo's path: heuristic rank 0 with no
// search, and a rank past the heuristic's list refused with a reason.
func TestForcedAlgoOnGPU(t *testing.T) {
	b := requireCUDA(t)
	if err := b.ForceAlgo(0); err != nil {
		t.Fatal(err)
	}
	defer b.ForceAlgo(-1)
	g, err := b.NewGEMM(kernels.Square(1024), kernels.FP32, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := g.(*gemm).Notes()
	g.Release()
	if len(n) != 1 || !strings.Contains(n[0], "heuristic #0") || !strings.Contains(n[0], "forced by --lt-algo") {
		t.Errorf("notes %q", n)
	}
	b.ForceAlgo(1000)
	if _, err := b.NewGEMM(kernels.Square(1024), kernels.FP32, 1, 3); err == nil || !strings.Contains(err.Error(), "--lt-algo 1000") {
		t.Errorf("rank 1000: %v", err)
	}
	if err := b.ForceAlgo(-2); err == nil {
		t.Error("rank -2 accepted")
	}
}
