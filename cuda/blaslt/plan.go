package blaslt

import (
	"fmt"

	"github.com/flopcast/flopcast/kernels"
)

// DataType is a cudaDataType_t value.
type DataType int

// The data types used (values of cudaDataType_t).
const (
	R32F    DataType = 0
	R64F    DataType = 1
	R16F    DataType = 2
	R16BF   DataType = 14
	R8FE4M3 DataType = 28
	R8FE5M2 DataType = 29
)

// Size returns the bytes of one element.
func (t DataType) Size() int {
	switch t {
	case R64F:
		return 8
	case R32F:
		return 4
	case R16F, R16BF:
		return 2
	case R8FE4M3, R8FE5M2:
		return 1
	}
	return 0
}

// ComputeType is a cublasComputeType_t value.
type ComputeType int

// The compute types used (values of cublasComputeType_t).
const (
	Compute32F         ComputeType = 68
	Compute32FFastTF32 ComputeType = 77
	Compute64F         ComputeType = 70
)

// Op is a cublasOperation_t value.
type Op int

// The operations.
const (
	OpN Op = 0
	OpT Op = 1
)

// Types are the element types of one GEMM.
type Types struct {
	A, B, C, D DataType
	Compute    ComputeType
	Scale      DataType
}

// TypesFor returns the cuBLASLt types flopcast uses for dtype d: fp32 on
// CUDA cores (compute 32F, no TF32), tf32 (fp32 storage, compute type
// fast-TF32), fp16 and bf16 with fp32 accumulation and output in the
// input type, fp8 e4m3 with fp32 accumulation and bf16 output, fp64.
func TypesFor(d kernels.DType) (Types, error) {
	switch d {
	case kernels.FP32:
		return Types{R32F, R32F, R32F, R32F, Compute32F, R32F}, nil
	case kernels.TF32:
		return Types{R32F, R32F, R32F, R32F, Compute32FFastTF32, R32F}, nil
	case kernels.FP16:
		return Types{R16F, R16F, R16F, R16F, Compute32F, R32F}, nil
	case kernels.BF16:
		return Types{R16BF, R16BF, R16BF, R16BF, Compute32F, R32F}, nil
	case kernels.FP8E4M3:
		return Types{R8FE4M3, R8FE4M3, R16BF, R16BF, Compute32F, R32F}, nil
	case kernels.FP64:
		return Types{R64F, R64F, R64F, R64F, Compute64F, R64F}, nil
	}
	return Types{}, fmt.Errorf("cublasLt: no GEMM for dtype %s", d)
}

// OutputDType is the dtype the output is stored in for inputs of dtype d
// (bf16 for fp8, fp32 for tf32).
func OutputDType(d kernels.DType) kernels.DType {
	switch d {
	case kernels.FP8E4M3:
		return kernels.BF16
	case kernels.TF32:
		return kernels.FP32
	}
	return d
}

// MinComputeCapability returns the least compute capability (major*10 +
// minor) whose tensor cores run dtype d: fp8 needs Ada or Hopper (8.9),
// bf16 and tf32 Ampere (8.0).
func MinComputeCapability(d kernels.DType) int {
	switch d {
	case kernels.FP8E4M3:
		return 89
	case kernels.BF16, kernels.TF32:
		return 80
	case kernels.FP16:
		return 70
	}
	return 0
}

// Layout is one cublasLtMatrixLayout: a column-major rows×cols matrix
// with leading dimension LD.
type Layout struct {
	Type       DataType
	Rows, Cols int
	LD         int
}

// Plan is how one row-major GEMM C = A·B (A m×k, B k×n) is handed to
// cuBLASLt, which is column-major. A row-major matrix read column-major is
// its transpose, so cuBLASLt computes Cᵀ = Bᵀ·Aᵀ: its "A" is our B, its
// "B" our A, its m our n and its n our m, and nothing is copied.
//
// fp8 needs the "TN" form (cuBLASLt's A transposed, B not): our A stays
// row-major and our B is stored column-major (BColMajor), k contiguous.
type Plan struct {
	Shape kernels.GEMMShape
	DType kernels.DType
	Types
	// TransA and TransB are cuBLASLt's operations.
	TransA, TransB Op
	// LtA (our B), LtB (our A), LtC and LtD (our C) are cuBLASLt's layouts.
	LtA, LtB, LtC, LtD Layout
	// BColMajor says our B is stored column-major.
	BColMajor bool
}

// NewPlan returns the plan for shape s in dtype d. fp8 needs k and n to be
// multiples of 16 (16-byte aligned leading dimensions).
func NewPlan(s kernels.GEMMShape, d kernels.DType) (Plan, error) {
	if err := s.Validate(); err != nil {
		return Plan{}, err
	}
	t, err := TypesFor(d)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Shape: s, DType: d, Types: t, TransA: OpN, TransB: OpN}
	p.LtA = Layout{t.A, s.N, s.K, s.N}
	if d == kernels.FP8E4M3 {
		if s.K%16 != 0 || s.N%16 != 0 {
			return Plan{}, fmt.Errorf("cublasLt fp8 GEMM %s: k and n must be multiples of 16", s)
		}
		p.TransA, p.BColMajor = OpT, true
		p.LtA = Layout{t.A, s.K, s.N, s.K}
	}
	p.LtB = Layout{t.B, s.K, s.M, s.K}
	p.LtC = Layout{t.C, s.N, s.M, s.N}
	p.LtD = Layout{t.D, s.N, s.M, s.N}
	return p, nil
}

// Bytes returns the device bytes of A, B and C.
func (p Plan) Bytes() (a, b, c int64) {
	ea, eb, ec := p.Shape.Elements()
	return ea * int64(p.Types.B.Size()), eb * int64(p.Types.A.Size()), ec * int64(p.Types.D.Size())
}

// elements returns the count of elements a layout addresses.
func (l Layout) elements() int64 { return int64(l.LD) * int64(l.Cols) }
