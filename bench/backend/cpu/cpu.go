// Package cpu implements backend.Backend on the host CPU with gorgonia's
// tensor package over the fastest BLAS found at run time.
package cpu

import (
	"fmt"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
	"github.com/flopcast/flopcast/kernels"
	kcpu "github.com/flopcast/flopcast/kernels/cpu"
)

// Backend is the CPU.
type Backend struct {
	sys  sysinfo.System
	cpu  sysinfo.CPU
	blas kcpu.BLASInfo
}

// New selects the BLAS (OpenBLAS when it loads, else gonum) with the given
// thread count (0: one per logical CPU) and describes the CPU.
func New(threads int) *Backend {
	return &Backend{sys: sysinfo.Local, cpu: sysinfo.Local.CPU(), blas: kcpu.UseFastestBLAS(threads)}
}

// BLAS describes the BLAS library in use.
func (b *Backend) BLAS() kcpu.BLASInfo { return b.blas }

// Device implements backend.Backend.
func (b *Backend) Device() result.Device {
	peaks := map[string]float64{}
	var basis string
	for _, d := range []kernels.DType{kernels.FP32, kernels.FP64} {
		if p, how := b.cpu.Peak(d); p > 0 {
			peaks[d.String()] = p
			if d == kernels.FP32 {
				basis = "estimate: " + how + "; fp64 half"
			}
		} else if basis == "" {
			basis = how
		}
	}
	if len(peaks) == 0 {
		peaks = nil
	}
	return result.Device{
		ID: "cpu", Kind: "cpu", Name: b.cpu.Model, Cores: b.cpu.Physical,
		SIMD: b.cpu.SIMD(), ClockMHz: b.cpu.ClockMHz, ClockSource: b.cpu.ClockSource,
		CacheBytes: b.cpu.CacheBytes, MemoryBytes: b.sys.MemoryTotal(),
		PeakFLOPPerSecond: peaks, PeakBasis: basis,
		Library: &result.Library{
			Name: b.blas.Name, Path: b.blas.Path, Version: b.blas.Version, Config: b.blas.Config,
			CoreName: b.blas.CoreName, Threads: b.blas.Threads, Fallback: b.blas.Fallback,
		},
	}
}

// Supports implements backend.Backend: fp32 and fp64.
func (b *Backend) Supports(d kernels.DType) bool { return d == kernels.FP32 || d == kernels.FP64 }

// NewGEMM implements backend.Backend.
func (b *Backend) NewGEMM(shape kernels.GEMMShape, d kernels.DType, sets int, seed uint64) (backend.GEMM, error) {
	if !b.Supports(d) {
		return nil, fmt.Errorf("cpu: dtype %s is not supported (fp32, fp64 are)", d)
	}
	g, err := kcpu.NewGEMM(shape, d, sets, seed)
	if err != nil {
		return nil, err
	}
	return gemm{g}, nil
}

// CacheBytes implements backend.Backend.
func (b *Backend) CacheBytes() int64 { return b.cpu.CacheBytes }

// MemoryAvailable implements backend.Backend.
func (b *Backend) MemoryAvailable() int64 { return b.sys.MemoryAvailable() }

// State implements backend.Backend.
func (b *Backend) State() result.State { return b.sys.CPUState() }

// Close implements backend.Backend.
func (b *Backend) Close() error { return nil }

type gemm struct{ *kcpu.GEMM }

func (g gemm) Run(s int) (float64, error) {
	start := time.Now()
	err := g.GEMM.Run(s)
	return time.Since(start).Seconds(), err
}
