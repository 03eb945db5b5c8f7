// Package hw finds the devices flopcast can run on and opens the one the
// user asked for. It is the only place that wires backends together.
package hw

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/cpu"
	"github.com/flopcast/flopcast/bench/backend/gpu"
	"github.com/flopcast/flopcast/cuda"
)

// Devices lists the --device values this build accepts.
var Devices = []string{"auto", "cpu", "cuda", "cuda:N", "all"}

// UnsupportedDeviceError reports a --device value this build cannot open.
type UnsupportedDeviceError struct{ Device string }

func (e *UnsupportedDeviceError) Error() string {
	return fmt.Sprintf("unknown device %q (known: %s)", e.Device, strings.Join(Devices, ", "))
}

// NoGPUError reports a GPU asked for on a machine where none can be used.
type NoGPUError struct {
	Device string
	// Reason is one line, e.g. "no NVIDIA driver (libcuda.so.1 not found)".
	Reason string
	Err    error
}

func (e *NoGPUError) Error() string {
	return fmt.Sprintf("%s: %s; use --device cpu to measure the CPU", e.Device, e.Reason)
}

func (e *NoGPUError) Unwrap() error { return e.Err }

// gpuAvailable and openGPU are the GPU backend's entry points; tests
// replace them.
var (
	gpuAvailable = gpu.Available
	openGPU      = func(ordinal int) (backend.Backend, error) { return gpu.Open(ordinal) }
)

// parseCUDA returns the ordinal of "cuda" (0), "gpu" (0) or "cuda:N".
func parseCUDA(d string) (int, bool, error) {
	switch {
	case d == "cuda" || d == "gpu":
		return 0, true, nil
	case strings.HasPrefix(d, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(d, "cuda:"))
		if err != nil || n < 0 {
			return 0, true, fmt.Errorf("device %q: the GPU ordinal must be a number >= 0, e.g. cuda:0", d)
		}
		return n, true, nil
	}
	return 0, false, nil
}

// Open returns the backend for a --device value and notices for the user
// (one line each), such as a missing fast BLAS. "auto" picks the first GPU
// when the NVIDIA driver finds one, else the CPU with exactly one notice
// saying why. Asking for a GPU ("cuda", "cuda:N") where there is none is
// an error (*NoGPUError), never CPU numbers.
func Open(device string, threads int) (backend.Backend, []string, error) {
	d := strings.ToLower(strings.TrimSpace(device))
	if ord, isGPU, err := parseCUDA(d); isGPU {
		if err != nil {
			return nil, nil, err
		}
		n, err := gpuAvailable()
		if err == nil && n == 0 {
			err = cuda.ErrNoDevice
		}
		if err != nil {
			return nil, nil, &NoGPUError{Device: device, Reason: gpu.NoDriverReason(err), Err: err}
		}
		b, err := openGPU(ord)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", device, err)
		}
		return b, nil, nil
	}
	switch d {
	case "auto", "":
		var notices []string
		n, err := gpuAvailable()
		if err == nil && n > 0 {
			b, err := openGPU(0)
			if err == nil {
				return b, nil, nil
			}
			notices = append(notices, fmt.Sprintf("GPU cuda:0 could not be opened (%v); running on CPU", err))
		} else {
			if err == nil {
				err = cuda.ErrNoDevice
			}
			notices = append(notices, gpu.NoDriverReason(err)+"; running on CPU")
		}
		b, more := openCPU(threads)
		return b, append(notices, more...), nil
	case "cpu":
		b, notices := openCPU(threads)
		return b, notices, nil
	}
	return nil, nil, &UnsupportedDeviceError{Device: device}
}

// GPUOpener opens one GPU of "--device all".
type GPUOpener struct {
	// ID is the device's ID, "cuda:N".
	ID string
	// Open opens it; call it on the goroutine (locked OS thread) that
	// will use the backend.
	Open func() (backend.Backend, error)
}

// OpenAll returns an opener per GPU for "--device all", without opening
// any: each GPU is opened later on its own thread. Without a usable GPU
// it is a *NoGPUError, never the CPU.
func OpenAll(device string) ([]GPUOpener, error) {
	n, err := gpuAvailable()
	if err == nil && n == 0 {
		err = cuda.ErrNoDevice
	}
	if err != nil {
		return nil, &NoGPUError{Device: device, Reason: gpu.NoDriverReason(err), Err: err}
	}
	out := make([]GPUOpener, n)
	for i := range out {
		out[i] = GPUOpener{ID: fmt.Sprintf("cuda:%d", i), Open: func() (backend.Backend, error) { return openGPU(i) }}
	}
	return out, nil
}

func openCPU(threads int) (backend.Backend, []string) {
	b := cpu.New(threads)
	var notices []string
	if n := b.BLAS().Notice(); n != "" {
		notices = append(notices, n)
	}
	return b, notices
}
