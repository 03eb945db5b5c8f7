package gpu

import (
	"testing"

	"github.com/flopcast/flopcast/kernels"
)

func TestLookupPeak(t *testing.T) {
	cases := []struct {
		name  string
		cc    int
		model string
		bf16  float64
		bw    float64
	}{
		{"NVIDIA H100 80GB HBM3", 90, "H100 SXM5", 989.4, 3.35},
		{"NVIDIA H100 PCIe", 90, "H100 PCIe", 756, 2.0},
		{"NVIDIA H100 NVL", 90, "H100 NVL", 835.5, 3.9},
		{"NVIDIA H200", 90, "H200 SXM", 989.4, 4.8},
		{"NVIDIA H200 NVL", 90, "H200 NVL", 836, 4.8},
		{"NVIDIA GH200 480GB", 90, "GH200 (GPU part, 96 GB HBM3)", 989.4, 4.0},
		{"NVIDIA A100-SXM4-80GB", 80, "A100 SXM4 80 GB", 312, 2.039},
		{"NVIDIA A100-SXM4-40GB", 80, "A100 SXM4 40 GB", 312, 1.555},
		{"NVIDIA A100-PCIE-40GB", 80, "A100 PCIe 40 GB", 312, 1.555},
		{"NVIDIA A100 80GB PCIe", 80, "A100 PCIe 80 GB", 312, 1.935},
		{"NVIDIA L4", 89, "L4", 121, 0.30},
		{"NVIDIA L40S", 89, "L40S", 362, 0.864},
		{"NVIDIA B200", 100, "B200", 2250, 8.0},
		{"Tesla V100-SXM2-16GB", 70, "V100 SXM2", 0, 0.90},
	}
	for _, c := range cases {
		p, ok := LookupPeak(c.name, c.cc)
		if !ok || p.Model != c.model || p.TFLOPS[kernels.BF16] != c.bf16 || p.MemoryTBps != c.bw {
			t.Errorf("LookupPeak(%q, %d) = %q bf16 %v bw %v, %v; want %q %v %v", c.name, c.cc, p.Model, p.TFLOPS[kernels.BF16], p.MemoryTBps, ok, c.model, c.bf16, c.bw)
		}
	}
	// The compute capability must agree: a name alone does not match.
	for _, c := range []struct {
		name string
		cc   int
	}{{"NVIDIA H100 80GB HBM3", 89}, {"NVIDIA GeForce RTX 4090", 89}, {"", 90}} {
		if p, ok := LookupPeak(c.name, c.cc); ok {
			t.Errorf("LookupPeak(%q, %d) matched %q", c.name, c.cc, p.Model)
		}
	}
	h100, _ := LookupPeak("NVIDIA H100 80GB HBM3", 90)
	f := h100.FLOPPerSecond()
	if f["fp8"] != 1978.9e12 || f["tf32"] != 494.7e12 || f["fp64"] != 67e12 || f["fp32"] != 67e12 {
		t.Errorf("H100 FLOP/s %v", f)
	}
	if h100.Source == "" {
		t.Error("no source")
	}
	// The L4 pattern must not match names merely containing "L4".
	if p, ok := LookupPeak("NVIDIA L40S", 89); !ok || p.Model != "L40S" {
		t.Errorf("L40S matched %q", p.Model)
	}
	if v100, _ := LookupPeak("Tesla V100-SXM2-16GB", 70); v100.TFLOPS[kernels.FP16] != 125 {
		t.Errorf("V100 fp16 = %v", v100.TFLOPS[kernels.FP16])
	}
}
