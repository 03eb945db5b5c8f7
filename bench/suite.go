package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/flopcast/flopcast/kernels"
)

// Suite is a named set of problems, dtypes and timing settings.
type Suite struct {
	Name     string
	Problems []Problem
	DTypes   []kernels.DType
	Warmup   int
	Repeats  int
	MinTime  time.Duration
	MaxTime  time.Duration
	// WarmupTime is the least back-to-back warm-up under load before each
	// GPU measurement (Config.WarmupTime); the CPU suites have none.
	WarmupTime time.Duration
	// Bandwidth adds the memory-bandwidth measurements (GPU suites) after
	// the GEMMs, on backends that have them (see BandwidthMeter).
	Bandwidth bool
}

// Suites lists the suites by name.
var Suites = []string{"quick", "standard", "full"}

// cpuLayer is the transformer layer whose GEMM shapes the CPU suites
// measure: a 1B-parameter-class Llama-style layer (hidden 2048, 16 heads,
// 8 KV heads, SwiGLU width 5632) at 2048 tokens per batch.
var cpuLayer = kernels.Layer{Hidden: 2048, Heads: 16, KVHeads: 8, FFN: 5632, Gated: true, Tokens: 2048}

// LookupSuite returns the suite with the given name.
func LookupSuite(name string) (Suite, error) {
	squares := func(ns ...int) []Problem {
		var out []Problem
		for _, n := range ns {
			out = append(out, Problem{Label: "square", Shape: kernels.Square(n)})
		}
		return out
	}
	layer := func(l kernels.Layer) []Problem {
		gs, err := l.GEMMs()
		if err != nil {
			panic(err) // the layers above are constants
		}
		var out []Problem
		for _, g := range gs {
			out = append(out, Problem{Label: g.Name, Shape: g.Shape})
		}
		return out
	}
	cpu := []kernels.DType{kernels.FP32, kernels.FP64}
	switch strings.ToLower(name) {
	case "quick":
		return Suite{Name: "quick", Problems: squares(256, 512, 1024), DTypes: cpu,
			Warmup: 2, Repeats: 5, MinTime: 100 * time.Millisecond, MaxTime: 2 * time.Second}, nil
	case "standard":
		small := cpuLayer
		small.Tokens = 512
		return Suite{Name: "standard", Problems: append(squares(512, 1024, 2048), layer(small)...), DTypes: cpu,
			Warmup: 2, Repeats: 10, MinTime: 500 * time.Millisecond, MaxTime: 4 * time.Second}, nil
	case "full":
		return Suite{Name: "full", Problems: append(squares(256, 512, 1024, 2048, 4096), layer(cpuLayer)...), DTypes: cpu,
			Warmup: 3, Repeats: 20, MinTime: time.Second, MaxTime: 20 * time.Second}, nil
	}
	return Suite{}, fmt.Errorf("unknown suite %q (known: %s)", name, strings.Join(Suites, ", "))
}

// gpuDTypes are the dtypes the GPU suites measure: the training types.
// fp64 runs when asked for with --dtype.
var gpuDTypes = []kernels.DType{kernels.FP32, kernels.TF32, kernels.BF16, kernels.FP16, kernels.FP8E4M3}

// LookupSuiteFor returns the suite with the given name for a device kind:
// "gpu" gets the GPU suites, anything else the CPU suites of LookupSuite.
func LookupSuiteFor(name, kind string) (Suite, error) {
	if kind != "gpu" {
		return LookupSuite(name)
	}
	squares := func(ns ...int) []Problem {
		var out []Problem
		for _, n := range ns {
			out = append(out, Problem{Label: "square", Shape: kernels.Square(n)})
		}
		return out
	}
	// layers returns the forward GEMMs of one layer of each preset at its
	// training sequence length times its default micro-batch.
	layers := func(names ...string) []Problem {
		var out []Problem
		for _, name := range names {
			m, err := kernels.LookupModel(name)
			if err != nil {
				panic(err) // the names above are presets
			}
			gs, err := m.Layer(m.Seq * max(m.Batch, 1)).GEMMs()
			if err != nil {
				panic(err)
			}
			for _, g := range gs {
				out = append(out, Problem{Label: name + " " + g.Name, Shape: g.Shape})
			}
		}
		return out
	}
	// Sustained timing (issue 11): at least 1 s of back-to-back warm-up
	// (longer while the SM clock still falls), then a timed window of at
	// least 1 s, so clocks and power are those of training, not a burst.
	switch strings.ToLower(name) {
	case "quick":
		return Suite{Name: "quick", Problems: squares(1024, 4096, 8192), DTypes: gpuDTypes, Bandwidth: true,
			Warmup: 5, Repeats: 50, MinTime: time.Second, MaxTime: 3 * time.Second, WarmupTime: DefaultGPUWarmupTime}, nil
	case "standard":
		return Suite{Name: "standard", Problems: append(squares(1024, 2048, 4096, 8192, 16384), layers("llama3-8b")...),
			DTypes: gpuDTypes, Bandwidth: true,
			Warmup: 10, Repeats: 50, MinTime: time.Second, MaxTime: 4 * time.Second, WarmupTime: DefaultGPUWarmupTime}, nil
	case "full":
		return Suite{Name: "full", Problems: append(squares(1024, 2048, 4096, 6144, 8192, 12288, 16384), layers("llama3-8b", "llama3-70b")...),
			DTypes: gpuDTypes, Bandwidth: true,
			Warmup: 20, Repeats: 100, MinTime: time.Second, MaxTime: 10 * time.Second, WarmupTime: DefaultGPUWarmupTime}, nil
	}
	return Suite{}, fmt.Errorf("unknown suite %q (known: %s)", name, strings.Join(Suites, ", "))
}
