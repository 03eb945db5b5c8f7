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
