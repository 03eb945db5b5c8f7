package bench

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Search labels: every shape a search measures is labelled SearchLabel,
// the fastest SearchBestLabel.
const (
	SearchLabel     = "search"
	SearchBestLabel = "search best"
)

// DefaultSearchRadius is the number of steps a search goes each way from
// the centre in each dimension: 5 values per dimension, 125 shapes.
const DefaultSearchRadius = 2

// SearchConfig is a search for the GEMM shape with the highest throughput
// near a size, in the manner of Stas Bekman's mamf-finder: measure a grid
// of M, N and K around the size briefly, each result verified, and keep
// the fastest.
type SearchConfig struct {
	// Center is the shape searched around.
	Center kernels.GEMMShape
	DType  kernels.DType
	// Step is the distance between neighbouring values of a dimension (0:
	// DefaultSearchStep of the centre's largest dimension) and Radius the
	// steps taken each way (0: DefaultSearchRadius).
	Step, Radius int
	// Align makes every dimension a multiple of it (0: 16 for fp8, which
	// cuBLASLt needs, else 1).
	Align int
	// Budget bounds the search: no new shape starts after it (0: no
	// bound). The centre is always measured.
	Budget time.Duration
	// Warmup, Repeats, MinTime and MaxTime time each shape, as in Config.
	Warmup, Repeats  int
	MinTime, MaxTime time.Duration
	// Seed is the base seed; shape i uses Seed+i.
	Seed uint64
	// Progress, when set, is called before each shape.
	Progress func(done, total int, what string)
	// Done, when set, is called with each measurement as soon as it is
	// finished (to write it at once); the fastest is relabelled at the end.
	Done func(result.Measurement)
}

// SearchResult is what a search found.
type SearchResult struct {
	// Measurements holds every shape measured, in the order measured
	// (nearest the centre first); the best is labelled SearchBestLabel.
	Measurements []result.Measurement
	// Best is the index of the fastest verified measurement; -1 when none
	// passed.
	Best int
	// Planned is the grid's size; len(Measurements) of them ran.
	Planned int
}

// DefaultSearchStep is the step for a centre dimension n: the largest
// power of two at most n/32 (256 for 8192), at least 1.
func DefaultSearchStep(n int) int {
	if n < 64 {
		return 1
	}
	return 1 << (bits.Len(uint(n/32)) - 1)
}

// SearchGrid returns the shapes within radius steps of center in each
// dimension, every dimension a positive multiple of align, without
// duplicates, nearest first: by the number of steps from the centre, then
// M, N and K offsets in ascending order.
func SearchGrid(center kernels.GEMMShape, step, radius, align int) []kernels.GEMMShape {
	step, radius, align = max(step, 1), max(radius, 0), max(align, 1)
	values := func(c int) []int {
		var out []int
		seen := map[int]bool{}
		for d := -radius; d <= radius; d++ {
			v := (c + d*step + align/2) / align * align
			if v < align || v > kernels.MaxDim || seen[v] {
				continue
			}
			seen[v] = true
			out = append(out, v)
		}
		return out
	}
	type cand struct {
		s    kernels.GEMMShape
		dist int
	}
	var cs []cand
	for _, m := range values(center.M) {
		for _, n := range values(center.N) {
			for _, k := range values(center.K) {
				dist := abs(m-center.M) + abs(n-center.N) + abs(k-center.K)
				cs = append(cs, cand{kernels.GEMMShape{M: m, N: n, K: k}, dist})
			}
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	out := make([]kernels.GEMMShape, len(cs))
	for i, c := range cs {
		out[i] = c.s
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Search measures the grid around cfg.Center on b, nearest shapes first,
// until the grid is done or the budget is spent, and marks the fastest
// verified shape. When ctx is cancelled it returns what was measured with
// ctx's error.
func Search(ctx context.Context, b backend.Backend, cfg SearchConfig) (SearchResult, error) {
	res := SearchResult{Best: -1}
	if err := cfg.Center.Validate(); err != nil {
		return res, err
	}
	if cfg.Repeats < 1 {
		return res, fmt.Errorf("repeats %d must be >= 1", cfg.Repeats)
	}
	if cfg.MaxTime < cfg.MinTime {
		return res, errors.New("max-time must be >= min-time")
	}
	step := cfg.Step
	if step <= 0 {
		step = DefaultSearchStep(max(cfg.Center.M, cfg.Center.N, cfg.Center.K))
	}
	radius := cfg.Radius
	if radius <= 0 {
		radius = DefaultSearchRadius
	}
	align := cfg.Align
	if align <= 0 {
		align = 1
		if cfg.DType == kernels.FP8E4M3 {
			align = 16
		}
	}
	grid := SearchGrid(cfg.Center, step, radius, align)
	res.Planned = len(grid)
	run := Config{Warmup: cfg.Warmup, MinRepeats: cfg.Repeats, MinTime: cfg.MinTime, MaxTime: cfg.MaxTime}
	dev := b.Device()
	start := time.Now()
	stopped := false
	for i, s := range grid {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if i > 0 && cfg.Budget > 0 && time.Since(start) >= cfg.Budget {
			stopped = true
			break
		}
		if cfg.Progress != nil {
			cfg.Progress(i, len(grid), fmt.Sprintf("search %s %s", cfg.DType, s))
		}
		m, err := measure(ctx, b, run, Problem{Label: SearchLabel, Shape: s}, cfg.DType, cfg.Seed+uint64(i))
		if err != nil {
			return res, err
		}
		m.Device = dev.ID
		if m.Status == result.StatusOK {
			m.PeakFLOPPerSecond = dev.PeakFLOPPerSecond[cfg.DType.String()]
			if res.Best < 0 || m.FLOPPerSecond > res.Measurements[res.Best].FLOPPerSecond {
				res.Best = len(res.Measurements)
			}
		}
		res.Measurements = append(res.Measurements, m)
		if cfg.Done != nil {
			cfg.Done(m)
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(len(grid), len(grid), "")
	}
	if res.Best < 0 {
		return res, nil
	}
	best := &res.Measurements[res.Best]
	best.Label = SearchBestLabel
	note := fmt.Sprintf("fastest of %d verified shapes (%d of %d measured, step %d, radius %d, in %.0f s",
		verified(res.Measurements), len(res.Measurements), res.Planned, step, radius, time.Since(start).Seconds())
	if stopped {
		note += fmt.Sprintf(", stopped by the %v budget", cfg.Budget)
	}
	note += ")"
	if c := res.Measurements[0]; c.Shape == cfg.Center && c.Status == result.StatusOK && best.Shape != cfg.Center {
		note += fmt.Sprintf("; %.1f%% above the centre %s", 100*(best.FLOPPerSecond/c.FLOPPerSecond-1), cfg.Center)
	}
	best.Notes = append(best.Notes, note)
	return res, nil
}

func verified(ms []result.Measurement) int {
	n := 0
	for _, m := range ms {
		if m.Status == result.StatusOK {
			n++
		}
	}
	return n
}
