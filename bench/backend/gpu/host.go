package gpu

import (
	"math/rand/v2"
	"unsafe"

	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/kernels"
)

// hostMatrix is an operand on the host: its bytes as uploaded and a
// kernels.Matrix view of the same memory for the verifier.
type hostMatrix struct {
	bytes []byte
	m     kernels.Matrix
}

// draw returns a uniform value in [-1, 1) already rounded to d, never
// zero (rounding to fp8 can turn a tiny value into zero; it is drawn
// again).
func draw(r *rand.Rand, d kernels.DType) float32 {
	for {
		if v := kernels.Quantize(d, float32(kernels.Uniform(r))); v != 0 {
			return v
		}
	}
}

// newHostMatrix makes a rows×cols operand in the input type of dtype d,
// filled from r; colMajor stores it column-major (fp8's B).
func newHostMatrix(r *rand.Rand, d kernels.DType, rows, cols int, colMajor bool) hostMatrix {
	n := rows * cols
	switch d {
	case kernels.FP64:
		data := make([]float64, n)
		for i := range data {
			data[i] = kernels.Uniform(r)
		}
		return hostMatrix{bytesOf(data), kernels.RowMajor64{Data: data, Rows: rows, Cols: cols}}
	case kernels.FP32, kernels.TF32:
		data := make([]float32, n)
		for i := range data {
			data[i] = draw(r, d)
		}
		return hostMatrix{bytesOf(data), kernels.RowMajor32{Data: data, Rows: rows, Cols: cols}}
	case kernels.BF16:
		data := make([]uint16, n)
		for i := range data {
			data[i] = kernels.BF16FromFloat32(draw(r, d))
		}
		return hostMatrix{bytesOf(data), kernels.RowMajorBF16{Data: data, Rows: rows, Cols: cols}}
	case kernels.FP16:
		data := make([]uint16, n)
		for i := range data {
			data[i] = kernels.FP16FromFloat32(draw(r, d))
		}
		return hostMatrix{bytesOf(data), kernels.RowMajorFP16{Data: data, Rows: rows, Cols: cols}}
	case kernels.FP8E4M3:
		data := make([]uint8, n)
		for i := range data {
			data[i] = kernels.FP8E4M3FromFloat32(draw(r, d))
		}
		return hostMatrix{data, kernels.FP8Matrix{Data: data, Rows: rows, Cols: cols, ColMajor: colMajor}}
	}
	panic("gpu: no host storage for " + d.String())
}

// newOutput makes the host buffer C is downloaded into, in the output
// type of dtype d.
func newOutput(d kernels.DType, rows, cols int) hostMatrix {
	n := rows * cols
	switch blaslt.OutputDType(d) {
	case kernels.FP64:
		data := make([]float64, n)
		return hostMatrix{bytesOf(data), kernels.RowMajor64{Data: data, Rows: rows, Cols: cols}}
	case kernels.FP32:
		data := make([]float32, n)
		return hostMatrix{bytesOf(data), kernels.RowMajor32{Data: data, Rows: rows, Cols: cols}}
	case kernels.BF16:
		data := make([]uint16, n)
		return hostMatrix{bytesOf(data), kernels.RowMajorBF16{Data: data, Rows: rows, Cols: cols}}
	case kernels.FP16:
		data := make([]uint16, n)
		return hostMatrix{bytesOf(data), kernels.RowMajorFP16{Data: data, Rows: rows, Cols: cols}}
	}
	panic("gpu: no output storage for " + d.String())
}

// hostOperands makes A and B for plan p from seed. fp8 operands are
// scaled per tensor (see newScaledFP8); their inverse scales are returned
// for cuBLASLt, 1 for other dtypes.
func hostOperands(p blaslt.Plan, seed uint64) (a, b hostMatrix, invA, invB float32) {
	r := kernels.NewRand(seed)
	if p.DType == kernels.FP8E4M3 {
		a, invA = newScaledFP8(r, p.Shape.M, p.Shape.K, false, fp8RangeA)
		b, invB = newScaledFP8(r, p.Shape.K, p.Shape.N, p.BColMajor, fp8RangeB)
		return a, b, invA, invB
	}
	a = newHostMatrix(r, p.DType, p.Shape.M, p.Shape.K, false)
	b = newHostMatrix(r, p.DType, p.Shape.K, p.Shape.N, p.BColMajor)
	return a, b, 1, 1
}

// bytesOf views a numeric slice's memory as bytes.
func bytesOf[T float32 | float64 | uint16](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}
