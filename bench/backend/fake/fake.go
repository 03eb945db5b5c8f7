// Package fake is a deterministic backend.Backend for tests: real CPU
// operands (so the verifier sees real products), scripted call durations,
// and switches that make it wrong in the ways real kernels go wrong.
package fake

import (
	"errors"
	"math"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
	kcpu "github.com/flopcast/flopcast/kernels/cpu"
)

// Fault is a way the fake kernel goes wrong.
type Fault int

// The faults.
const (
	None        Fault = iota
	Wrong             // every output element 1% off (a wrong alpha)
	Unwritten         // one output element never written
	NaN               // one output element NaN
	WrongLater        // right on the first call, 1% off on later ones
	RunError          // every call returns an error
	SilentLater       // right on the first call, writes nothing on later ones
	WrongRow          // the middle output row holds the next row's values (an indexing bug)
)

// ErrOutOfMemory is what NewGEMM returns when OutOfMemory is set.
var ErrOutOfMemory = errors.New("fake: out of memory")

// Backend is a scripted device.
type Backend struct {
	// Durations are returned by successive Run calls, cycling; empty means
	// 1 ms each.
	Durations []float64
	// Fault applies to every GEMM.
	Fault Fault
	// OutOfMemory makes NewGEMM fail.
	OutOfMemory bool
	// Cache and Memory are reported as CacheBytes and MemoryAvailable.
	Cache, Memory int64
	// Peak is the fp32 and fp64 peak reported.
	Peak float64
	// Throttle makes the state after the first call report throttling.
	Throttle bool
	// Gap is the idle device time between two calls of a timed window
	// (RunWindow): a device the host does not keep busy.
	Gap float64
	// Clocks are the SM clocks successive State calls report, the last
	// repeated; empty means 1000 MHz.
	Clocks []float64
	// Window is what SampleWindow's stop returns (a copy), with
	// WindowErr; both nil means nothing was sampled.
	Window    *result.Window
	WindowErr error

	calls  int
	states int
	// Windows counts the RunWindow calls, WindowCalls their calls.
	Windows, WindowCalls int
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.StateSampler = (*Backend)(nil)
	_ backend.WindowGEMM   = (*gemm)(nil)
)

// Device implements backend.Backend.
func (f *Backend) Device() result.Device {
	d := result.Device{ID: "fake", Kind: "fake", Name: "Fake Device"}
	if f.Peak > 0 {
		d.PeakFLOPPerSecond = map[string]float64{"fp32": f.Peak, "fp64": f.Peak / 2}
	}
	return d
}

// Supports implements backend.Backend: fp32 and fp64.
func (f *Backend) Supports(d kernels.DType) bool { return d == kernels.FP32 || d == kernels.FP64 }

// NewGEMM implements backend.Backend.
func (f *Backend) NewGEMM(s kernels.GEMMShape, d kernels.DType, sets int, seed uint64) (backend.GEMM, error) {
	if f.OutOfMemory {
		return nil, ErrOutOfMemory
	}
	g, err := kcpu.NewGEMM(s, d, sets, seed)
	if err != nil {
		return nil, err
	}
	return &gemm{GEMM: g, f: f}, nil
}

// CacheBytes implements backend.Backend.
func (f *Backend) CacheBytes() int64 { return f.Cache }

// MemoryAvailable implements backend.Backend.
func (f *Backend) MemoryAvailable() int64 { return f.Memory }

// State implements backend.Backend.
func (f *Backend) State() result.State {
	clk := 1000.0
	if n := len(f.Clocks); n > 0 {
		clk = f.Clocks[min(f.states, n-1)]
	}
	f.states++
	return result.State{ClockMHz: clk, Throttled: f.Throttle && f.calls > 0}
}

// SampleWindow implements backend.StateSampler with the scripted Window.
func (f *Backend) SampleWindow() func() (*result.Window, error) {
	return func() (*result.Window, error) {
		if f.Window == nil {
			return nil, f.WindowErr
		}
		w := *f.Window
		return &w, f.WindowErr
	}
}

// Close implements backend.Backend.
func (f *Backend) Close() error { return nil }

type gemm struct {
	*kcpu.GEMM
	f     *Backend
	calls int
}

func (g *gemm) Run(s int) (float64, error) {
	if g.f.Fault == RunError {
		return 0, errors.New("fake: launch failed")
	}
	d := 1e-3
	if n := len(g.f.Durations); n > 0 {
		d = g.f.Durations[g.f.calls%n]
	}
	if g.f.Fault == SilentLater && g.calls > 0 {
		g.calls++
		g.f.calls++
		return d, nil
	}
	if err := g.GEMM.Run(s); err != nil {
		return 0, err
	}
	g.calls++
	_, _, c := g.Operands(s)
	out := c.(interface{ Dims() (int, int) })
	rows, cols := out.Dims()
	mid := (rows/2)*cols + cols/2
	switch g.f.Fault {
	case Wrong:
		scale(c, 1.01)
	case Unwritten, NaN:
		set(c, mid, func(float64) float64 { return math.NaN() })
	case WrongLater:
		if g.calls > 1 {
			scale(c, 1.01)
		}
	case WrongRow:
		for j := 0; j < cols && rows > 1; j++ {
			src := (rows/2+1)%rows*cols + j
			set(c, (rows/2)*cols+j, func(float64) float64 { return c.At(src/cols, j) })
		}
	}
	g.f.calls++
	return d, nil
}

// RunWindow implements backend.WindowGEMM: the calls run one by one (so
// faults and scripted durations apply as in Run), and the window's
// device time is their durations with Gap idle between two calls.
func (g *gemm) RunWindow(calls int) (backend.WindowTiming, error) {
	g.f.Windows++
	w := backend.WindowTiming{Calls: calls, PerSample: 1, Samples: make([]float64, 0, calls)}
	for i := 0; i < calls; i++ {
		d, err := g.Run(i % g.Sets())
		if err != nil {
			return backend.WindowTiming{}, err
		}
		w.Samples = append(w.Samples, d)
		w.Busy += d
	}
	g.f.WindowCalls += calls
	w.Span = w.Busy + float64(calls-1)*g.f.Gap
	w.Wall = w.Span
	return w, nil
}

func set(m kernels.Matrix, i int, f func(float64) float64) {
	switch c := m.(type) {
	case kernels.RowMajor32:
		c.Data[i] = float32(f(float64(c.Data[i])))
	case kernels.RowMajor64:
		c.Data[i] = f(c.Data[i])
	}
}

func scale(m kernels.Matrix, f float64) {
	switch c := m.(type) {
	case kernels.RowMajor32:
		for i := range c.Data {
			c.Data[i] *= float32(f)
		}
	case kernels.RowMajor64:
		for i := range c.Data {
			c.Data[i] *= f
		}
	}
}
