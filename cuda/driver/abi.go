package driver

/*
#include "cuda_shim.h"
*/
import "C"

// shimSizes are the widths of the C types cuda_shim.h declares, as the C
// compiler lays them out; the tests compare them with the driver API's
// (CUdeviceptr an unsigned 64-bit integer on LP64, CUdevice and CUresult
// 32-bit ints, handles pointers, size_t 64 bits).
var shimSizes = struct {
	devptr, device, result, handle, sizeT uintptr
	devptrUnsigned                        bool
}{
	devptr: C.sizeof_CUdeviceptr, device: C.sizeof_CUdevice, result: C.sizeof_CUresult,
	handle: C.sizeof_CUstream, sizeT: C.sizeof_size_t,
	devptrUnsigned: ^C.CUdeviceptr(0) > 0,
}
