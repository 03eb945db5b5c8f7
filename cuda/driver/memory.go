package driver

/*
#include "cuda_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	ipoll "github.com/flopcast/flopcast/cuda/internal/poll"
)

// Ptr is a device address.
type Ptr uint64

// Add returns p offset by n bytes.
func (p Ptr) Add(n int64) Ptr { return p + Ptr(n) }

// MemInfo returns the free and total device memory of the current context.
func MemInfo() (free, total int64, err error) {
	var f, t C.size_t
	err = check("cuMemGetInfo", C.flop_cu_meminfo(fn["memInfo"], &f, &t))
	return int64(f), int64(t), err
}

// Alloc allocates n bytes of device memory.
func Alloc(n int64) (Ptr, error) {
	var p C.CUdeviceptr
	if err := check("cuMemAlloc", C.flop_cu_alloc(fn["memAlloc"], &p, C.size_t(n))); err != nil {
		return 0, fmt.Errorf("allocating %.2f GiB: %w", float64(n)/(1<<30), err)
	}
	return Ptr(p), nil
}

// Free frees device memory; freeing 0 does nothing.
func Free(p Ptr) error {
	if p == 0 {
		return nil
	}
	return check("cuMemFree", C.flop_cu_dfree(fn["memFree"], C.CUdeviceptr(p)))
}

// HostAlloc allocates n bytes of page-locked host memory, which
// asynchronous copies need.
func HostAlloc(n int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if err := check("cuMemHostAlloc", C.flop_cu_hostalloc(fn["hostAlloc"], &p, C.size_t(n), 0)); err != nil {
		return nil, err
	}
	return p, nil
}

// HostFree frees memory from HostAlloc.
func HostFree(p unsafe.Pointer) error {
	if p == nil {
		return nil
	}
	return check("cuMemFreeHost", C.flop_cu_ptr(fn["hostFree"], p))
}

// CopyToDevice copies len(src) bytes from host to device, synchronously
// with respect to every stream of the context (see syncCopy).
func CopyToDevice(dst Ptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return syncCopy("cuMemcpyHtoD", func() C.CUresult {
		return C.flop_cu_htod(fn["htod"], C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(len(src)))
	})
}

// CopyToHost copies len(dst) bytes from device to host, synchronously
// with respect to every stream of the context (see syncCopy).
func CopyToHost(dst []byte, src Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	return syncCopy("cuMemcpyDtoH", func() C.CUresult {
		return C.flop_cu_dtoh(fn["dtoh"], unsafe.Pointer(&dst[0]), C.CUdeviceptr(src), C.size_t(len(dst)))
	})
}

// syncCopy runs a synchronous cuMemcpy between two cuCtxSynchronize
// calls. The plain copies run on the legacy default stream, which does not
// wait for work on flopcast's non-blocking streams (NewStream), and a
// copy from pageable host memory to the device may return before its DMA
// has landed (the driver API's "API synchronization behavior" notes); the
// first synchronize orders the copy after all enqueued work, the second
// makes it complete before any later work is enqueued.
func syncCopy(op string, copyFn func() C.CUresult) error {
	if err := check("cuCtxSynchronize", C.flop_cu_void(fn["ctxSync"])); err != nil {
		return err
	}
	if err := check(op, copyFn()); err != nil {
		return err
	}
	return check("cuCtxSynchronize", C.flop_cu_void(fn["ctxSync"]))
}

// Stream is a CUDA stream.
type Stream struct{ h C.CUstream }

// NewStream creates a stream that does not synchronize with the legacy
// default stream.
func NewStream() (Stream, error) {
	var h unsafe.Pointer
	err := check("cuStreamCreate", C.flop_cu_create(fn["streamCreate"], &h, 1)) // CU_STREAM_NON_BLOCKING
	return Stream{C.CUstream(h)}, err
}

// Handle is the CUstream for other libraries (cuBLASLt).
func (s Stream) Handle() unsafe.Pointer { return unsafe.Pointer(s.h) }

// Destroy destroys the stream.
func (s Stream) Destroy() error {
	if s.h == nil {
		return nil
	}
	return check("cuStreamDestroy", C.flop_cu_ptr(fn["streamDestroy"], unsafe.Pointer(s.h)))
}

// CopyToDeviceAsync enqueues a host-to-device copy from pinned memory.
func (s Stream) CopyToDeviceAsync(dst Ptr, src unsafe.Pointer, n int64) error {
	return check("cuMemcpyHtoDAsync", C.flop_cu_htod_a(fn["htodAsync"], C.CUdeviceptr(dst), src, C.size_t(n), s.h))
}

// CopyToHostAsync enqueues a device-to-host copy into pinned memory.
func (s Stream) CopyToHostAsync(dst unsafe.Pointer, src Ptr, n int64) error {
	return check("cuMemcpyDtoHAsync", C.flop_cu_dtoh_a(fn["dtohAsync"], dst, C.CUdeviceptr(src), C.size_t(n), s.h))
}

// CopyAsync enqueues a device-to-device copy of n bytes.
func (s Stream) CopyAsync(dst, src Ptr, n int64) error {
	return check("cuMemcpyDtoDAsync", C.flop_cu_dtod_a(fn["dtodAsync"], C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(n), s.h))
}

// Memset16Async sets count 16-bit words at p to v.
func (s Stream) Memset16Async(p Ptr, v uint16, count int64) error {
	return check("cuMemsetD16Async", C.flop_cu_memset16(fn["memset16"], C.CUdeviceptr(p), C.ushort(v), C.size_t(count), s.h))
}

// Memset32Async sets count 32-bit words at p to v.
func (s Stream) Memset32Async(p Ptr, v uint32, count int64) error {
	return check("cuMemsetD32Async", C.flop_cu_memset32(fn["memset32"], C.CUdeviceptr(p), C.uint(v), C.size_t(count), s.h))
}

// Wait waits for the stream's work, polling, and gives up after timeout
// with an error matching cuda.ErrTimeout: a hung kernel is reported, not
// waited on forever. The poll sleeps between queries, so Wait is for
// set-up, checks and clean-up; timed work ends with Synchronize.
func (s Stream) Wait(timeout time.Duration) error {
	return poll("cuStreamQuery", timeout, func() C.CUresult { return C.flop_cu_ptr(fn["streamQuery"], unsafe.Pointer(s.h)) })
}

// Synchronize blocks in the driver (cuStreamSynchronize) until the
// stream's work is done: no host sleep lies between the last kernel's end
// and the return. It has no timeout; callers bound it from outside.
func (s Stream) Synchronize() error {
	return check("cuStreamSynchronize", C.flop_cu_ptr(fn["streamSync"], unsafe.Pointer(s.h)))
}

// notReady is CUDA_ERROR_NOT_READY.
const notReady = 600

// poll queries until the work is done or timeout passes (see
// poll.Until: it spins for the first poll.Spin, then sleeps). Never used
// inside a timed window (see Synchronize).
func poll(op string, timeout time.Duration, query func() C.CUresult) error {
	var rc C.CUresult
	err := ipoll.Until(timeout, ipoll.Spin, func() (bool, error) {
		rc = query()
		return rc != notReady, nil
	})
	if errors.Is(err, ipoll.ErrTimeout) {
		return fmt.Errorf("%s: work did not finish within %v: %w", op, timeout, cuda.ErrTimeout)
	}
	return check(op, rc)
}

// Event is a CUDA event.
type Event struct{ h C.CUevent }

// NewEvent creates an event with timing enabled.
func NewEvent() (Event, error) {
	var h unsafe.Pointer
	err := check("cuEventCreate", C.flop_cu_create(fn["eventCreate"], &h, 0))
	return Event{C.CUevent(h)}, err
}

// Handle is the CUevent.
func (e Event) Handle() unsafe.Pointer { return unsafe.Pointer(e.h) }

// Record enqueues the event on s.
func (e Event) Record(s Stream) error {
	return check("cuEventRecord", C.flop_cu_record(fn["eventRecord"], e.h, s.h))
}

// Wait waits for the event, polling, up to timeout (see Stream.Wait: not
// for timed work).
func (e Event) Wait(timeout time.Duration) error {
	return poll("cuEventQuery", timeout, func() C.CUresult { return C.flop_cu_ptr(fn["eventQuery"], unsafe.Pointer(e.h)) })
}

// Synchronize blocks in the driver (cuEventSynchronize) until the event
// has completed: the wait that ends a timed window, with no host sleep
// between the device finishing and the host seeing it. No timeout.
func (e Event) Synchronize() error {
	return check("cuEventSynchronize", C.flop_cu_ptr(fn["eventSync"], unsafe.Pointer(e.h)))
}

// Elapsed returns the seconds between two completed events.
func Elapsed(start, end Event) (float64, error) {
	var ms C.float
	err := check("cuEventElapsedTime", C.flop_cu_elapsed(fn["eventElapsed"], &ms, start.h, end.h))
	return float64(ms) / 1e3, err
}

// Destroy destroys the event.
func (e Event) Destroy() error {
	if e.h == nil {
		return nil
	}
	return check("cuEventDestroy", C.flop_cu_ptr(fn["eventDestroy"], unsafe.Pointer(e.h)))
}

// Func returns the bound address of a driver function by its key, for C
// trampolines in other packages that record events around their own
// calls ("eventRecord").
func Func(key string) unsafe.Pointer { return fn[key] }
