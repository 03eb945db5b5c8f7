package gpu

import (
	"strings"

	"github.com/flopcast/flopcast/kernels"
)

// Peak is a GPU model's dense datasheet throughput per dtype and its
// memory bandwidth, with where the figures come from.
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
	// match: every substring must be in the upper-cased device name, none
	// of notMatch.
	match, notMatch []string
}

// catalogNote is prefixed to every source: the figures are copied from
// the shared hardware catalog, which cites the vendor pages.
const catalogNote = "datasheet, dense (hardware-catalog.md 2026-11-26: "

func tf(fp64, fp32, tf32, bf16, fp16, fp8 float64) map[kernels.DType]float64 {
	m := map[kernels.DType]float64{}
	for d, v := range map[kernels.DType]float64{kernels.FP64: fp64, kernels.FP32: fp32, kernels.TF32: tf32, kernels.BF16: bf16, kernels.FP16: fp16, kernels.FP8E4M3: fp8} {
		if v > 0 {
			m[d] = v
		}
	}
	return m
}

// peaks is checked in order; the first entry whose compute capability and
// name match wins, so specific names (H100 NVL, GH200) come before general
// ones (H100, H200). Figures marked ⚠ in the catalog are left out.
var peaks = []Peak{
	{Model: "V100 SXM2", CC: 70, TFLOPS: tf(7.8, 15.7, 0, 0, 125, 0), MemoryTBps: 0.90, Source: "P3, HFCAT", match: []string{"V100"}},
	{Model: "A10G", CC: 86, TFLOPS: tf(0, 35, 35, 70, 70, 0), MemoryTBps: 0.60, Source: "BASETEN, estimate", match: []string{"A10G"}},
	{Model: "L4", CC: 89, TFLOPS: tf(0.49, 30.3, 60, 121, 121, 242.5), MemoryTBps: 0.30, Source: "NV-L4, TT", match: []string{" L4 "}},
	{Model: "L40S", CC: 89, TFLOPS: tf(0, 91.6, 183, 362, 362, 733), MemoryTBps: 0.864, Source: "STAS, NV-L40S, TT", match: []string{"L40S"}},
	{Model: "A100 PCIe 80 GB", CC: 80, TFLOPS: tf(19.5, 19.5, 156, 312, 312, 0), MemoryTBps: 1.935, Source: "STAS, NV-A100", match: []string{"A100", "PCIE", "80GB"}},
	{Model: "A100 PCIe 40 GB", CC: 80, TFLOPS: tf(19.5, 19.5, 156, 312, 312, 0), MemoryTBps: 1.555, Source: "STAS, NV-A100", match: []string{"A100", "PCIE"}},
	{Model: "A100 SXM4 80 GB", CC: 80, TFLOPS: tf(19.5, 19.5, 156, 312, 312, 0), MemoryTBps: 2.039, Source: "NV-A100, STAS", match: []string{"A100", "80GB"}},
	{Model: "A100 SXM4 40 GB", CC: 80, TFLOPS: tf(19.5, 19.5, 156, 312, 312, 0), MemoryTBps: 1.555, Source: "STAS, NV-A100, UPB", match: []string{"A100"}},
	{Model: "GH200 (GPU part, 144 GB HBM3e)", CC: 90, TFLOPS: tf(67, 67, 494.7, 989.4, 989.4, 1978.9), MemoryTBps: 4.8, Source: "NV-GH200, STAS", match: []string{"GH200", "144"}},
	{Model: "GH200 (GPU part, 96 GB HBM3)", CC: 90, TFLOPS: tf(67, 67, 494.7, 989.4, 989.4, 1978.9), MemoryTBps: 4.0, Source: "NV-GH200, STAS", match: []string{"GH200"}},
	{Model: "H100 NVL", CC: 90, TFLOPS: tf(60, 60, 417.5, 835.5, 835.5, 1670.5), MemoryTBps: 3.9, Source: "NV-H100, NV-H100NVL, TT", match: []string{"H100", "NVL"}},
	{Model: "H100 PCIe", CC: 90, TFLOPS: tf(51, 51, 378, 756, 756, 1513), MemoryTBps: 2.0, Source: "HPCT, STAS", match: []string{"H100", "PCIE"}},
	{Model: "H100 SXM5", CC: 90, TFLOPS: tf(67, 67, 494.7, 989.4, 989.4, 1978.9), MemoryTBps: 3.35, Source: "NV-H100, GK, STAS", match: []string{"H100"}},
	{Model: "H800 SXM5", CC: 90, TFLOPS: tf(0, 67, 494.7, 989.4, 989.4, 1978.9), MemoryTBps: 3.35, Source: "H800, estimate", match: []string{"H800"}},
	{Model: "H200 NVL", CC: 90, TFLOPS: tf(0, 0, 0, 836, 836, 0), MemoryTBps: 4.8, Source: "TT, ITKB, estimate", match: []string{"H200", "NVL"}},
	{Model: "H200 SXM", CC: 90, TFLOPS: tf(67, 67, 494.7, 989.4, 989.4, 1978.9), MemoryTBps: 4.8, Source: "NV-H200, STAS", match: []string{"H200"}},
	{Model: "GB200 (per GPU)", CC: 100, TFLOPS: tf(45, 0, 1250, 2500, 2500, 5000), MemoryTBps: 8.0, Source: "NV-GB200, STAS, GK", match: []string{"GB200"}},
	{Model: "B200", CC: 100, TFLOPS: tf(37, 0, 1125, 2250, 2250, 4500), MemoryTBps: 8.0, Source: "NV-HGX, STAS, GK", match: []string{"B200"}},
	{Model: "GB300 (per GPU)", CC: 103, TFLOPS: tf(0, 80, 1250, 2500, 2500, 5000), MemoryTBps: 8.0, Source: "NV-GB300, STAS, GK", match: []string{"GB300"}},
	{Model: "B300", CC: 103, TFLOPS: tf(1.25, 75, 1125, 2250, 2250, 4500), MemoryTBps: 8.0, Source: "NV-HGX, GK, STAS", match: []string{"B300"}},
}

// LookupPeak returns the datasheet entry for a device name (as the driver
// reports it, e.g. "NVIDIA H100 80GB HBM3") and compute capability
// (major*10+minor). An unknown GPU returns false: it still runs, without
// a peak.
func LookupPeak(name string, cc int) (Peak, bool) {
	n := " " + strings.ToUpper(strings.ReplaceAll(name, "-", " ")) + " "
	n = strings.ReplaceAll(n, "80 GB", "80GB")
	for _, p := range peaks {
		if p.CC != cc {
			continue
		}
		ok := true
		for _, s := range p.match {
			if !strings.Contains(n, s) {
				ok = false
				break
			}
		}
		if ok {
			p.Source = catalogNote + p.Source + ")"
			return p, true
		}
	}
	return Peak{}, false
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
