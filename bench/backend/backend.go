// Package backend is the seam between the harness and the hardware: the
// runner sees a device only through Backend, and each implementation (cpu
// now, the GPU later, a fake in tests) lives in its own subpackage.
package backend

import (
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Backend is one compute device ready to run workloads. Methods are called
// from one goroutine at a time.
type Backend interface {
	// Device describes the device for the results file.
	Device() result.Device
	// Supports reports whether the device runs GEMMs in dtype d.
	Supports(d kernels.DType) bool
	// NewGEMM allocates sets operand sets for shape in dtype d and fills
	// the inputs from seed.
	NewGEMM(shape kernels.GEMMShape, d kernels.DType, sets int, seed uint64) (GEMM, error)
	// CacheBytes is the size of the cache a small problem could be
	// measured from (the CPU's last-level cache, a GPU's L2).
	CacheBytes() int64
	// MemoryAvailable is the memory new operands can use, in bytes.
	MemoryAvailable() int64
	// State samples the device's clocks, temperature and throttling.
	State() result.State
	// Close releases the device.
	Close() error
}

// GEMM is one allocated GEMM problem.
type GEMM interface {
	// Sets returns the number of operand sets.
	Sets() int
	// Poison fills C of set s with NaN.
	Poison(s int)
	// Run computes C = A·B for set s once and returns the seconds the call
	// took, measured the device's way (wall clock on the CPU, events on a
	// GPU).
	Run(s int) (float64, error)
	// Operands gives host read access to A, B and C of set s.
	Operands(s int) (a, b, c kernels.Matrix)
	// Release frees the operands.
	Release()
}

// WindowTiming is one window of timed calls issued back to back: every
// call enqueued with nothing on the host between launches, one wait at
// the end.
type WindowTiming struct {
	// Samples are the calls' device seconds in run order; when calls share
	// an event pair (PerSample > 1) each is its group's mean.
	Samples []float64
	// PerSample is the number of calls behind each sample.
	PerSample int
	// Calls is the number of calls made.
	Calls int
	// Busy is Σ device time of the calls (the event pairs' intervals).
	Busy float64
	// Span is the device time from the first call's start to the last
	// call's end; 0 when unknown.
	Span float64
	// Wall is the host time around the enqueueing and the final wait.
	Wall float64
}

// DutyCycle is Busy over Span (or Wall when Span is unknown): 1 when the
// device never idled between calls; 0 when nothing was timed.
func (w WindowTiming) DutyCycle() float64 {
	d := w.Span
	if d <= 0 {
		d = w.Wall
	}
	if d <= 0 || w.Busy <= 0 {
		return 0
	}
	return min(1, w.Busy/d)
}

// WindowGEMM is a GEMM that times a whole window of calls back to back
// (a GPU: all calls enqueued, one synchronisation). The runner uses it
// in place of timing Run call by call.
type WindowGEMM interface {
	GEMM
	// RunWindow makes calls calls, the i-th on operand set i % Sets(),
	// back to back, and returns their timing.
	RunWindow(calls int) (WindowTiming, error)
}

// StateSampler is a Backend that samples its state (clocks, power,
// temperature, clock-event reasons, energy) through a timed window on a
// goroutine of its own.
type StateSampler interface {
	// SampleWindow starts sampling; stop ends it and returns the window's
	// aggregate, or nil and a one-line reason when the state could not be
	// read (the measurement still counts).
	SampleWindow() (stop func() (*result.Window, error))
}

// AlgoForcer is a Backend whose GEMM library picks among candidate
// algorithms (cuBLASLt): ForceAlgo(n) makes every later GEMM use the
// heuristic's n-th candidate with no search; -1 restores the search.
type AlgoForcer interface {
	ForceAlgo(rank int) error
}
