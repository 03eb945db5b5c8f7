// Package cuda holds what NVIDIA's libraries share in flopcast: the error
// type every binding returns and the sentinels callers test for. The
// bindings live in the subpackages driver (libcuda), blaslt (cuBLASLt),
// nvrtc and nvml; all of them open their libraries at run time, so a
// binary built here runs, without a GPU, on any machine.
package cuda

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels matched by *Error with errors.Is.
var (
	// ErrOutOfMemory: the device could not allocate.
	ErrOutOfMemory = errors.New("out of device memory")
	// ErrNoDevice: the driver found no usable GPU.
	ErrNoDevice = errors.New("no CUDA device")
	// ErrNotSupported: the device or library does not support the
	// operation (e.g. fp8 on a GPU older than compute capability 8.9).
	ErrNotSupported = errors.New("not supported")
	// ErrTimeout: a kernel did not finish in time.
	ErrTimeout = errors.New("timed out")
	// ErrLibraryNotFound: no candidate file of a library opened (the
	// error is a *dl.NotFoundError listing every path tried).
	ErrLibraryNotFound = errors.New("library not found")
)

// The libraries, as Error.Lib names them.
const (
	LibDriver = "cuda"
	LibBLASLt = "cublasLt"
	LibNVRTC  = "nvrtc"
	LibNVML   = "nvml"
)

// Error is a failed call into one of NVIDIA's libraries.
type Error struct {
	// Lib is the library (LibDriver, LibBLASLt, ...).
	Lib string
	// Op is the call, e.g. "cuMemAlloc_v2".
	Op string
	// Code is the library's status code.
	Code int
	// Name is the code's name, e.g. "CUDA_ERROR_OUT_OF_MEMORY".
	Name string
	// Message is the library's description, where it gives one.
	Message string
}

// NewError builds an *Error for code, naming it from the library's table.
func NewError(lib, op string, code int, message string) *Error {
	return &Error{Lib: lib, Op: op, Code: code, Name: CodeName(lib, code), Message: message}
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%d)", e.Op, e.Name, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrOutOfMemory:
		return e.oneOf(map[string][]int{LibDriver: {2}, LibBLASLt: {3}, LibNVRTC: {1}, LibNVML: {20}})
	case ErrNoDevice:
		return e.oneOf(map[string][]int{LibDriver: {100, 101}, LibNVML: {6}})
	case ErrNotSupported:
		return e.oneOf(map[string][]int{LibDriver: {801, 209}, LibBLASLt: {8, 15}, LibNVML: {3}})
	case ErrTimeout:
		return e.oneOf(map[string][]int{LibDriver: {702}, LibNVML: {10}})
	}
	return false
}

func (e *Error) oneOf(codes map[string][]int) bool {
	for _, c := range codes[e.Lib] {
		if c == e.Code {
			return true
		}
	}
	return false
}

// CodeName returns the name of a status code of lib, or "<lib> status N"
// for a code not in the table.
func CodeName(lib string, code int) string {
	if n, ok := codeNames[lib][code]; ok {
		return n
	}
	return lib + " status " + strconv.Itoa(code)
}

// codeNames are the status names from NVIDIA's public documentation (the
// values are part of each library's stable ABI).
var codeNames = map[string]map[int]string{
	LibDriver: {
		0: "CUDA_SUCCESS", 1: "CUDA_ERROR_INVALID_VALUE", 2: "CUDA_ERROR_OUT_OF_MEMORY",
		3: "CUDA_ERROR_NOT_INITIALIZED", 4: "CUDA_ERROR_DEINITIALIZED", 34: "CUDA_ERROR_STUB_LIBRARY",
		46: "CUDA_ERROR_DEVICE_UNAVAILABLE", 100: "CUDA_ERROR_NO_DEVICE", 101: "CUDA_ERROR_INVALID_DEVICE",
		102: "CUDA_ERROR_DEVICE_NOT_LICENSED", 200: "CUDA_ERROR_INVALID_IMAGE", 201: "CUDA_ERROR_INVALID_CONTEXT",
		209: "CUDA_ERROR_NO_BINARY_FOR_GPU", 214: "CUDA_ERROR_ECC_UNCORRECTABLE", 218: "CUDA_ERROR_INVALID_PTX",
		222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", 300: "CUDA_ERROR_INVALID_SOURCE", 400: "CUDA_ERROR_INVALID_HANDLE",
		500: "CUDA_ERROR_NOT_FOUND", 600: "CUDA_ERROR_NOT_READY", 700: "CUDA_ERROR_ILLEGAL_ADDRESS",
		701: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", 702: "CUDA_ERROR_LAUNCH_TIMEOUT", 709: "CUDA_ERROR_CONTEXT_IS_DESTROYED",
		710: "CUDA_ERROR_ASSERT", 715: "CUDA_ERROR_ILLEGAL_INSTRUCTION", 716: "CUDA_ERROR_MISALIGNED_ADDRESS",
		719: "CUDA_ERROR_LAUNCH_FAILED", 800: "CUDA_ERROR_NOT_PERMITTED", 801: "CUDA_ERROR_NOT_SUPPORTED",
		802: "CUDA_ERROR_SYSTEM_NOT_READY", 803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
		804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", 999: "CUDA_ERROR_UNKNOWN",
	},
	LibBLASLt: {
		0: "CUBLAS_STATUS_SUCCESS", 1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED",
		7: "CUBLAS_STATUS_INVALID_VALUE", 8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR",
		13: "CUBLAS_STATUS_EXECUTION_FAILED", 14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED",
		16: "CUBLAS_STATUS_LICENSE_ERROR",
	},
	LibNVRTC: {
		0: "NVRTC_SUCCESS", 1: "NVRTC_ERROR_OUT_OF_MEMORY", 2: "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
		3: "NVRTC_ERROR_INVALID_INPUT", 4: "NVRTC_ERROR_INVALID_PROGRAM", 5: "NVRTC_ERROR_INVALID_OPTION",
		6: "NVRTC_ERROR_COMPILATION", 7: "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE", 11: "NVRTC_ERROR_INTERNAL_ERROR",
	},
	LibNVML: {
		0: "NVML_SUCCESS", 1: "NVML_ERROR_UNINITIALIZED", 2: "NVML_ERROR_INVALID_ARGUMENT",
		3: "NVML_ERROR_NOT_SUPPORTED", 4: "NVML_ERROR_NO_PERMISSION", 6: "NVML_ERROR_NOT_FOUND",
		9: "NVML_ERROR_DRIVER_NOT_LOADED", 10: "NVML_ERROR_TIMEOUT", 12: "NVML_ERROR_LIBRARY_NOT_FOUND",
		13: "NVML_ERROR_FUNCTION_NOT_FOUND", 15: "NVML_ERROR_GPU_IS_LOST", 20: "NVML_ERROR_MEMORY", 999: "NVML_ERROR_UNKNOWN",
	},
}
