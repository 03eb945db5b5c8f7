package bench

import (
	"math"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/verify"
)

// freivaldsRecord is a Freivalds' test outcome as a results file stores
// it; nil when the test did not run.
func freivaldsRecord(f *verify.Freivalds) *result.Freivalds {
	if f == nil {
		return nil
	}
	r := &result.Freivalds{Rounds: f.Rounds, Bound: f.Bound, Where: f.Where}
	if w := f.Worst; !math.IsNaN(w) && !math.IsInf(w, 0) && w <= 1e30 {
		r.Worst = &w
	}
	return r
}
