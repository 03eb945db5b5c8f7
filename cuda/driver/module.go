package driver

/*
#include "cuda_shim.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Module is a loaded PTX or CUBIN image.
type Module struct{ h C.CUmodule }

// LoadModule loads a PTX (NUL-terminated text) or CUBIN image.
func LoadModule(image []byte) (Module, error) {
	if len(image) == 0 {
		return Module{}, fmt.Errorf("cuModuleLoadData: empty image")
	}
	img := C.CBytes(append(append([]byte(nil), image...), 0))
	defer C.free(img)
	var m C.CUmodule
	err := check("cuModuleLoadData", C.flop_cu_modload(fn["moduleLoad"], &m, img))
	return Module{m}, err
}

// Unload unloads the module.
func (m Module) Unload() error {
	if m.h == nil {
		return nil
	}
	return check("cuModuleUnload", C.flop_cu_ptr(fn["moduleUnload"], unsafe.Pointer(m.h)))
}

// Function is a kernel in a module.
type Function struct {
	h    C.CUfunction
	Name string
}

// Function looks up an extern "C" kernel by name.
func (m Module) Function(name string) (Function, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var f C.CUfunction
	err := check("cuModuleGetFunction("+name+")", C.flop_cu_getfunc(fn["moduleFunc"], &f, m.h, cname))
	return Function{f, name}, err
}

// Dim3 is a grid or block size.
type Dim3 struct{ X, Y, Z uint32 }

// KernelArgs packs kernel arguments in their C layout, each in its own
// 8-byte slot: Ptr, uint64 and int64 as 8 bytes; uint32, int32 and
// float32 as 4.
func KernelArgs(args ...any) ([]byte, error) {
	buf := make([]byte, 8*len(args))
	for i, a := range args {
		s := buf[8*i:]
		switch v := a.(type) {
		case Ptr:
			binary.LittleEndian.PutUint64(s, uint64(v))
		case uint64:
			binary.LittleEndian.PutUint64(s, v)
		case int64:
			binary.LittleEndian.PutUint64(s, uint64(v))
		case uint32:
			binary.LittleEndian.PutUint32(s, v)
		case int32:
			binary.LittleEndian.PutUint32(s, uint32(v))
		case float32:
			binary.LittleEndian.PutUint32(s, math.Float32bits(v))
		default:
			return nil, fmt.Errorf("kernel argument %d: unsupported type %T", i, a)
		}
	}
	return buf, nil
}

// Launch enqueues the kernel on s. The arguments are copied into C memory
// for the call (cuLaunchKernel copies them again before returning).
func (f Function) Launch(grid, block Dim3, sharedBytes uint32, s Stream, args ...any) error {
	packed, err := KernelArgs(args...)
	if err != nil {
		return fmt.Errorf("launching %s: %v", f.Name, err)
	}
	n := len(args)
	var vals, ptrs unsafe.Pointer
	if n > 0 {
		vals = C.CBytes(packed)
		defer C.free(vals)
		ptrs = C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(ptrs)
		p := unsafe.Slice((*unsafe.Pointer)(ptrs), n)
		for i := range p {
			p[i] = unsafe.Add(vals, 8*i)
		}
	}
	return check("cuLaunchKernel("+f.Name+")", C.flop_cu_launch(fn["launch"], f.h,
		C.uint(grid.X), C.uint(grid.Y), C.uint(grid.Z), C.uint(block.X), C.uint(block.Y), C.uint(block.Z),
		C.uint(sharedBytes), s.h, (*unsafe.Pointer)(ptrs)))
}
