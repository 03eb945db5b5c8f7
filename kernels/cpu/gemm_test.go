package cpu

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"

	"github.com/flopcast/flopcast/kernels"
)

// relError is ‖got − want‖ / ‖want‖ over every element.
func relError(c kernels.Matrix, want []float64) float64 {
	r, n := c.Dims()
	var num, den float64
	for i := 0; i < r; i++ {
		for j := 0; j < n; j++ {
			d := c.At(i, j) - want[i*n+j]
			num += d * d
			den += want[i*n+j] * want[i*n+j]
		}
	}
	return math.Sqrt(num / den)
}

func TestGEMMMatchesReference(t *testing.T) {
	defer tensor.Use(gonum.Implementation{})
	for _, engine := range []string{"openblas", "gonum"} {
		if engine == "openblas" {
			if info := UseFastestBLAS(2); info.Name != "openblas" {
				t.Logf("openblas not loaded (%s); testing the gonum path only", info.Fallback)
				continue
			}
		} else {
			tensor.Use(gonum.Implementation{})
		}
		for _, d := range []kernels.DType{kernels.FP32, kernels.FP64} {
			for _, s := range []kernels.GEMMShape{{M: 1, N: 1, K: 1}, {M: 67, N: 45, K: 129}, {M: 256, N: 8, K: 300}} {
				g, err := NewGEMM(s, d, 2, 3)
				if err != nil {
					t.Fatal(err)
				}
				for set := 0; set < g.Sets(); set++ {
					g.Poison(set)
					if err := g.Run(set); err != nil {
						t.Fatal(err)
					}
					a, b, c := g.Operands(set)
					if e := relError(c, Reference(a, b)); !(e <= kernels.RelErrorBound(d)) {
						t.Errorf("%s %s %s set %d: rel error %v", engine, d, s, set, e)
					}
				}
			}
		}
	}
}

func TestGEMMSetsDiffer(t *testing.T) {
	g, err := NewGEMM(kernels.Square(4), kernels.FP32, 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	a0, _, _ := g.Operands(0)
	a1, _, _ := g.Operands(1)
	if a0.At(0, 0) == a1.At(0, 0) && a0.At(3, 3) == a1.At(3, 3) {
		t.Error("operand sets hold the same inputs; rotation would not defeat the cache")
	}
}

func TestPoison(t *testing.T) {
	for _, d := range []kernels.DType{kernels.FP32, kernels.FP64} {
		g, _ := NewGEMM(kernels.Square(3), d, 1, 1)
		g.Poison(0)
		_, _, c := g.Operands(0)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if !math.IsNaN(c.At(i, j)) {
					t.Fatalf("%s: element (%d,%d) not poisoned", d, i, j)
				}
			}
		}
	}
}

func TestNewGEMMRejects(t *testing.T) {
	if _, err := NewGEMM(kernels.GEMMShape{M: 0, N: 1, K: 1}, kernels.FP32, 1, 1); err == nil {
		t.Error("zero dimension accepted")
	}
	if _, err := NewGEMM(kernels.Square(2), kernels.BF16, 1, 1); err == nil {
		t.Error("bf16 accepted on the CPU")
	}
	if _, err := NewGEMM(kernels.Square(2), kernels.FP32, 0, 1); err == nil {
		t.Error("zero operand sets accepted")
	}
}

func TestReferenceAndDotAgree(t *testing.T) {
	g, _ := NewGEMM(kernels.GEMMShape{M: 5, N: 7, K: 9}, kernels.FP64, 1, 2)
	a, b, _ := g.Operands(0)
	ref := Reference(a, b)
	for i := 0; i < 5; i++ {
		for j := 0; j < 7; j++ {
			if d := math.Abs(ref[i*7+j] - Dot(a, b, i, j)); d > 1e-14 {
				t.Fatalf("(%d,%d): %v vs %v", i, j, ref[i*7+j], Dot(a, b, i, j))
			}
		}
	}
}

// BenchmarkGEMM measures the CPU GEMM path flopcast times (gorgonia tensor
// MatMul on the fastest BLAS) and reports GFLOP/s.
func BenchmarkGEMM(b *testing.B) {
	info := UseFastestBLAS(0)
	defer tensor.Use(gonum.Implementation{})
	b.Logf("BLAS: %s %s", info.Name, info.Version)
	for _, d := range []kernels.DType{kernels.FP32, kernels.FP64} {
		for _, n := range []int{256, 1024, 2048} {
			s := kernels.Square(n)
			b.Run(d.String()+"/"+s.String(), func(b *testing.B) {
				g, err := NewGEMM(s, d, 1, 1)
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := g.Run(0); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
