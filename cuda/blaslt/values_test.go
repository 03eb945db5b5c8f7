package blaslt

import "testing"

// TestEnumValues pins every cuBLASLt enum value flopcast passes, and the
// byte size each attribute takes, against cublasLt.h (CUDA 12.6:
// cublasLtMatmulDescAttributes_t, cublasLtMatrixLayoutAttribute_t,
// cublasLtMatmulPreferenceAttributes_t), cublas_api.h (cublasOperation_t,
// cublasComputeType_t) and library_types.h (cudaDataType_t). The sizes are
// the ones the Set calls pass: cuBLASLt refuses a size that differs from
// its internal storage with CUBLAS_STATUS_INVALID_VALUE.
func TestEnumValues(t *testing.T) {
	cases := []struct {
		name      string
		got, want int
	}{
		{"CUBLASLT_MATMUL_DESC_TRANSA (int32)", attrTransA, 3},
		{"CUBLASLT_MATMUL_DESC_TRANSB (int32)", attrTransB, 4},
		{"CUBLASLT_MATMUL_DESC_A_SCALE_POINTER (void *)", attrAScalePointer, 17},
		{"CUBLASLT_MATMUL_DESC_B_SCALE_POINTER (void *)", attrBScalePointer, 18},
		{"CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64)", prefMaxWorkspace, 1},
		{"CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT (int32)", layoutBatchCount, 5},
		{"CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET (int64)", layoutBatchStride, 6},
		{"CUBLAS_OP_N", int(OpN), 0},
		{"CUBLAS_OP_T", int(OpT), 1},
		{"CUBLAS_COMPUTE_32F", int(Compute32F), 68},
		{"CUBLAS_COMPUTE_32F_FAST_TF32", int(Compute32FFastTF32), 77},
		{"CUBLAS_COMPUTE_64F", int(Compute64F), 70},
		{"CUDA_R_32F", int(R32F), 0},
		{"CUDA_R_64F", int(R64F), 1},
		{"CUDA_R_16F", int(R16F), 2},
		{"CUDA_R_16BF", int(R16BF), 14},
		{"CUDA_R_8F_E4M3", int(R8FE4M3), 28},
		{"CUDA_R_8F_E5M2", int(R8FE5M2), 29},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	sizes := []struct {
		name      string
		got, want int
	}{
		{"TRANSA/TRANSB", attrSizeOp, 4},
		{"A/B_SCALE_POINTER", attrSizePointer, 8},
		{"MAX_WORKSPACE_BYTES", attrSizeWorkspace, 8},
		{"BATCH_COUNT", attrSizeBatchCount, 4},
		{"STRIDED_BATCH_OFFSET", attrSizeBatchStride, 8},
	}
	for _, c := range sizes {
		if c.got != c.want {
			t.Errorf("size of %s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
