package gpu

import (
	"testing"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/kernels"
)

func TestLookupPeak(t *testing.T) {
	cases := []struct {
		name    string
		cc      int
		catalog string
		bf16    float64
		bw      float64
	}{
		{"NVIDIA H100 80GB HBM3", 90, "h100-sxm", 989.4, 3.35},
		{"NVIDIA H100 PCIe", 90, "h100-pcie", 756, 2.0},
		{"NVIDIA H100 NVL", 90, "h100-nvl", 835.5, 3.9},
		{"NVIDIA H200", 90, "h200", 989.4, 4.8},
		{"NVIDIA H200 NVL", 90, "h200-nvl", 836, 4.8},
		{"NVIDIA GH200 480GB", 90, "gh200", 989.4, 4.0},
		{"NVIDIA A100-SXM4-80GB", 80, "a100-80gb", 312, 2.039},
		{"NVIDIA A100-SXM4-40GB", 80, "a100-40gb", 312, 1.555},
		{"NVIDIA A100-PCIE-40GB", 80, "a100-pcie-40gb", 312, 1.555},
		{"NVIDIA A100 80GB PCIe", 80, "a100-pcie-80gb", 312, 1.935},
		{"NVIDIA L4", 89, "l4", 121, 0.30},
		{"NVIDIA L40S", 89, "l40s", 362, 0.864},
		{"NVIDIA B200", 100, "b200", 2250, 8.0},
		{"Tesla V100-SXM2-16GB", 70, "v100-sxm2", 0, 0.90},
	}
	cat := catalog.Default()
	for _, c := range cases {
		p, ok := LookupPeak(c.name, c.cc)
		want, err := cat.GPU(c.catalog)
		if err != nil {
			t.Fatalf("catalog has no %s: %v", c.catalog, err)
		}
		if !ok || p.Model != want.Display || p.TFLOPS[kernels.BF16] != c.bf16 || p.MemoryTBps != c.bw {
			t.Errorf("LookupPeak(%q, %d) = %q bf16 %v bw %v, %v; want %q %v %v", c.name, c.cc, p.Model, p.TFLOPS[kernels.BF16], p.MemoryTBps, ok, want.Display, c.bf16, c.bw)
		}
		// One table: every figure is the catalog's.
		for d, v := range p.TFLOPS {
			if want.PeakTFLOPS[d.String()] != v {
				t.Errorf("%s %s: %v, catalog %v", c.name, d, v, want.PeakTFLOPS[d.String()])
			}
		}
	}
	// The compute capability must agree, and names must match as words.
	for _, c := range []struct {
		name string
		cc   int
	}{{"NVIDIA H100 80GB HBM3", 89}, {"NVIDIA GeForce RTX 4090", 89}, {"", 90}, {"NVIDIA L40", 89}, {"NVIDIA A40", 86}} {
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
	if v100, _ := LookupPeak("Tesla V100-SXM2-16GB", 70); v100.TFLOPS[kernels.FP16] != 125 {
		t.Errorf("V100 fp16 = %v", v100.TFLOPS[kernels.FP16])
	}
}

func TestMatchLen(t *testing.T) {
	cases := []struct {
		name     string
		patterns []string
		want     int
	}{
		{"NVIDIA L4", []string{"L4"}, 2},
		{"NVIDIA L40S", []string{"L4"}, 0},
		{"NVIDIA GH200 480GB", []string{"H200"}, 0},
		{"NVIDIA GH200 480GB", []string{"GH200", "H200"}, 5},
		{"NVIDIA A100-SXM4-80GB", []string{"A100 SXM4 80GB", "A100"}, 14},
		{"NVIDIA H200 NVL", []string{"H200", "H200 NVL"}, 8},
	}
	for _, c := range cases {
		if got := matchLen(c.name, c.patterns); got != c.want {
			t.Errorf("matchLen(%q, %q) = %d, want %d", c.name, c.patterns, got, c.want)
		}
	}
}
