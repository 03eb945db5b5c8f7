// Package cuda holds flopcast's CUDA C kernels as source, embedded in the
// binary and compiled at run time with NVRTC (cuda/nvrtc) for the device
// found. Nothing here needs cgo or a CUDA toolkit.
package cuda

import _ "embed"

// CopySource is the CUDA C source of the memory kernels: Copy16Kernel and
// PoisonKernel.
//
//go:embed copy.cu
var CopySource string

// Kernel names in CopySource (extern "C", so unmangled).
const (
	// Copy16Kernel is flopcast_copy16(const uint4 *src, uint4 *dst,
	// unsigned long long n): copies n 16-byte vectors.
	Copy16Kernel = "flopcast_copy16"
	// PoisonKernel is flopcast_poison(unsigned *dst, unsigned pattern,
	// unsigned long long n): fills n 32-bit words.
	PoisonKernel = "flopcast_poison"
)

// CopySourceName is the file name NVRTC reports in its log.
const CopySourceName = "flopcast_copy.cu"
