// Package gpu implements backend.Backend on an NVIDIA GPU: GEMMs through
// cuBLASLt in every training dtype, CUDA-event timing, NVML state, and a
// memory-bandwidth measurement. The libraries are loaded at run time, so
// the package builds and its callers run on machines without a GPU;
// Available says why there is none.
package gpu

import (
	"errors"
	"fmt"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nvml"
	"github.com/flopcast/flopcast/cuda/nvrtc"
	"github.com/flopcast/flopcast/kernels"
)

// Workspace is the cuBLASLt workspace: at least blaslt.MinWorkspace.
const Workspace = 64 << 20

// Timeout bounds every wait on the GPU; a kernel still running after it
// is reported as an error, not waited on.
const Timeout = 60 * time.Second

// reserve is device memory left free for cuBLASLt and the driver.
const reserve = 512 << 20

// Available loads the driver and returns the number of GPUs. Without a
// driver the error says so in one line (see NoDriverReason).
func Available() (int, error) {
	if _, err := driver.Load(); err != nil {
		return 0, err
	}
	return driver.DeviceCount()
}

// NoDriverReason turns Available's error into the short reason shown to
// users, e.g. "no NVIDIA driver (libcuda.so.1 not found)".
func NoDriverReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, cuda.ErrLibraryNotFound):
		return "no NVIDIA driver (libcuda.so.1 not found)"
	case errors.Is(err, cuda.ErrNoDevice):
		return "no NVIDIA GPU (the driver found none)"
	}
	return "NVIDIA driver unusable (" + err.Error() + ")"
}

// Backend is one GPU.
type Backend struct {
	ctx         *driver.Context
	dev         driver.Device
	info        result.Device
	peak        Peak
	hasPeak     bool
	cc          int
	l2          int64
	stream      driver.Stream
	start, stop driver.Event
	lt          *blaslt.Handle
	workspace   driver.Ptr
	mon         *nvml.Monitor
	// pipe times back-to-back windows on stream with its event pool.
	pipe *pipeline[driver.Event]
	// forceAlgo is the cuBLASLt heuristic rank every GEMM uses without a
	// search (--lt-algo); -1 searches.
	forceAlgo int
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.StateSampler = (*Backend)(nil)
	_ backend.AlgoForcer   = (*Backend)(nil)
)

