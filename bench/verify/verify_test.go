package verify

import (
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu"
)

// product returns random A and B and their exact product in float32 or
// float64 storage.
func product(t *testing.T, s kernels.GEMMShape, d kernels.DType) (a, b kernels.Matrix, c []float64) {
	t.Helper()
	g, err := cpu.NewGEMM(s, d, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ = g.Operands(0)
	return a, b, cpu.Reference(a, b)
}

func as32(c []float64, rows, cols int) kernels.RowMajor32 {
	out := kernels.RowMajor32{Data: make([]float32, len(c)), Rows: rows, Cols: cols}
	for i, v := range c {
		out.Data[i] = float32(v)
	}
	return out
}

func TestGEMMCatches(t *testing.T) {
	shapes := []kernels.GEMMShape{{M: 96, N: 80, K: 64}, {M: 1100, N: 70, K: 33}, {M: 3, N: 2000, K: 1030}}
	for _, s := range shapes {
		a, b, exact := product(t, s, kernels.FP32)
		mode := "full"
		if max(s.M, s.N, s.K) > FullLimit {
			mode = "sampled+freivalds"
		}
		cases := []struct {
			name   string
			mutate func(c []float32)
			pass   bool
			reason string
		}{
			{"correct", func(c []float32) {}, true, ""},
			{"unwritten element", func(c []float32) { c[len(c)/2+1] = float32(math.NaN()) }, false, "NaN or infinite"},
			{"infinity", func(c []float32) { c[0] = float32(math.Inf(1)) }, false, "NaN or infinite"},
			{"wrong result: one term of K dropped", func(c []float32) {
				for i := 0; i < s.M; i++ {
					for j := 0; j < s.N; j++ {
						c[i*s.N+j] -= float32(a.At(i, s.K-1) * b.At(s.K-1, j))
					}
				}
			}, false, "exceeds the fp32 bound"},
			{"wrong result: transposed output", func(c []float32) {
				for i := range c {
					c[i] = float32(exact[len(c)-1-i])
				}
			}, false, "exceeds"},
			{"accumulated in half precision (1e-3 relative)", func(c []float32) {
				for i := range c {
					c[i] *= 1 + 1e-3*float32(1-2*(i%2))
				}
			}, false, "exceeds"},
		}
		for _, c := range cases {
			t.Run(s.String()+"/"+c.name, func(t *testing.T) {
				out := as32(exact, s.M, s.N)
				c.mutate(out.Data)
				rep := GEMM(a, b, out, kernels.FP32, 1)
				if rep.Passed != c.pass {
					t.Fatalf("Passed = %v, want %v (%+v)", rep.Passed, c.pass, rep)
				}
				if !strings.Contains(rep.Reason, c.reason) {
					t.Errorf("reason %q does not mention %q", rep.Reason, c.reason)
				}
				if rep.Mode != mode {
					t.Errorf("mode %s, want %s", rep.Mode, mode)
				}
				if rep.Scanned != int64(s.M)*int64(s.N) {
					t.Errorf("scanned %d of %d elements", rep.Scanned, s.M*s.N)
				}
				if mode != "full" && rep.Compared < min(int64(SampleTarget), int64(s.M*s.N)) {
					t.Errorf("compared only %d elements", rep.Compared)
				}
			})
		}
	}
}

func TestGEMMFP64Bound(t *testing.T) {
	s := kernels.GEMMShape{M: 64, N: 64, K: 64}
	a, b, exact := product(t, s, kernels.FP64)
	out := kernels.RowMajor64{Data: append([]float64(nil), exact...), Rows: s.M, Cols: s.N}
	if rep := GEMM(a, b, out, kernels.FP64, 1); !rep.Passed || rep.RelError > 1e-15 {
		t.Fatalf("exact fp64 product rejected: %+v", rep)
	}
	// Rounding the output to float32 is fine for fp32 but not for fp64.
	for i := range out.Data {
		out.Data[i] = float64(float32(out.Data[i]))
	}
	if rep := GEMM(a, b, out, kernels.FP64, 1); rep.Passed {
		t.Fatalf("float32-rounded output passed the fp64 bound: %+v", rep)
	}
}

func TestGEMMShapeMismatch(t *testing.T) {
	s := kernels.GEMMShape{M: 8, N: 8, K: 8}
	a, b, exact := product(t, s, kernels.FP32)
	rep := GEMM(a, b, as32(exact[:56], 7, 8), kernels.FP32, 1)
	if rep.Passed || !strings.Contains(rep.Reason, "disagree") {
		t.Fatalf("mismatched C accepted: %+v", rep)
	}
}

func TestSampleGridCoversCorners(t *testing.T) {
	for _, c := range []struct{ m, n int }{{5000, 5000}, {1, 9000}, {9000, 2}, {70, 70}} {
		rows, cols := sampleGrid(c.m, c.n, 3)
		if len(rows)*len(cols) < min(SampleTarget, c.m*c.n) {
			t.Errorf("%dx%d: grid %dx%d below target", c.m, c.n, len(rows), len(cols))
		}
		if rows[0] != 0 || rows[len(rows)-1] != c.m-1 || cols[0] != 0 || cols[len(cols)-1] != c.n-1 {
			t.Errorf("%dx%d: corners not sampled", c.m, c.n)
		}
	}
}
