package stats

import (
	"math"
	"sort"
)

// MannWhitney returns the two-sided p-value of the Mann-Whitney U test that
// samples x and y come from the same distribution (the rank test benchstat
// uses). Without ties and for small samples the p-value is exact; otherwise
// it is the normal approximation with tie and continuity corrections. It
// returns 1 when either sample is empty.
func MannWhitney(x, y []float64) float64 {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Mid-ranks, and the tie term Σ(t³ − t).
	var rankX, tieTerm float64
	ties := false
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		if t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].fromX {
				rankX += mid
			}
		}
		i = j
	}
	u := rankX - float64(n1*(n1+1))/2
	if !ties && n1*n2 <= 2500 {
		return exactP(n1, n2, u)
	}
	n := float64(n1 + n2)
	mean := float64(n1*n2) / 2
	variance := float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if variance <= 0 {
		return 1 // every value equal
	}
	z := (math.Abs(u-mean) - 0.5) / math.Sqrt(variance)
	if z < 0 {
		z = 0
	}
	return math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactP is the two-sided p-value of U = u for samples of n1 and n2 without
// ties, from the exact distribution of U counted by recurrence.
func exactP(n1, n2 int, u float64) float64 {
	maxU := n1 * n2
	// count[i][j][k]: orderings of i x's and j y's with U = k; built up
	// with count(i, j, k) = count(i−1, j, k−j) + count(i, j−1, k).
	prev := make([][]float64, n2+1) // i−1
	for j := range prev {
		prev[j] = make([]float64, maxU+1)
		prev[j][0] = 1 // i = 0: one ordering, U = 0
	}
	for i := 1; i <= n1; i++ {
		cur := make([][]float64, n2+1)
		cur[0] = make([]float64, maxU+1)
		cur[0][0] = 1
		for j := 1; j <= n2; j++ {
			cur[j] = make([]float64, maxU+1)
			for k := 0; k <= i*j; k++ {
				v := cur[j-1][k]
				if k >= j {
					v += prev[j][k-j]
				}
				cur[j][k] = v
			}
		}
		prev = cur
	}
	dist := prev[n2]
	var total, lower, upper float64
	uk := int(math.Round(u))
	for k, c := range dist {
		total += c
		if k <= uk {
			lower += c
		}
		if k >= uk {
			upper += c
		}
	}
	return math.Min(1, 2*math.Min(lower, upper)/total)
}