// Open opens GPU ordinal: its primary context, a stream, two events,
// cuBLASLt with its workspace, and NVML when present.
func Open(ordinal int) (*Backend, error) {
	n, err := Available()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda:%d: this machine has %d GPU(s) (cuda:0..cuda:%d)", ordinal, n, n-1)
	}
	lt, err := blaslt.Load()
	if err != nil {
		return nil, fmt.Errorf("cuBLASLt: %w", err)
	}
	dev, err := driver.GetDevice(ordinal)
	if err != nil {
		return nil, err
	}
	b := &Backend{dev: dev, forceAlgo: -1}
	b.info, b.cc, b.l2, err = describe(dev)
	if err != nil {
		return nil, err
	}
	b.peak, b.hasPeak = LookupPeak(b.info.Name, b.cc)
	if b.hasPeak {
		b.info.PeakFLOPPerSecond = b.peak.FLOPPerSecond()
		b.info.PeakBasis = b.peak.Source + ", " + b.peak.Model
	} else {
		b.info.PeakBasis = fmt.Sprintf("unknown GPU %q (compute capability %s): no datasheet peak", b.info.Name, b.info.ComputeCapability)
	}
	b.info.Libraries = libraries(lt)
	if b.ctx, err = dev.RetainPrimaryContext(); err != nil {
		return nil, err
	}
	err = b.ctx.Do(func() error {
		var err error
		if b.stream, err = driver.NewStream(); err != nil {
			return err
		}
		if b.start, err = driver.NewEvent(); err != nil {
			return err
		}
		if b.stop, err = driver.NewEvent(); err != nil {
			return err
		}
		b.pipe = &pipeline[driver.Event]{api: driverEvents(b.stream)}
		if b.lt, err = blaslt.NewHandle(); err != nil {
			return err
		}
		b.workspace, err = driver.Alloc(Workspace)
		return err
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	if b.info.UUID != "" {
		b.mon, _ = nvml.Open(b.info.UUID) // optional: state is then empty
	}
	if v, err := nvml.DriverVersion(); err == nil {
		b.info.Driver = v + " (" + b.info.Driver + ")"
	}
	return b, nil
}

// describe reads the device's identity and architecture.
func describe(d driver.Device) (result.Device, int, int64, error) {
	name, err := d.Name()
	if err != nil {
		return result.Device{}, 0, 0, err
	}
	uuid, _ := d.UUID()
	major, minor, err := d.ComputeCapability()
	if err != nil {
		return result.Device{}, 0, 0, err
	}
	sms, _ := d.Attribute(driver.AttrMultiprocessors)
	clock, _ := d.Attribute(driver.AttrClockRateKHz)
	l2, _ := d.Attribute(driver.AttrL2CacheBytes)
	mem, _ := d.TotalMemory()
	v, _ := driver.DriverVersion()
	return result.Device{
		ID: fmt.Sprintf("cuda:%d", d.Ordinal), Kind: "gpu", Name: name, Cores: sms,
		ClockMHz: float64(clock) / 1000, ClockSource: "driver: maximum SM clock",
		CacheBytes: int64(l2), MemoryBytes: mem, UUID: uuid,
		ComputeCapability: fmt.Sprintf("%d.%d", major, minor),
		Driver:            "CUDA " + driver.FormatVersion(v),
	}, major*10 + minor, int64(l2), nil
}

// libraries lists the NVIDIA libraries loaded, for the results file.
func libraries(lt blaslt.Library) []result.Library {
	var out []result.Library
	if l, err := driver.Load(); err == nil {
		v, _ := driver.DriverVersion()
		out = append(out, result.Library{Name: "cuda driver", Path: l.Path, Version: driver.FormatVersion(v)})
	}
	out = append(out, result.Library{Name: "cublasLt", Path: lt.Path, Version: lt.VersionString()})
	if l, err := nvrtc.Load(); err == nil {
		out = append(out, result.Library{Name: "nvrtc", Path: l.Path, Version: l.VersionString()})
	}
	return out
}

// Device implements backend.Backend.
func (b *Backend) Device() result.Device { return b.info }

// Supports implements backend.Backend: fp32 and fp64 everywhere, fp16
// from compute capability 7.0, bf16 and tf32 from 8.0, fp8 from 8.9.
func (b *Backend) Supports(d kernels.DType) bool {
	if _, err := blaslt.TypesFor(d); err != nil {
		return false
	}
	return b.cc >= blaslt.MinComputeCapability(d)
}

// CacheBytes implements backend.Backend: the L2 size.
func (b *Backend) CacheBytes() int64 { return b.l2 }

// MemoryAvailable implements backend.Backend: free device memory less a
// reserve for the libraries.
func (b *Backend) MemoryAvailable() int64 {
	var free int64
	_ = b.ctx.Do(func() error {
		var err error
		free, _, err = driver.MemInfo()
		return err
	})
	return max(0, free-reserve)
}

// State implements backend.Backend with NVML's view of the GPU.
func (b *Backend) State() result.State {
	s := result.State{Time: time.Now().UTC()}
	if b.mon == nil {
		return s
	}
	n := b.mon.State()
	s.ClockMHz, s.TempC, s.PowerW = n.SMClockMHz, n.TempC, n.PowerW
	s.MemClockMHz = n.MemClockMHz
	s.Throttled, s.PowerCapped, s.Reasons = n.Throttled, n.PowerCapped, n.Reasons
	return s
}

// Close implements backend.Backend.
func (b *Backend) Close() error {
	if b.ctx == nil {
		return nil
	}
	err := b.ctx.Do(func() error {
		b.lt.Destroy()
		driver.Free(b.workspace)
		if b.pipe != nil {
			b.pipe.close()
		}
		b.start.Destroy()
		b.stop.Destroy()
		return b.stream.Destroy()
	})
	b.ctx.Release()
	b.ctx = nil
	return err
}

// ForceAlgo implements backend.AlgoForcer: later GEMMs use cuBLASLt's
// heuristic candidate rank (0: its first choice) with no search; -1
// restores the search.
func (b *Backend) ForceAlgo(rank int) error {
	if rank < -1 {
		return fmt.Errorf("algorithm rank %d must be >= 0", rank)
	}
	b.forceAlgo = rank
	return nil
}

// SampleWindow implements backend.StateSampler with NVML, read every
// nvml.DefaultInterval on a goroutine of its own. Without NVML, stop
// returns nil and says why.
func (b *Backend) SampleWindow() func() (*result.Window, error) {
	if b.mon == nil {
		return func() (*result.Window, error) {
			return nil, errors.New("NVML is not available: clocks and power through the window not sampled")
		}
	}
	s := nvml.StartSampler(b.mon, nvml.DefaultInterval)
	return func() (*result.Window, error) {
		sum, err := s.Stop()
		if err != nil {
			return nil, err
		}
		return WindowOf(sum), nil
	}
}

// WindowOf converts an NVML summary to the results file's window; a
// quantity never read is left out.
func WindowOf(s nvml.Summary) *result.Window {
	rng := func(st nvml.Stat) *result.Range {
		if st.N == 0 {
			return nil
		}
		return &result.Range{Mean: st.Mean, Min: st.Min, Max: st.Max}
	}
	return &result.Window{
		Seconds: s.Seconds, SMClockMHz: rng(s.SMClockMHz), MemClockMHz: rng(s.MemClockMHz),
		PowerW: rng(s.PowerW), TempC: rng(s.TempC),
		AtPowerCapFraction: s.AtPowerCapFraction, ThrottledFraction: s.ThrottledFraction,
		EnergyJ: s.EnergyJ, Samples: s.Samples,
	}
}
