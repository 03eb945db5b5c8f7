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
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// Spec is how NVRTC is looked for, newest first.
var Spec = dl.Spec{Name: "nvrtc", Sonames: []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"}, Require: dl.Required(symbols)}

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
	// supported are the architectures this NVRTC compiles for (e.g. 90
	// for sm_90), ascending, from nvrtcGetSupportedArchs (NVRTC 11.2 and
	// later); nil when it cannot say.
	supported []int
)

// Load opens NVRTC once per process.
func Load() (Library, error) {
	loadOnce.Do(func() {
		lib, cand, f, err := dl.LoadBound(Spec, symbols)
		if err != nil {
			loadErr = err
			return
		}
		fn = f
		var maj, mnr C.int
		C.flop_rtc_version(f["version"], &maj, &mnr)
		loaded = Library{Path: lib.Path, Soname: cand.Path, Source: cand.Source, Major: int(maj), Minor: int(mnr)}
		supported = supportedArchs(lib)
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

// supportedArchs asks NVRTC which architectures it compiles for; nil
// when the library lacks the calls or fails.
func supportedArchs(lib *dl.Library) []int {
	count, _, err1 := lib.SymFirst("nvrtcGetNumSupportedArchs")
	list, _, err2 := lib.SymFirst("nvrtcGetSupportedArchs")
	if err1 != nil || err2 != nil {
		return nil
	}
	var n C.int
	if C.flop_rtc_pint(count, &n) != 0 || n <= 0 || n > 1024 {
		return nil
	}
	buf := (*C.int)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.int(0)))))
	defer C.free(unsafe.Pointer(buf))
	if C.flop_rtc_pint(list, buf) != 0 {
		return nil
	}
	out := make([]int, n)
	for i, v := range unsafe.Slice(buf, int(n)) {
		out[i] = int(v)
	}
	return out
}

// ArchOptions returns the architecture options tried for compute
// capability major.minor, in order: CUBIN for sm_XY (real architecture:
// nvrtcGetCUBIN has an image only for sm_), then PTX for compute_XY
// (virtual: the driver compiles it when the module loads).
func ArchOptions(major, minor int) []string { return archOptions(major*10+minor, nil) }

// archOptions is ArchOptions for compute capability cc (major·10+minor)
// given the architectures NVRTC supports (nil: unknown, assume cc). When
// NVRTC is older than the GPU it offers only PTX for the newest
// architecture it knows below cc, which the driver compiles for the GPU.
func archOptions(cc int, supported []int) []string {
	arch := func(v int) string { return fmt.Sprintf("%d%d", v/10, v%10) }
	if supported == nil || slices.Contains(supported, cc) {
		return []string{"--gpu-architecture=sm_" + arch(cc), "--gpu-architecture=compute_" + arch(cc)}
	}
	best := 0
	for _, v := range supported {
		if v <= cc && v > best {
			best = v
		}
	}
	if best == 0 {
		return []string{"--gpu-architecture=compute_" + arch(cc)} // fails with NVRTC's own message
	}
	return []string{"--gpu-architecture=compute_" + arch(best)}
}

// Compile compiles src (named name in messages) for compute capability
// major.minor. A compile error carries NVRTC's log.
func Compile(src, name string, major, minor int, extra ...string) (Output, error) {
	if _, err := Load(); err != nil {
		return Output{}, err
	}
	var errs []string
	for _, arch := range archOptions(major*10+minor, supported) {
		out, err := compile(src, name, append([]string{arch, "--std=c++17"}, extra...), strings.Contains(arch, "=sm_"))
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
		img := get(prog, "cubinSize", "cubin")
		if img == "" { // NVRTC gives no CUBIN for a virtual architecture
			return Output{}, fmt.Errorf("nvrtc: %s: no CUBIN for %s", name, opts[0])
		}
		return Output{Image: []byte(img), Kind: "cubin", Log: log}, nil
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
