package gpu

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu"
)

// requireCUDA skips a test unless a GPU can be opened.
func requireCUDA(t *testing.T) *Backend {
	t.Helper()
	if n, err := Available(); err != nil || n == 0 {
		t.Skipf("needs an NVIDIA GPU: %s", NoDriverReason(err))
	}
	b, err := Open(0)
	if err != nil {
		t.Skipf("needs a usable GPU with cuBLASLt: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var allDTypes = []kernels.DType{kernels.FP64, kernels.FP32, kernels.TF32, kernels.BF16, kernels.FP16, kernels.FP8E4M3}

// hostProduct computes C = A·B in float64 and stores it in the output
// type, as a correct GPU kernel would (within rounding).
func hostProduct(t *testing.T, p blaslt.Plan, a, b hostMatrix, scale float64) hostMatrix {
	t.Helper()
	ref := cpu.Reference(a.m, b.m)
	out := newOutput(p.DType, p.Shape.M, p.Shape.N)
	for i, v := range ref {
		v *= scale
		switch c := out.m.(type) {
		case kernels.RowMajor64:
			c.Data[i] = v
		case kernels.RowMajor32:
			c.Data[i] = float32(v)
		case kernels.RowMajorBF16:
			c.Data[i] = kernels.BF16FromFloat32(float32(v))
		case kernels.RowMajorFP16:
			c.Data[i] = kernels.FP16FromFloat32(float32(v))
		}
	}
	return out
}

func TestHostOperandsThroughTheVerifier(t *testing.T) {
	s := kernels.GEMMShape{M: 48, N: 32, K: 64}
	for _, d := range allDTypes {
		p, err := blaslt.NewPlan(s, d)
		if err != nil {
			t.Fatal(err)
		}
		a, b, invA, invB := hostOperands(p, 7)
		ab, bb, _ := p.Bytes()
		if int64(len(a.bytes)) != ab || int64(len(b.bytes)) != bb {
			t.Errorf("%s: host bytes %d %d, plan %d %d", d, len(a.bytes), len(b.bytes), ab, bb)
		}
		// Inputs are already values of d (fp8: once multiplied by the
		// scale) and never zero.
		if (d == kernels.FP8E4M3) != (invA != 1 && invB != 1 && invA != invB) {
			t.Errorf("%s: inverse scales %g %g", d, invA, invB)
		}
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.K; j++ {
				v, rng := a.m.At(i, j), 1.0
				if d == kernels.FP8E4M3 {
					v, rng = v/float64(invA), kernels.FP8E4M3Max
				}
				if v == 0 || math.Abs(v) > rng || (d != kernels.FP64 && float64(kernels.Quantize(d, float32(v))) != v) {
					t.Fatalf("%s: A[%d,%d] = %g is zero, out of range or not a %s value", d, i, j, v, d)
				}
			}
		}
		if f8, isF8 := b.m.(scaledFP8); isF8 != (d == kernels.FP8E4M3) || (isF8 && !f8.ColMajor) {
			t.Errorf("%s: B storage %T", d, b.m)
		}
		// A correct output passes, a 2% wrong one fails, an unwritten
		// (poisoned) element fails.
		good := hostProduct(t, p, a, b, 1)
		if rep := verify.GEMM(a.m, b.m, good.m, d, 1); !rep.Passed {
			t.Errorf("%s: correct output rejected: %s", d, rep.Reason)
		}
		wrong := hostProduct(t, p, a, b, 1.25)
		if rep := verify.GEMM(a.m, b.m, wrong.m, d, 1); rep.Passed {
			t.Errorf("%s: output 25%% off accepted (error %g, bound %g)", d, rep.RelError, rep.Bound)
		}
		poisoned := hostProduct(t, p, a, b, 1)
		poison(poisoned, 5)
		if rep := verify.GEMM(a.m, b.m, poisoned.m, d, 1); rep.Passed || rep.NonFinite != 1 {
			t.Errorf("%s: a poisoned element passed (%+v)", d, rep)
		}
	}
}

// poison writes the NaN pattern over element i, as the GPU's memset does.
func poison(h hostMatrix, i int) {
	switch c := h.m.(type) {
	case kernels.RowMajor64:
		c.Data[i] = math.Float64frombits(uint64(kernels.PoisonBits32)<<32 | kernels.PoisonBits32)
	case kernels.RowMajor32:
		c.Data[i] = math.Float32frombits(kernels.PoisonBits32)
	case kernels.RowMajorBF16:
		c.Data[i] = kernels.PoisonBits32 & 0xffff
	case kernels.RowMajorFP16:
		c.Data[i] = kernels.PoisonBits32 & 0xffff
	}
}

func TestHostOperandsAreReproducible(t *testing.T) {
	p, _ := blaslt.NewPlan(kernels.Square(16), kernels.BF16)
	a1, _, _, _ := hostOperands(p, 3)
	a2, _, _, _ := hostOperands(p, 3)
	a3, _, _, _ := hostOperands(p, 4)
	if string(a1.bytes) != string(a2.bytes) || string(a1.bytes) == string(a3.bytes) {
		t.Error("operands do not follow the seed")
	}
}

func TestFitSets(t *testing.T) {
	const gib = 1 << 30
	if n, err := fitSets(8, gib, 3*gib); n != 3 || err != nil {
		t.Errorf("fitSets(8, 1 GiB, 3 GiB) = %d, %v", n, err)
	}
	if n, err := fitSets(2, gib, 30*gib); n != 2 || err != nil {
		t.Errorf("fitSets(2, 1 GiB, 30 GiB) = %d, %v", n, err)
	}
	_, err := fitSets(1, 12*gib, 3*gib+gib/10)
	if !errors.Is(err, cuda.ErrOutOfMemory) || !strings.HasPrefix(err.Error(), "needs 12.0 GiB, 3.1 GiB free") {
		t.Errorf("fitSets too big = %v", err)
	}
}

func TestBandwidthSizeAndLaunch(t *testing.T) {
	const mib = 1 << 20
	cases := []struct{ want, free, l2, got int64 }{
		{0, 80 << 30, 50 * mib, 1 << 30},             // default 1 GiB
		{0, 2 << 30, 50 * mib, 512 * mib},            // a quarter of free memory
		{0, 1 << 30, 50 * mib, 400 * mib},            // at least 8x L2
		{100*mib + 5, 80 << 30, 40 * mib, 320 * mib}, // at least 8x L2, 16 MiB multiple
		{3000 * mib, 80 << 30, mib, 2992 * mib},      // rounded down to 16 MiB
	}
	for _, c := range cases {
		if got := bandwidthSize(c.want, c.free, c.l2); got != c.got || got%(16*mib) != 0 {
			t.Errorf("bandwidthSize(%d, %d, %d) = %d MiB, want %d MiB", c.want, c.free, c.l2, got/mib, c.got/mib)
		}
	}
	g, b := launchDims(1<<26, 132)
	if b.X != 256 || g.X != 132*32 {
		t.Errorf("launchDims(2^26, 132) = %v %v", g, b)
	}
	if g, _ := launchDims(100, 132); g.X != 1 {
		t.Errorf("launchDims(100) grid %v", g)
	}
}

func TestNoDriverReason(t *testing.T) {
	if got := NoDriverReason(cuda.ErrLibraryNotFound); got != "no NVIDIA driver (libcuda.so.1 not found)" {
		t.Errorf("reason %q", got)
	}
	if got := NoDriverReason(cuda.NewError(cuda.LibDriver, "cuInit", 100, "")); got != "no NVIDIA GPU (the driver found none)" {
		t.Errorf("reason %q", got)
	}
	if got := NoDriverReason(errors.New("boom")); got != "NVIDIA driver unusable (boom)" {
		t.Errorf("reason %q", got)
	}
}

// The tests below run only on a GPU.

func TestGEMMOnGPU(t *testing.T) {
	b := requireCUDA(t)
	for _, d := range allDTypes {
		if !b.Supports(d) {
			continue
		}
		for _, s := range []kernels.GEMMShape{kernels.Square(256), {M: 512, N: 384, K: 1024}} {
			g, err := b.NewGEMM(s, d, 2, 11)
			if err != nil {
				t.Fatalf("%s %s: %v", d, s, err)
			}
			g.Poison(1)
			sec, err := g.Run(1)
			if err != nil || sec <= 0 {
				t.Fatalf("%s %s: run %g, %v", d, s, sec, err)
			}
			a, bm, c := g.Operands(1)
			if rep := verify.GEMM(a, bm, c, d, 1); !rep.Passed {
				t.Errorf("%s %s: %s", d, s, rep.Reason)
			}
			if n := g.(*gemm).Notes(); len(n) != 1 || !strings.Contains(n[0], "cublasLt algorithm") {
				t.Errorf("notes %q", n)
			}
			g.Release()
		}
	}
	if st := b.State(); st.Time.IsZero() {
		t.Error("State has no time")
	}
}

func TestBandwidthOnGPU(t *testing.T) {
	b := requireCUDA(t)
	ms, err := b.Bandwidth(context.Background(), BandwidthConfig{DeviceBytes: 256 << 20, HostBytes: 64 << 20, Warmup: 1, Repeats: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Status == result.StatusSkipped && m.Label == "copy_kernel" {
			t.Logf("copy kernel skipped: %v", m.Notes)
			continue
		}
		if m.Status != result.StatusOK || m.BytesPerSecond <= 0 || !m.Verified {
			t.Errorf("%s: %+v", m.Label, m)
		}
	}
	if len(ms) != 4 {
		t.Errorf("%d bandwidth measurements, want d2d, kernel, h2d, d2h", len(ms))
	}
}

func TestOutOfMemoryIsASkipReason(t *testing.T) {
	b := requireCUDA(t)
	_, err := b.NewGEMM(kernels.GEMMShape{M: 1 << 20, N: 1 << 20, K: 16}, kernels.FP32, 1, 1)
	if !errors.Is(err, cuda.ErrOutOfMemory) || !strings.HasPrefix(err.Error(), "needs ") {
		t.Errorf("huge GEMM: %v", err)
	}
}

func TestFirstDifference(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", -1},
		{"abc", "abc", -1},
		{"abc", "abd", 2},
		{"xbc", "abc", 0},
	} {
		if got := firstDifference([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("firstDifference(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSearchNote(t *testing.T) {
	for _, c := range []struct {
		trial  []float64
		chosen int
		want   string
	}{
		{[]float64{1.5e-3, 1.2e-3, 1.3e-3}, 1, "search: heuristic #0 took 1500.0 µs in the trials, heuristic #1 1200.0 µs (25.0% faster)"},
		{[]float64{1.2e-3, 1.5e-3}, 0, ""}, // the first choice won
		{[]float64{0, 1.2e-3}, 1, ""},      // the first choice failed
		{nil, 0, ""},
	} {
		if got := searchNote(c.trial, c.chosen); got != c.want {
			t.Errorf("searchNote(%v, %d) = %q, want %q", c.trial, c.chosen, got, c.want)
		}
	}
}
