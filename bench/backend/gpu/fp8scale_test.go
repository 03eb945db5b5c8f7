package gpu

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/kernels"
)

func TestFP8Scale(t *testing.T) {
	for _, c := range []struct {
		amax float64
		want float32
	}{
		{448, 1}, {1, 448}, {4, 112}, {0.05, 8960}, {896, 0.5},
		{0, 1}, {math.Inf(1), 1}, {math.NaN(), 1}, {-3, 1},
	} {
		if got := fp8Scale(c.amax); got != c.want {
			t.Errorf("fp8Scale(%g) = %g, want %g", c.amax, got, c.want)
		}
	}
	if got := amax([]float32{0.5, -3.25, 2}); got != 3.25 {
		t.Errorf("amax = %g, want 3.25", got)
	}
	// The inverse scales as cuBLASLt reads them: float32 little-endian,
	// A first. 0.25 is 0x3e800000, 2 is 0x40000000.
	if got := scaleBytes(0.25, 2); len(got) != 2*scaleStride || string(got[:4]) != "\x00\x00\x80\x3e" || string(got[scaleStride:scaleStride+4]) != "\x00\x00\x00\x40" {
		t.Errorf("scaleBytes(0.25, 2) = % x", got)
	}
}

func TestScaledFP8Operands(t *testing.T) {
	const rows, cols = 24, 32
	for _, colMajor := range []bool{false, true} {
		h, inv := newScaledFP8(kernels.NewRand(3), rows, cols, colMajor, fp8RangeA)
		m := h.m.(scaledFP8)
		if m.Inv != inv || m.ColMajor != colMajor || len(h.bytes) != rows*cols {
			t.Fatalf("colMajor %v: %+v", colMajor, m.FP8Matrix)
		}
		// The amax element lands on the largest fp8 value, 448 (0x7e or
		// 0xfe), and nothing exceeds it.
		top := 0.0
		for _, q := range h.bytes {
			if q&0x7f == 0 {
				t.Fatal("a stored zero")
			}
			top = max(top, math.Abs(float64(kernels.FP8E4M3ToFloat32(q))))
		}
		if top != kernels.FP8E4M3Max {
			t.Errorf("largest stored magnitude %g, want 448", top)
		}
		// The scale follows the drawn range: amax is a little under 6.
		if s := 1 / float64(inv); s < 448/6.0 || s > 448/5.0 {
			t.Errorf("scale %g for values in [-6, 6)", s)
		}
		// The same draw gives the same values in either layout: At reads
		// the element the layout stores at j*rows+i (column-major) or
		// i*cols+j, times the inverse scale.
		rm, _ := newScaledFP8(kernels.NewRand(3), rows, cols, false, fp8RangeA)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				idx := i*cols + j
				if colMajor {
					idx = j*rows + i
				}
				want := float64(kernels.FP8E4M3ToFloat32(h.bytes[idx])) * float64(inv)
				if got := m.At(i, j); got != want || got != rm.m.At(i, j) {
					t.Fatalf("colMajor %v: At(%d,%d) = %g, want %g (row-major draw %g)", colMajor, i, j, got, want, rm.m.At(i, j))
				}
			}
		}
	}
}

// TestFP8ScalesReachTheVerifier checks that the verifier's reference uses
// the scaled values: an output computed with both scales passes, one that
// forgot a scale (as a kernel given 1.0 would produce) fails.
func TestFP8ScalesReachTheVerifier(t *testing.T) {
	p, err := blaslt.NewPlan(kernels.GEMMShape{M: 32, N: 48, K: 64}, kernels.FP8E4M3)
	if err != nil {
		t.Fatal(err)
	}
	a, b, invA, invB := hostOperands(p, 21)
	good := hostProduct(t, p, a, b, 1)
	if rep := verify.GEMM(a.m, b.m, good.m, kernels.FP8E4M3, 1); !rep.Passed {
		t.Errorf("the scaled product failed: %s", rep.Reason)
	}
	// Without A's inverse scale the output is 1/invA times too large.
	unscaled := hostProduct(t, p, a, b, 1/float64(invA))
	if rep := verify.GEMM(a.m, b.m, unscaled.m, kernels.FP8E4M3, 1); rep.Passed {
		t.Errorf("a product missing A's scale (x%g) passed", 1/invA)
	}
	if invB == invA || invB == 1 {
		t.Errorf("inverse scales %g and %g are not distinct", invA, invB)
	}
}
