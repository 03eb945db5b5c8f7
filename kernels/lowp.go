package kernels

import "math"

// Host-side conversions between float32 and the GPU's narrow types, with
// the rounding the hardware uses: round to nearest, ties to even. Inputs are
// quantised with these before upload, so the float64 reference multiplies
// exactly the values the kernel saw, and outputs are decoded with them for
// the verifier.
//
// Formats:
//
//	bf16      1 sign, 8 exponent (bias 127), 7 mantissa bits: float32's top half
//	fp16      1 sign, 5 exponent (bias 15), 10 mantissa bits, IEEE 754 binary16
//	fp8 e4m3  1 sign, 4 exponent (bias 7), 3 mantissa bits, the OCP/NVIDIA
//	          "fn" variant: no infinities, S.1111.111 is NaN, largest finite 448
//	tf32      float32 storage whose low 13 mantissa bits tensor cores ignore

// BF16FromFloat32 rounds f to bfloat16. NaN stays a (quiet) NaN with its
// sign; values beyond the largest bfloat16 round to infinity as IEEE
// rounding does.
func BF16FromFloat32(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x0040
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// BF16ToFloat32 widens a bfloat16 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP16FromFloat32 rounds f to IEEE binary16, with subnormals; values of
// 65520 and more round to infinity, NaN becomes the quiet NaN 0x7e00 with
// f's sign.
func FP16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // a binary16 subnormal or zero: units of 2^-24
		if e < -10 {
			return sign
		}
		return sign | uint16(roundShift(man|0x800000, uint(14-e)))
	}
	// Rounding may carry into the exponent, up to infinity: both are the
	// right encodings.
	return sign | uint16(roundShift(uint32(e)<<23|man, 13))
}

// roundShift returns v >> s rounded to nearest, ties to even.
func roundShift(v uint32, s uint) uint32 {
	r := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || (rem == half && r&1 == 1) {
		r++
	}
	return r
}

// FP16ToFloat32 widens a binary16 exactly.
func FP16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// FP8E4M3Max is the largest finite fp8 e4m3 value.
const FP8E4M3Max = 448

// FP8E4M3FromFloat32 rounds f to fp8 e4m3 with saturation, as NVIDIA's
// conversion with __NV_SATFINITE does: magnitudes of 448 and more
// (infinity included) become ±448, NaN becomes NaN (0x7f with f's sign),
// and values below half the smallest subnormal (2^-10) become ±0.
func FP8E4M3FromFloat32(f float32) uint8 {
	b := math.Float32bits(f)
	sign := uint8(b>>24) & 0x80
	if f != f {
		return sign | 0x7f
	}
	if math.Abs(float64(f)) >= FP8E4M3Max {
		return sign | 0x7e
	}
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	e := exp - 127 + 7
	if e <= 0 { // subnormal or zero: units of 2^-9
		if e < -3 || exp == 0 {
			return sign
		}
		return sign | uint8(roundShift(man|0x800000, uint(21-e)))
	}
	return sign | uint8(roundShift(uint32(e)<<23|man, 20))
}

// FP8E4M3ToFloat32 widens an fp8 e4m3 value exactly.
func FP8E4M3ToFloat32(x uint8) float32 {
	if x&0x7f == 0x7f {
		return float32(math.NaN())
	}
	exp := int(x>>3) & 0xf
	man := float64(x & 7)
	var v float64
	if exp == 0 {
		v = man / 512
	} else {
		v = math.Ldexp(1+man/8, exp-7)
	}
	if x&0x80 != 0 {
		v = -v
	}
	return float32(v)
}

// RoundTF32 rounds f to the 10 mantissa bits a TF32 tensor core keeps,
// ties to even, leaving NaN and infinity as they are.
func RoundTF32(f float32) float32 {
	u := math.Float32bits(f)
	if u&0x7f800000 == 0x7f800000 {
		return f
	}
	u += 0xfff + (u>>13)&1
	return math.Float32frombits(u &^ 0x1fff)
}

// Quantize returns f rounded to the values dtype d can hold (fp32 and fp64
// unchanged).
func Quantize(d DType, f float32) float32 {
	switch d {
	case TF32:
		return RoundTF32(f)
	case BF16:
		return BF16ToFloat32(BF16FromFloat32(f))
	case FP16:
		return FP16ToFloat32(FP16FromFloat32(f))
	case FP8E4M3:
		return FP8E4M3ToFloat32(FP8E4M3FromFloat32(f))
	}
	return f
}

// RowMajorBF16 is a row-major bfloat16 matrix.
type RowMajorBF16 struct {
	Data       []uint16
	Rows, Cols int
}

// Dims implements Matrix.
func (m RowMajorBF16) Dims() (int, int) { return m.Rows, m.Cols }

// At implements Matrix.
func (m RowMajorBF16) At(i, j int) float64 { return float64(BF16ToFloat32(m.Data[i*m.Cols+j])) }

// RowMajorFP16 is a row-major binary16 matrix.
type RowMajorFP16 struct {
	Data       []uint16
	Rows, Cols int
}

// Dims implements Matrix.
func (m RowMajorFP16) Dims() (int, int) { return m.Rows, m.Cols }

// At implements Matrix.
func (m RowMajorFP16) At(i, j int) float64 { return float64(FP16ToFloat32(m.Data[i*m.Cols+j])) }

// FP8Matrix is an fp8 e4m3 matrix, row-major or (ColMajor) column-major:
// cuBLASLt's fp8 GEMM wants one operand stored transposed.
type FP8Matrix struct {
	Data       []uint8
	Rows, Cols int
	ColMajor   bool
}

// Dims implements Matrix.
func (m FP8Matrix) Dims() (int, int) { return m.Rows, m.Cols }

// At implements Matrix.
func (m FP8Matrix) At(i, j int) float64 {
	if m.ColMajor {
		return float64(FP8E4M3ToFloat32(m.Data[j*m.Rows+i]))
	}
	return float64(FP8E4M3ToFloat32(m.Data[i*m.Cols+j]))
}

// PoisonBits32 is a 32-bit fill pattern that reads as NaN whatever the
// element type of the buffer it fills: 0x7ff87ff8 is a float32 NaN, each
// 0x7ff8 half a binary16 and a bfloat16 NaN, and two of them a float64
// NaN. Output buffers are filled with it before a run so an element the
// kernel never writes cannot pass the check.
const PoisonBits32 = 0x7ff87ff8
