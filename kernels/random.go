package kernels

import "math/rand/v2"

// NewRand returns the generator every workload fills its inputs from, so a
// recorded seed reproduces the exact inputs.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Uniform returns a value uniform in [-1, 1) that is never zero, so no
// input element can hide an unread operand.
func Uniform(r *rand.Rand) float64 {
	for {
		if v := 2*r.Float64() - 1; v != 0 {
			return v
		}
	}
}

// FillUniform32 fills dst with Uniform values.
func FillUniform32(r *rand.Rand, dst []float32) {
	for i := range dst {
		v := float32(Uniform(r))
		for v == 0 { // a tiny float64 can round to a float32 zero
			v = float32(Uniform(r))
		}
		dst[i] = v
	}
}

// FillUniform64 fills dst with Uniform values.
func FillUniform64(r *rand.Rand, dst []float64) {
	for i := range dst {
		dst[i] = Uniform(r)
	}
}
