package main

import (
	"context"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// The search's centre when --sizes is not given, and how each shape is
// timed unless --warmup, --repeats, --min-time or --max-time say
// otherwise: briefly, as the search measures many shapes.
const (
	searchCenterGPU = 8192
	searchCenterCPU = 512
	searchWarmup    = 2
	searchRepeats   = 10
	searchMaxTime   = 250 * time.Millisecond
)

// planSearch checks the --search flags.
func (o *runOptions) planSearch() error {
	if !o.search {
		for _, f := range []string{"search-step", "search-time"} {
			if o.set[f] {
				return usageError("--%s: applies with --search only", f)
			}
		}
		return nil
	}
	if o.workload != "gemm" {
		return usageError("--search: applies to --workload gemm only")
	}
	if o.set["sizes"] {
		shapes, err := kernels.ParseShapes(o.sizes)
		if err == nil && len(shapes) != 1 {
			return usageError("--sizes %s: --search takes one size or shape to search around", o.sizes)
		}
	}
	if o.searchStep < 0 {
		return usageError("--search-step %d: must be >= 1 (0: automatic)", o.searchStep)
	}
	if o.searchTime <= 0 {
		return usageError("--search-time %v: must be > 0", o.searchTime)
	}
	return nil
}

// searchSuite sets the search's centre, dtypes and per-shape timing on
// the suite fitted to the device.
func (o *runOptions) searchSuite(s bench.Suite, gpu bool) bench.Suite {
	center := kernels.Square(searchCenterCPU)
	dtypes := []kernels.DType{kernels.FP32}
	if gpu {
		center = kernels.Square(searchCenterGPU)
		dtypes = []kernels.DType{kernels.BF16}
	}
	if o.set["sizes"] {
		center = s.Problems[0].Shape
	}
	s.Problems = []bench.Problem{{Label: bench.SearchLabel, Shape: center}}
	if !o.set["dtype"] {
		s.DTypes = dtypes
	}
	s.Bandwidth = false
	if !o.set["warmup"] {
		s.Warmup = searchWarmup
	}
	if !o.set["repeats"] {
		s.Repeats = searchRepeats
	}
	if !o.set["min-time"] {
		s.MinTime = 0
	}
	if !o.set["max-time"] {
		s.MaxTime = max(searchMaxTime, s.MinTime)
	}
	return s
}

// runSearch searches around the suite's one problem in each dtype, each
// dtype with its own --search-time budget.
func (o *runOptions) runSearch(ctx context.Context, b backend.Backend, cfg bench.Config) ([]result.Measurement, error) {
	var ms []result.Measurement
	for i, d := range cfg.DTypes {
		res, err := bench.Search(ctx, b, bench.SearchConfig{
			Center: cfg.Problems[0].Shape, DType: d, Step: o.searchStep, Budget: o.searchTime,
			Warmup: cfg.Warmup, Repeats: cfg.MinRepeats, MinTime: cfg.MinTime, MaxTime: cfg.MaxTime,
			Seed: cfg.Seed + uint64(i)<<20, Progress: cfg.Progress, Done: cfg.Done,
		})
		ms = append(ms, res.Measurements...)
		if err != nil {
			return ms, err
		}
	}
	return ms, nil
}
