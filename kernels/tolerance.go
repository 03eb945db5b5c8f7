package kernels

// RelErrorBound returns the largest relative error ‖out − ref‖₂ / ‖ref‖₂
// accepted for a GEMM computed in dtype d against a float64 reference, with
// inputs drawn uniformly from [-1, 1).
//
// Inputs are the exact values the kernel saw (already rounded to d), so the
// error is accumulation and output rounding: about u·√(K/2) for unit
// round-off u in the worst (plain sequential) order, 5e-6 for fp32 at
// K = 16384. The bounds sit above that for K up to 65536, and orders of
// magnitude below the error of a wrong kernel (a dropped tile, a transposed
// operand, an unwritten element: of order 1) or of one that silently
// accumulates in a narrower type (1e-3 and up).
func RelErrorBound(d DType) float64 {
	switch d {
	case FP64:
		return 1e-12
	case FP32:
		return 1e-4
	case TF32:
		return 5e-3
	case BF16:
		return 2e-2
	case FP16:
		return 5e-3
	case FP8E4M3:
		return 1e-1
	}
	return 0
}
