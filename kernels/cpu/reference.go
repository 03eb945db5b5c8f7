package cpu

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/flopcast/flopcast/kernels"
)

// Reference computes C = A·B in float64 with gonum's pure-Go BLAS, which
// shares no code with the OpenBLAS kernels it checks.
func Reference(a, b kernels.Matrix) []float64 {
	m, k := a.Dims()
	_, n := b.Dims()
	ad, bd := dense64(a), dense64(b)
	c := make([]float64, m*n)
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, ad, k, bd, n, 0, c, n)
	return c
}

// Dot returns element (i, j) of A·B, accumulated in float64.
func Dot(a, b kernels.Matrix, i, j int) float64 {
	_, k := a.Dims()
	var s float64
	for p := 0; p < k; p++ {
		s += a.At(i, p) * b.At(p, j)
	}
	return s
}

func dense64(m kernels.Matrix) []float64 {
	if d, ok := m.(kernels.RowMajor64); ok {
		return d.Data
	}
	r, c := m.Dims()
	out := make([]float64, r*c)
	if d, ok := m.(kernels.RowMajor32); ok {
		for i, v := range d.Data {
			out[i] = float64(v)
		}
		return out
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = m.At(i, j)
		}
	}
	return out
}
