// Package stats summarises timing samples: order statistics, spread and a
// noise flag.
package stats

import (
	"errors"
	"math"
	"sort"
)

// NoisyThreshold is the relative spread above which a measurement is
// flagged as noisy: the interquartile range divided by the median.
const NoisyThreshold = 0.10

// Summary describes a set of timing samples in seconds.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	P25    float64 `json:"p25"`
	P75    float64 `json:"p75"`
	Mean   float64 `json:"mean"`
	// CV is the coefficient of variation: standard deviation / mean.
	CV float64 `json:"cv"`
	// RelIQR is (p75 − p25) / median, the spread the noise flag uses
	// because, unlike CV, one slow outlier does not dominate it.
	RelIQR float64 `json:"rel_iqr"`
}

// Summarize computes the summary of samples, which need not be sorted and
// are not modified. Quantiles interpolate linearly between order statistics.
func Summarize(samples []float64) (Summary, error) {
	if len(samples) == 0 {
		return Summary{}, errors.New("stats: no samples")
	}
	s := append([]float64(nil), samples...)
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Summary{}, errors.New("stats: sample is not finite")
		}
	}
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, v := range s {
		ss += (v - mean) * (v - mean)
	}
	sd := 0.0
	if len(s) > 1 {
		sd = math.Sqrt(ss / float64(len(s)-1))
	}
	out := Summary{
		N:      len(s),
		Median: Quantile(s, 0.5),
		Min:    s[0],
		Max:    s[len(s)-1],
		P25:    Quantile(s, 0.25),
		P75:    Quantile(s, 0.75),
		Mean:   mean,
	}
	if mean > 0 {
		out.CV = sd / mean
	}
	if out.Median > 0 {
		out.RelIQR = (out.P75 - out.P25) / out.Median
	}
	return out, nil
}

// Noisy reports whether the spread exceeds NoisyThreshold.
func (s Summary) Noisy() bool { return s.RelIQR > NoisyThreshold }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted, interpolating
// linearly between the two nearest order statistics.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return sorted[lo]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
