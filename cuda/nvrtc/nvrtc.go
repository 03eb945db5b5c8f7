// Package nvrtc binds NVRTC (libnvrtc.so.13, .12 or .11.2), loaded at run
// time, to compile CUDA C source for the device's own architecture: CUBIN
// for sm_XX when this NVRTC knows the architecture, else PTX for the
// newest compute_XX it knows, which the driver compiles on load.
package nvrtc

/*
#include <stdlib.h>
#include "rtc_shim.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// Spec is how NVRTC is looked for, newest first.
var Spec = dl.Spec{Name: "nvrtc", Sonames: []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"}}

var symbols = map[string][]string{
	"version": {"nvrtcVersion"}, "create": {"nvrtcCreateProgram"}, "compile": {"nvrtcCompileProgram"},
	"logSize": {"nvrtcGetProgramLogSize"}, "log": {"nvrtcGetProgramLog"},
	"ptxSize": {"nvrtcGetPTXSize"}, "ptx": {"nvrtcGetPTX"},
	"cubinSize": {"nvrtcGetCUBINSize"}, "cubin": {"nvrtcGetCUBIN"},
	"destroy": {"nvrtcDestroyProgram"}, "errString": {"nvrtcGetErrorString"},
}

// Library describes the loaded NVRTC.
type Library struct {
	Path, Soname, Source string
	Major, Minor         int
}

// VersionString formats the version as "12.4".
func (l Library) VersionString() string { return fmt.Sprintf("%d.%d", l.Major, l.Minor) }

var (
	loadOnce sync.Once
	loaded   Library
	fn       map[string]unsafe.Pointer
	loadErr  error
)

// Load opens NVRTC once per process.
func Load() (Library, error) {
	loadOnce.Do(func() {
		lib, cand, err := dl.Load(Spec)
		if err != nil {
			loadErr = err
			return
		}
		f, err := lib.BindAll(symbols)
		if err != nil {
			loadErr = err
			return
		}
		fn = f
		var maj, mnr C.int
		C.flop_rtc_version(f["version"], &maj, &mnr)
		loaded = Library{Path: lib.Path, Soname: cand.Path, Source: cand.Source, Major: int(maj), Minor: int(mnr)}
	})
	return loaded, loadErr
}

func check(op string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	msg := ""
	if s := C.flop_rtc_str(fn["errString"], rc); s != nil {
		msg = C.GoString(s)
	}
	return cuda.NewError(cuda.LibNVRTC, op, int(rc), msg)
}

// Output says what Compile produced.
type Output struct {
	// Image is CUBIN or NUL-free PTX text, ready for driver.LoadModule.
	Image []byte
	// Kind is "cubin" or "ptx"; Arch the architecture option used.
	Kind, Arch string
	// Log is the compiler's log (warnings), possibly empty.
	Log string
}

// ArchOptions returns the architecture options tried for compute
// capability major.minor, in order: CUBIN for sm_XY, then PTX for
// compute_XY.
func ArchOptions(major, minor int) []string {
	cc := fmt.Sprintf("%d%d", major, minor)
	return []string{"--gpu-architecture=sm_" + cc, "--gpu-architecture=compute_" + cc}
}

// Compile compiles src (named name in messages) for compute capability
// major.minor. A compile error carries NVRTC's log.
func Compile(src, name string, major, minor int, extra ...string) (Output, error) {
	if _, err := Load(); err != nil {
		return Output{}, err
	}
	var errs []string
	for i, arch := range ArchOptions(major, minor) {
		out, err := compile(src, name, append([]string{arch, "--std=c++17"}, extra...), i == 0)
		if err == nil {
			out.Arch = arch
			return out, nil
		}
		errs = append(errs, err.Error())
		if ce, ok := err.(*CompileError); ok && ce.Err.Code == 6 {
			return Output{}, err // a source error: another architecture will not help
		}
	}
	return Output{}, fmt.Errorf("nvrtc: compiling %s for compute capability %d.%d: %s", name, major, minor, strings.Join(errs, "; "))
}

// CompileError is a failed compilation with its log.
type CompileError struct {
	Err       *cuda.Error
	Name, Log string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("nvrtc: %s: %v: %s", e.Name, e.Err, strings.TrimSpace(e.Log))
}

// Unwrap returns the *cuda.Error.
func (e *CompileError) Unwrap() error { return e.Err }

func compile(src, name string, opts []string, cubin bool) (Output, error) {
	csrc, cname := C.CString(src), C.CString(name)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	var prog unsafe.Pointer
	if err := check("nvrtcCreateProgram", C.flop_rtc_create(fn["create"], &prog, csrc, cname)); err != nil {
		return Output{}, err
	}
	defer C.flop_rtc_destroy(fn["destroy"], &prog)
	copts := C.malloc(C.size_t(len(opts)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(copts)
	cs := unsafe.Slice((**C.char)(copts), len(opts))
	for i, o := range opts {
		cs[i] = C.CString(o)
		defer C.free(unsafe.Pointer(cs[i]))
	}
	rc := C.flop_rtc_compile(fn["compile"], prog, C.int(len(opts)), (**C.char)(copts))
	log := get(prog, "logSize", "log")
	if rc != 0 {
		return Output{}, &CompileError{Err: cuda.NewError(cuda.LibNVRTC, "nvrtcCompileProgram", int(rc), ""), Name: name, Log: log}
	}
	if cubin {
		return Output{Image: []byte(get(prog, "cubinSize", "cubin")), Kind: "cubin", Log: log}, nil
	}
	return Output{Image: []byte(strings.TrimRight(get(prog, "ptxSize", "ptx"), "\x00")), Kind: "ptx", Log: log}, nil
}

func get(prog unsafe.Pointer, sizeKey, key string) string {
	var n C.size_t
	if C.flop_rtc_size(fn[sizeKey], prog, &n) != 0 || n == 0 {
		return ""
	}
	buf := C.malloc(n)
	defer C.free(buf)
	if C.flop_rtc_get(fn[key], prog, (*C.char)(buf)) != 0 {
		return ""
	}
	b := C.GoBytes(buf, C.int(n))
	if key == "log" {
		return strings.TrimRight(string(b), "\x00")
	}
	return string(b)
}
