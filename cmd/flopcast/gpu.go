package main

import "github.com/flopcast/flopcast/bench"

// gpuSuite swaps the CPU suite planned before the device was known for
// the GPU suite of the same name, keeping every value the user set with a
// flag. The GPU suites add the bandwidth measurements unless the user
// chose sizes or dtypes.
func gpuSuite(o *runOptions, cpu bench.Suite) bench.Suite {
	g, err := bench.LookupSuiteFor(o.suite, "gpu")
	if err != nil {
		return cpu // plan has accepted the name, so this does not happen
	}
	if o.set["sizes"] {
		g.Problems = cpu.Problems
		g.Bandwidth = false
	}
	if o.set["dtype"] {
		g.DTypes = cpu.DTypes
		g.Bandwidth = false
	}
	if o.set["repeats"] {
		g.Repeats = cpu.Repeats
	}
	if o.set["warmup"] {
		g.Warmup = cpu.Warmup
	}
	if o.set["min-time"] || o.set["max-time"] {
		g.MinTime, g.MaxTime = cpu.MinTime, cpu.MaxTime
	}
	return g
}
