package cpu

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/flopcast/flopcast/kernels"
)

// GEMM holds one or more sets of operands for C = A·B and runs the product
// through gorgonia's tensor MatMul, which calls the BLAS chosen by
// UseFastestBLAS. Several sets let a runner rotate inputs so a problem
// that fits in cache is not measured from cache.
type GEMM struct {
	Shape kernels.GEMMShape
	DType kernels.DType
	sets  []operands
}

type operands struct{ a, b, c *tensor.Dense }

// NewGEMM allocates sets operand sets of the given shape and fills A and B
// from seed with non-zero values uniform in [-1, 1). Only FP32 and FP64 run
// on the CPU.
func NewGEMM(shape kernels.GEMMShape, dtype kernels.DType, sets int, seed uint64) (*GEMM, error) {
	if err := shape.Validate(); err != nil {
		return nil, err
	}
	if sets < 1 {
		return nil, fmt.Errorf("gemm: need at least one operand set, got %d", sets)
	}
	a, b, c := shape.Elements()
	g := &GEMM{Shape: shape, DType: dtype}
	r := kernels.NewRand(seed)
	for s := 0; s < sets; s++ {
		var op operands
		switch dtype {
		case kernels.FP32:
			ad, bd := make([]float32, a), make([]float32, b)
			kernels.FillUniform32(r, ad)
			kernels.FillUniform32(r, bd)
			op = operands{
				a: tensor.New(tensor.WithShape(shape.M, shape.K), tensor.WithBacking(ad)),
				b: tensor.New(tensor.WithShape(shape.K, shape.N), tensor.WithBacking(bd)),
				c: tensor.New(tensor.WithShape(shape.M, shape.N), tensor.WithBacking(make([]float32, c))),
			}
		case kernels.FP64:
			ad, bd := make([]float64, a), make([]float64, b)
			kernels.FillUniform64(r, ad)
			kernels.FillUniform64(r, bd)
			op = operands{
				a: tensor.New(tensor.WithShape(shape.M, shape.K), tensor.WithBacking(ad)),
				b: tensor.New(tensor.WithShape(shape.K, shape.N), tensor.WithBacking(bd)),
				c: tensor.New(tensor.WithShape(shape.M, shape.N), tensor.WithBacking(make([]float64, c))),
			}
		default:
			return nil, fmt.Errorf("gemm: dtype %s does not run on the CPU (fp32, fp64 do)", dtype)
		}
		g.sets = append(g.sets, op)
	}
	return g, nil
}

// Sets returns the number of operand sets.
func (g *GEMM) Sets() int { return len(g.sets) }

// Run computes C = A·B for operand set s.
func (g *GEMM) Run(s int) error {
	op := g.sets[s]
	if _, err := op.a.MatMul(op.b, tensor.WithReuse(op.c)); err != nil {
		return fmt.Errorf("gemm %s %s: %v", g.DType, g.Shape, err)
	}
	return nil
}

// Poison fills C of set s with NaN, so an element the kernel does not write
// fails verification.
func (g *GEMM) Poison(s int) {
	switch d := g.sets[s].c.Data().(type) {
	case []float32:
		nan := float32(math.NaN())
		for i := range d {
			d[i] = nan
		}
	case []float64:
		for i := range d {
			d[i] = math.NaN()
		}
	}
}

// Operands returns read access to A, B and C of set s.
func (g *GEMM) Operands(s int) (a, b, c kernels.Matrix) {
	op := g.sets[s]
	return matrix(op.a), matrix(op.b), matrix(op.c)
}

func matrix(t *tensor.Dense) kernels.Matrix {
	r, c := t.Shape()[0], t.Shape()[1]
	switch d := t.Data().(type) {
	case []float32:
		return kernels.RowMajor32{Data: d, Rows: r, Cols: c}
	case []float64:
		return kernels.RowMajor64{Data: d, Rows: r, Cols: c}
	}
	panic(fmt.Sprintf("cpu: unexpected backing %T", t.Data()))
}

// Release drops the operands so their memory can be reclaimed.
func (g *GEMM) Release() { g.sets = nil }
