package gpu

import (
	"strings"
	"sync"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/kernels"
)

// Peak is a GPU model's dense datasheet throughput per dtype and its
// memory bandwidth, with where the figures come from. It is read from the
// embedded catalog (bench/catalog), the one table of datasheet figures.
type Peak struct {
	Model string
	// CC is the compute capability, major*10+minor.
	CC int
	// TFLOPS per dtype, dense (no 2:4 sparsity); fp64 is the FP64 tensor
	// figure where the GPU has one (cuBLAS runs DGEMM on it).
	TFLOPS map[kernels.DType]float64
	// MemoryTBps is the memory bandwidth in decimal TB/s.
	MemoryTBps float64
	// Source cites the figures.
	Source string
}

// archCC is the compute capability of each catalog GPU (by catalog
// name): not a figure of the datasheet table, but what keeps a device
// whose name merely resembles a catalog entry from taking its peaks.
// Entries missing here match by name alone.
var archCC = map[string]int{
	"v100-sxm2": 70, "a10g": 86, "l4": 89, "l40s": 89,
	"a100-40gb": 80, "a100-80gb": 80, "a100-pcie-40gb": 80, "a100-pcie-80gb": 80,
	"h100-sxm": 90, "h100-pcie": 90, "h100-nvl": 90, "h800": 90, "h200": 90, "h200-nvl": 90, "gh200": 90,
	"b200": 100, "gb200": 100, "b300": 103, "gb300": 103,
}

var (
	catalogOnce sync.Once
	catalogGPUs *catalog.Catalog
)

func gpuCatalog() *catalog.Catalog {
	catalogOnce.Do(func() { catalogGPUs = catalog.Default() })
	return catalogGPUs
}

// matchLen returns the length of the longest of the patterns that occurs
// in name as whole words (case-insensitive; "-" and spaces alike), 0 when
// none does: "L4" matches "NVIDIA L4" but not "NVIDIA L40S".
func matchLen(name string, patterns []string) int {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", " ")) }
	n := norm(name)
	best := 0
	for _, p := range patterns {
		p = norm(p)
		if p == "" {
			continue
		}
		for from := 0; ; {
			i := strings.Index(n[from:], p)
			if i < 0 {
				break
			}
			i += from
			end := i + len(p)
			if (i == 0 || !isWordByte(n[i-1])) && (end == len(n) || !isWordByte(n[end])) {
				best = max(best, len(p))
				break
			}
			from = i + 1
		}
	}
	return best
}

func isWordByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// LookupPeak returns the catalog's datasheet entry for a device name (as
// the driver reports it, e.g. "NVIDIA H100 80GB HBM3") and compute
// capability (major*10+minor): the entry whose match strings occur in the
// name as whole words, the longest match winning, whose architecture
// agrees. An unknown GPU returns false: it still runs, without a peak.
func LookupPeak(name string, cc int) (Peak, bool) {
	c := gpuCatalog()
	var best catalog.GPU
	bestLen := 0
	for _, g := range c.GPUs {
		if want, ok := archCC[g.Name]; ok && want != cc {
			continue
		}
		if n := matchLen(name, g.Match); n > bestLen {
			best, bestLen = g, n
		}
	}
	if bestLen == 0 {
		return Peak{}, false
	}
	p := Peak{Model: best.Display, CC: cc, MemoryTBps: best.MemoryTBps, TFLOPS: map[kernels.DType]float64{}}
	if p.Model == "" {
		p.Model = best.Name
	}
	for _, d := range []kernels.DType{kernels.FP64, kernels.FP32, kernels.TF32, kernels.BF16, kernels.FP16, kernels.FP8E4M3} {
		if v := best.PeakTFLOPS[d.String()]; v > 0 {
			p.TFLOPS[d] = v
		}
	}
	src := "datasheet, dense (catalog " + c.Date + ": " + strings.Join(best.Sources, ", ")
	if best.Estimate {
		src += ", estimate"
	}
	p.Source = src + ")"
	return p, true
}

// FLOPPerSecond returns the peak per dtype name in FLOP/s, for
// result.Device.
func (p Peak) FLOPPerSecond() map[string]float64 {
	out := map[string]float64{}
	for d, v := range p.TFLOPS {
		out[d.String()] = v * 1e12
	}
	return out
}
