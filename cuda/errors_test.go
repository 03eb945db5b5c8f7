package cuda

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		lib      string
		code     int
		name     string
		sentinel error
	}{
		{LibDriver, 2, "CUDA_ERROR_OUT_OF_MEMORY", ErrOutOfMemory},
		{LibDriver, 100, "CUDA_ERROR_NO_DEVICE", ErrNoDevice},
		{LibDriver, 801, "CUDA_ERROR_NOT_SUPPORTED", ErrNotSupported},
		{LibDriver, 702, "CUDA_ERROR_LAUNCH_TIMEOUT", ErrTimeout},
		{LibBLASLt, 3, "CUBLAS_STATUS_ALLOC_FAILED", ErrOutOfMemory},
		{LibBLASLt, 15, "CUBLAS_STATUS_NOT_SUPPORTED", ErrNotSupported},
		{LibBLASLt, 8, "CUBLAS_STATUS_ARCH_MISMATCH", ErrNotSupported},
		{LibNVRTC, 1, "NVRTC_ERROR_OUT_OF_MEMORY", ErrOutOfMemory},
		{LibNVML, 3, "NVML_ERROR_NOT_SUPPORTED", ErrNotSupported},
		{LibDriver, 719, "CUDA_ERROR_LAUNCH_FAILED", nil},
		{LibBLASLt, 7, "CUBLAS_STATUS_INVALID_VALUE", nil},
		{LibDriver, 12345, "cuda status 12345", nil},
	}
	all := []error{ErrOutOfMemory, ErrNoDevice, ErrNotSupported, ErrTimeout}
	for _, c := range cases {
		e := NewError(c.lib, "op", c.code, "msg")
		if e.Name != c.name {
			t.Errorf("%s %d: name %q, want %q", c.lib, c.code, e.Name, c.name)
		}
		wrapped := fmt.Errorf("context: %w", e)
		for _, s := range all {
			if got := errors.Is(wrapped, s); got != (s == c.sentinel) {
				t.Errorf("%s %d: errors.Is(%v) = %v", c.lib, c.code, s, got)
			}
		}
	}
	e := NewError(LibDriver, "cuMemAlloc_v2", 2, "out of memory")
	if got, want := e.Error(), "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The same code means different things in different libraries.
	if errors.Is(NewError(LibNVRTC, "op", 2, ""), ErrOutOfMemory) {
		t.Error("nvrtc code 2 matched ErrOutOfMemory")
	}
}
