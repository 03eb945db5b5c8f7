package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/flopcast/flopcast/kernels"
)

// fp8 per-tensor scaling, as fp8 training recipes (e.g. NVIDIA's
// Transformer Engine) do it: a tensor x is stored as q = fp8(x·s) with the
// scale s = FP8E4M3Max / amax(x), so its largest magnitude lands on the
// largest fp8 value, and the GEMM is handed the inverse scales: cuBLASLt
// computes D = (1/sA)·(1/sB)·(qA·qB) ≈ x_A·x_B.
//
// The inputs are drawn with different magnitudes, activation-like A in
// [-fp8RangeA, fp8RangeA) and weight-like B in [-fp8RangeB, fp8RangeB),
// so both scales differ from 1 and from each other, and a kernel that
// ignored either scale would be off by orders of magnitude.
const (
	fp8RangeA = 6.0
	fp8RangeB = 0.05
)

// fp8Scale returns the per-tensor scale for a tensor whose largest
// magnitude is amax: FP8E4M3Max / amax, or 1 when amax is zero or not
// finite.
func fp8Scale(amax float64) float32 {
	if !(amax > 0) || math.IsInf(amax, 0) {
		return 1
	}
	return float32(kernels.FP8E4M3Max / amax)
}

// amax returns the largest magnitude in xs.
func amax(xs []float32) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// scaledFP8 is an fp8 operand as the GEMM sees it: each stored value
// times the inverse scale. The verifier's float64 reference reads it, so
// it checks the product of the values the scaled kernel computes with.
type scaledFP8 struct {
	kernels.FP8Matrix
	// Inv is 1/scale, the value handed to cuBLASLt's scale pointer.
	Inv float32
}

// At implements kernels.Matrix.
func (m scaledFP8) At(i, j int) float64 { return m.FP8Matrix.At(i, j) * float64(m.Inv) }

// newScaledFP8 draws a rows×cols tensor uniformly from [-rng, rng),
// chooses its scale from its amax, and stores fp8(x·scale), row-major or
// column-major. A value that would round to zero is drawn again, so no
// stored element is zero.
func newScaledFP8(r *rand.Rand, rows, cols int, colMajor bool, rng float64) (hostMatrix, float32) {
	n := rows * cols
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(rng * kernels.Uniform(r))
	}
	scale := fp8Scale(amax(xs))
	data := make([]uint8, n)
	for i, x := range xs {
		for {
			q := kernels.FP8E4M3FromFloat32(x * scale)
			if q&0x7f != 0 {
				data[i] = q
				break
			}
			x = float32(rng * kernels.Uniform(r))
		}
	}
	if colMajor { // xs was drawn in row-major order; store the transpose
		t := make([]uint8, n)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				t[j*rows+i] = data[i*cols+j]
			}
		}
		data = t
	}
	inv := 1 / scale
	return hostMatrix{data, scaledFP8{kernels.FP8Matrix{Data: data, Rows: rows, Cols: cols, ColMajor: colMajor}, inv}}, inv
}

// scaleBytes is the device image of the two inverse scales: float32 A
// then B, little-endian, as cuBLASLt reads them through its scale
// pointers.
func scaleBytes(invA, invB float32) []byte {
	b := make([]byte, 2*scaleStride)
	binary.LittleEndian.PutUint32(b, math.Float32bits(invA))
	binary.LittleEndian.PutUint32(b[scaleStride:], math.Float32bits(invB))
	return b
}

// scaleStride is the byte offset of B's scale after A's: each scale gets
// its own 128-byte-aligned slot, as separately allocated tensors would.
const scaleStride = 128
