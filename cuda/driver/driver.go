// Package driver binds the CUDA driver API (libcuda.so.1), loaded at run
// time with dlopen: no CUDA header or library is needed to build it. Handles
// are opaque pointers and enums plain ints, declared here; each function is
// called through a small C trampoline. Versioned (_v2) symbols are bound in
// preference to their originals.
//
// The driver keeps the current context per OS thread, so every call that
// needs one runs inside Context.Do, which locks the goroutine to its thread
// and makes the context current.
package driver

/*
#include "cuda_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// Spec is how libcuda is looked for.
var Spec = dl.Spec{Name: "cuda", Sonames: []string{"libcuda.so.1"}, Driver: true, Require: dl.Required(symbols)}

// symbols are bound by Load: each entry lists the names tried, _v2 first,
// and lists a _v2 only where it keeps the original's C signature (CUDA 13's
// cuCtxSynchronize_v2 takes a CUcontext, so "ctxSync" binds the original
// only). TestSymbolNames pins the table.
var symbols = map[string][]string{
	"init": {"cuInit"}, "driverVersion": {"cuDriverGetVersion"}, "deviceCount": {"cuDeviceGetCount"},
	"deviceGet": {"cuDeviceGet"}, "deviceName": {"cuDeviceGetName"}, "deviceUUID": {"cuDeviceGetUuid_v2", "cuDeviceGetUuid"},
	"deviceAttr": {"cuDeviceGetAttribute"}, "totalMem": {"cuDeviceTotalMem_v2", "cuDeviceTotalMem"},
	"ctxRetain": {"cuDevicePrimaryCtxRetain"}, "ctxRelease": {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
	"ctxSetCurrent": {"cuCtxSetCurrent"}, "ctxSync": {"cuCtxSynchronize"},
	"memInfo": {"cuMemGetInfo_v2", "cuMemGetInfo"}, "memAlloc": {"cuMemAlloc_v2", "cuMemAlloc"}, "memFree": {"cuMemFree_v2", "cuMemFree"},
	"hostAlloc": {"cuMemHostAlloc"}, "hostFree": {"cuMemFreeHost"},
	"htod": {"cuMemcpyHtoD_v2", "cuMemcpyHtoD"}, "dtoh": {"cuMemcpyDtoH_v2", "cuMemcpyDtoH"},
	"htodAsync": {"cuMemcpyHtoDAsync_v2", "cuMemcpyHtoDAsync"}, "dtohAsync": {"cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync"},
	"dtodAsync": {"cuMemcpyDtoDAsync_v2", "cuMemcpyDtoDAsync"},
	"memset16":  {"cuMemsetD16Async"}, "memset32": {"cuMemsetD32Async"},
	"streamCreate": {"cuStreamCreate"}, "streamDestroy": {"cuStreamDestroy_v2", "cuStreamDestroy"},
	"streamSync": {"cuStreamSynchronize"}, "streamQuery": {"cuStreamQuery"},
	"eventCreate": {"cuEventCreate"}, "eventDestroy": {"cuEventDestroy_v2", "cuEventDestroy"},
	"eventRecord": {"cuEventRecord"}, "eventQuery": {"cuEventQuery"}, "eventSync": {"cuEventSynchronize"},
	"eventElapsed": {"cuEventElapsedTime_v2", "cuEventElapsedTime"},
	"moduleLoad":   {"cuModuleLoadData"}, "moduleUnload": {"cuModuleUnload"}, "moduleFunc": {"cuModuleGetFunction"},
	"launch":  {"cuLaunchKernel"},
	"errName": {"cuGetErrorName"}, "errString": {"cuGetErrorString"},
}

var (
	loadOnce sync.Once
	lib      *dl.Library
	libCand  dl.Candidate
	fn       map[string]unsafe.Pointer
	loadErr  error
)

// Library describes the loaded libcuda.
type Library struct {
	// Path is the file the loader mapped; Soname the candidate opened.
	Path, Soname string
	// Source says where it was found (see dl.Candidates).
	Source string
}

// Load opens libcuda.so.1, binds its functions and calls cuInit, once per
// process. A missing library is a *dl.NotFoundError (errors.Is
// dl.ErrNotFound); a driver that finds no GPU returns an error matching
// cuda.ErrNoDevice.
func Load() (Library, error) {
	loadOnce.Do(func() {
		if lib, libCand, fn, loadErr = dl.LoadBound(Spec, symbols); loadErr != nil {
			return
		}
		loadErr = check("cuInit", C.flop_cu_u(fn["init"], 0))
	})
	if lib == nil {
		return Library{}, loadErr
	}
	return Library{Path: lib.Path, Soname: libCand.Path, Source: libCand.Source}, loadErr
}

// ErrNotLoaded is returned by calls made before a successful Load.
var ErrNotLoaded = errors.New("libcuda is not loaded")

func ready() error {
	if fn == nil || loadErr != nil {
		if loadErr != nil {
			return loadErr
		}
		return ErrNotLoaded
	}
	return nil
}

// check turns a CUresult into a *cuda.Error with the driver's own name and
// message for it.
func check(op string, rc C.CUresult) error {
	if rc == 0 {
		return nil
	}
	msg := ""
	if p := fn["errString"]; p != nil {
		var s *C.char
		if C.flop_cu_errstr(p, rc, &s) == 0 && s != nil {
			msg = C.GoString(s)
		}
	}
	return cuda.NewError(cuda.LibDriver, op, int(rc), msg)
}

// DriverVersion returns the CUDA version the driver supports, e.g. 12040
// for 12.4.
func DriverVersion() (int, error) {
	if err := ready(); err != nil {
		return 0, err
	}
	var v C.int
	return int(v), check("cuDriverGetVersion", C.flop_cu_pint(fn["driverVersion"], &v))
}

// FormatVersion formats a CUDA version number such as 12040 as "12.4".
func FormatVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

// DeviceCount returns the number of GPUs the driver sees.
func DeviceCount() (int, error) {
	if err := ready(); err != nil {
		return 0, err
	}
	var n C.int
	return int(n), check("cuDeviceGetCount", C.flop_cu_pint(fn["deviceCount"], &n))
}
