package kernels

import "math"

// RelError returns ‖got − want‖₂ / ‖want‖₂, the error measure of every
// check; +Inf when the lengths differ or want is empty or zero, NaN when got
// holds a NaN.
func RelError(got, want []float64) float64 {
	if len(got) != len(want) || len(want) == 0 {
		return math.Inf(1)
	}
	var num, den float64
	for i := range got {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}
