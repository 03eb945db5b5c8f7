package sysinfo

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/kernels"
)

func TestCPUFromFakeAWSMachine(t *testing.T) {
	s := System{Root: "testdata/aws"}
	c := s.CPU()
	if c.Model != "Intel(R) Xeon(R) Platinum 8488C" || c.Logical != 4 || c.Physical != 2 {
		t.Fatalf("cpu = %q logical %d physical %d", c.Model, c.Logical, c.Physical)
	}
	wantSIMD := []string{"SSE4.2", "AVX", "FMA", "AVX2", "AVX-512F", "AVX-512-BF16", "AMX", "AMX-BF16"}
	if !reflect.DeepEqual(c.SIMD(), wantSIMD) {
		t.Errorf("SIMD = %v, want %v", c.SIMD(), wantSIMD)
	}
	if c.ClockMHz != 3800 || !strings.Contains(c.ClockSource, "cpuinfo_max_freq") {
		t.Errorf("clock %v from %q", c.ClockMHz, c.ClockSource)
	}
	if c.CacheBytes != 105<<20 {
		t.Errorf("LLC = %d", c.CacheBytes)
	}
	// 2 cores × 3.8 GHz × 64 FLOP/cycle (AVX-512, 2 FMA pipes) in fp32.
	if p, how := c.Peak(kernels.FP32); math.Abs(p-2*3.8e9*64) > 1 || !strings.Contains(how, "AVX-512") {
		t.Errorf("fp32 peak %v (%s)", p, how)
	}
	if p, _ := c.Peak(kernels.FP64); math.Abs(p-2*3.8e9*32) > 1 {
		t.Errorf("fp64 peak %v", p)
	}
	if p, _ := c.Peak(kernels.BF16); p != 0 {
		t.Errorf("bf16 peak on CPU should be unknown, got %v", p)
	}
}

func TestHostAndState(t *testing.T) {
	s := System{Root: "testdata/aws"}
	h := s.Host()
	if h.InstanceType != "p5.48xlarge" || h.CloudVendor != "Amazon EC2" || !h.Virtualized {
		t.Errorf("instance %q vendor %q virtualized %v", h.InstanceType, h.CloudVendor, h.Virtualized)
	}
	if h.MemoryBytes != 2<<30 || h.Kernel != "6.1.0-test" {
		t.Errorf("memory %d kernel %q", h.MemoryBytes, h.Kernel)
	}
	if got := s.MemoryAvailable(); got != 1<<30 {
		t.Errorf("available %d", got)
	}
	st := s.CPUState()
	if st.ClockMHz != 3500 || st.TempC != 61.5 || st.Load1 != 0.5 {
		t.Errorf("state %+v", st)
	}
}

func TestClockFallbacks(t *testing.T) {
	cases := []struct {
		name, cpuinfo, wantSource string
		wantMHz                   float64
	}{
		{"model name", "processor : 0\nmodel name : Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz\ncpu MHz : 2700.0\nflags : avx2 fma\n", "model name", 2300},
		{"cpu MHz", "processor : 0\nmodel name : AMD EPYC\ncpu MHz : 2445.412\nflags : avx2 fma\n", "current clock", 2445.412},
		{"nothing", "processor : 0\n", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "proc"), 0o755)
			os.WriteFile(filepath.Join(root, "proc/cpuinfo"), []byte(c.cpuinfo), 0o644)
			cpu := System{Root: root}.CPU()
			if cpu.ClockMHz != c.wantMHz || !strings.Contains(cpu.ClockSource, c.wantSource) {
				t.Errorf("clock %v from %q", cpu.ClockMHz, cpu.ClockSource)
			}
			if c.wantMHz == 0 {
				if p, _ := cpu.Peak(kernels.FP32); p != 0 {
					t.Errorf("peak %v without a clock", p)
				}
			}
		})
	}
}

func TestInstanceVendors(t *testing.T) {
	cases := []struct{ vendor, product, wantVendor, wantType string }{
		{"Amazon EC2", "g5.xlarge", "Amazon EC2", "g5.xlarge"},
		{"Google", "Google Compute Engine", "Google Compute Engine", ""},
		{"Microsoft Corporation", "Virtual Machine", "Microsoft Azure", ""},
		{"Supermicro", "SYS-821GE-TNHR", "Supermicro", ""},
		{"", "", "", ""},
	}
	for _, c := range cases {
		root := t.TempDir()
		dir := filepath.Join(root, "sys/class/dmi/id")
		os.MkdirAll(dir, 0o755)
		if c.vendor != "" {
			os.WriteFile(filepath.Join(dir, "sys_vendor"), []byte(c.vendor+"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "product_name"), []byte(c.product+"\n"), 0o644)
		}
		v, typ := System{Root: root}.Instance()
		if v != c.wantVendor || typ != c.wantType {
			t.Errorf("%q/%q: got %q %q, want %q %q", c.vendor, c.product, v, typ, c.wantVendor, c.wantType)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"32768K": 32 << 20, "1M": 1 << 20, "2G": 2 << 30, "512": 512, "x": 0} {
		if got := parseSize(in); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", in, got, want)
		}
	}
}
