package compare

import "github.com/flopcast/flopcast/bench/stats"

// MannWhitney returns the two-sided p-value of the Mann-Whitney U test that
// samples x and y come from the same distribution; see stats.MannWhitney,
// where the test lives so that the fleet's straggler checks share it.
func MannWhitney(x, y []float64) float64 { return stats.MannWhitney(x, y) }
