// Package nccl binds NCCL (libnccl.so.2), loaded at run time with dlopen
// from the CUDA toolkit, the distribution or pip's nvidia-nccl wheel
// (site-packages/nvidia/nccl/lib): version, unique id, communicators
// (non-blocking, with error polling and abort on a deadline, where
// ncclCommInitRankConfig exists; blocking ncclCommInitRank otherwise),
// all-reduce, all-gather, reduce-scatter, all-to-all (ncclAlltoAll where
// the library has it, else grouped send/recv), send/recv and groups. The
// declarations are flopcast's own (nccl_shim.h); the values they rely on
// are pinned by the ABI tests against nccl.h of NCCL 2.18.3.
//
// Device addresses are driver.Ptr values and streams driver.Stream
// handles; the caller makes the device's context current (driver
// Context.Do) around every call, as NCCL requires.
package nccl

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include <string.h>
#include "nccl_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/internal/dl"
	"github.com/flopcast/flopcast/cuda/internal/poll"
)

// Lib is the library's name in *cuda.Error.
const Lib = "nccl"

// Spec is how NCCL is looked for: FLOPCAST_CUDA_PATH, the loader's path,
// the CUDA toolkit, the distribution's directories and Python's
// site-packages (pip's nvidia-nccl-cu12 puts libnccl.so.2 in
// nvidia/nccl/lib, which dl.Candidates searches as nvidia/*/lib).
var Spec = dl.Spec{Name: "nccl", Sonames: []string{"libnccl.so.2"}}

// Result codes (ncclResult_t).
const (
	Success            = 0
	UnhandledCudaError = 1
	SystemError        = 2
	InternalError      = 3
	InvalidArgument    = 4
	InvalidUsage       = 5
	RemoteError        = 6
	InProgress         = 7
)

var resultNames = map[int]string{
	Success: "ncclSuccess", UnhandledCudaError: "ncclUnhandledCudaError", SystemError: "ncclSystemError",
	InternalError: "ncclInternalError", InvalidArgument: "ncclInvalidArgument", InvalidUsage: "ncclInvalidUsage",
	RemoteError: "ncclRemoteError", InProgress: "ncclInProgress",
}

// DataType is an ncclDataType_t.
type DataType int

// The data types flopcast uses (ncclDataType_t values).
const (
	Int8     DataType = 0
	Uint8    DataType = 1
	Int32    DataType = 2
	Uint32   DataType = 3
	Int64    DataType = 4
	Uint64   DataType = 5
	Float16  DataType = 6
	Float32  DataType = 7
	Float64  DataType = 8
	BFloat16 DataType = 9
)

// Size returns the bytes of one element.
func (d DataType) Size() int64 {
	switch d {
	case Int8, Uint8:
		return 1
	case Float16, BFloat16:
		return 2
	case Int32, Uint32, Float32:
		return 4
	default:
		return 8
	}
}

// RedOp is an ncclRedOp_t.
type RedOp int

// The reduction operations (ncclRedOp_t values).
const (
	Sum  RedOp = 0
	Prod RedOp = 1
	Max  RedOp = 2
	Min  RedOp = 3
	Avg  RedOp = 4
)

// UniqueIDBytes is NCCL_UNIQUE_ID_BYTES.
const UniqueIDBytes = 128

// UniqueID is an ncclUniqueId: rank 0 makes it, every rank gets a copy
// (flopcast sends it over the fleet rendezvous) and passes it to InitRank.
type UniqueID [UniqueIDBytes]byte

// symbols are bound by Load; optional ones are bound when present.
var symbols = map[string][]string{
	"version": {"ncclGetVersion"}, "uniqueID": {"ncclGetUniqueId"},
	"initRank": {"ncclCommInitRank"}, "asyncError": {"ncclCommGetAsyncError"},
	"abort": {"ncclCommAbort"}, "destroy": {"ncclCommDestroy"},
	"errString": {"ncclGetErrorString"},
	"allReduce": {"ncclAllReduce"}, "allGather": {"ncclAllGather"}, "reduceScatter": {"ncclReduceScatter"},
	"send": {"ncclSend"}, "recv": {"ncclRecv"},
	"groupStart": {"ncclGroupStart"}, "groupEnd": {"ncclGroupEnd"},
}

// optional symbols: newer NCCLs only.
var optional = map[string]string{
	"initRankConfig": "ncclCommInitRankConfig", // 2.14
	"finalize":       "ncclCommFinalize",       // 2.14
	"lastError":      "ncclGetLastError",       // 2.13
	"allToAll":       "ncclAlltoAll",           // 2.28
}

// Library describes the loaded NCCL.
type Library struct {
	// Path is the file mapped; Soname the candidate opened; Source where
	// it was found (see dl.Candidates).
	Path, Soname, Source string
	// Version is ncclGetVersion's code, e.g. 22105 for 2.21.5.
	Version int
	// NonBlocking: ncclCommInitRankConfig is present, so communicators
	// are created non-blocking and can be aborted on a deadline.
	NonBlocking bool
	// AllToAll: ncclAlltoAll is present (else grouped send/recv).
	AllToAll bool
}

// VersionString formats Version: NCCL encodes 2.8 and earlier as
// major·1000 + minor·100 + patch and later ones as major·10000 +
// minor·100 + patch.
func (l Library) VersionString() string { return FormatVersion(l.Version) }

// FormatVersion formats an NCCL version code as "2.21.5".
func FormatVersion(v int) string {
	if v < 10000 {
		return fmt.Sprintf("%d.%d.%d", v/1000, v%1000/100, v%100)
	}
	return fmt.Sprintf("%d.%d.%d", v/10000, v%10000/100, v%100)
}

var (
	loadOnce sync.Once
	loaded   Library
	fn       map[string]unsafe.Pointer
	loadErr  error
)

// Load opens NCCL once per process and binds its functions. A missing
// library is a *dl.NotFoundError (errors.Is dl.ErrNotFound) naming every
// path tried.
func Load() (Library, error) {
	loadOnce.Do(func() {
		lib, cand, f, err := dl.LoadBound(Spec, symbols)
		if err != nil {
			loadErr = err
			return
		}
		for k, name := range optional {
			if p, err := lib.Sym(name); err == nil {
				f[k] = p
			}
		}
		fn = f
		var v C.int
		if err := check("ncclGetVersion", C.flop_nccl_pint(f["version"], &v)); err != nil {
			loadErr = err
			return
		}
		loaded = Library{Path: lib.Path, Soname: cand.Path, Source: cand.Source, Version: int(v),
			NonBlocking: f["initRankConfig"] != nil, AllToAll: f["allToAll"] != nil}
	})
	return loaded, loadErr
}

// ErrNotLoaded is returned by calls made before a successful Load.
var ErrNotLoaded = errors.New("libnccl is not loaded")

func ready() error {
	if loadErr != nil {
		return loadErr
	}
	if fn == nil {
		return ErrNotLoaded
	}
	return nil
}

// ResultName names an ncclResult_t.
func ResultName(code int) string {
	if n, ok := resultNames[code]; ok {
		return n
	}
	return fmt.Sprintf("ncclResult %d", code)
}

func check(op string, rc C.ncclRes) error {
	if rc == Success {
		return nil
	}
	msg := ""
	if p := fn["errString"]; p != nil {
		if s := C.flop_nccl_str(p, rc); s != nil {
			msg = C.GoString(s)
		}
	}
	return &cuda.Error{Lib: Lib, Op: op, Code: int(rc), Name: ResultName(int(rc)), Message: msg}
}

// GetUniqueID makes the id rank 0 shares with every rank.
func GetUniqueID() (UniqueID, error) {
	var id UniqueID
	if err := ready(); err != nil {
		return id, err
	}
	var cid C.flop_nccl_id
	if err := check("ncclGetUniqueId", C.flop_nccl_uid(fn["uniqueID"], &cid)); err != nil {
		return id, err
	}
	copy(id[:], C.GoBytes(unsafe.Pointer(&cid), UniqueIDBytes))
	return id, nil
}

// Comm is one rank's communicator.
type Comm struct {
	h           unsafe.Pointer
	rank, size  int
	nonBlocking bool
	// Timeout bounds every wait on the communicator (initialisation and
	// each call's completion of enqueueing); past it the communicator is
	// aborted and the call fails with an error matching cuda.ErrTimeout.
	Timeout time.Duration
}

// Rank and Size return the communicator's rank and rank count.
func (c *Comm) Rank() int { return c.rank }

// Size returns the number of ranks.
func (c *Comm) Size() int { return c.size }

// NonBlocking reports whether the communicator was created non-blocking.
func (c *Comm) NonBlocking() bool { return c.nonBlocking }

// InitRank creates rank's communicator among nranks on the device whose
// context is current. With ncclCommInitRankConfig the communicator is
// non-blocking: InitRank polls ncclCommGetAsyncError until it is ready
// and, past timeout (a rank that never joins), aborts it and returns an
// error matching cuda.ErrTimeout. Without it, ncclCommInitRank blocks
// (NCCL before 2.14 cannot be bounded from here).
func InitRank(id UniqueID, nranks, rank int, timeout time.Duration) (*Comm, error) {
	if err := ready(); err != nil {
		return nil, err
	}
	if nranks < 1 || rank < 0 || rank >= nranks {
		return nil, fmt.Errorf("nccl: rank %d of %d is out of range", rank, nranks)
	}
	var cid C.flop_nccl_id
	C.memcpy(unsafe.Pointer(&cid), unsafe.Pointer(&id[0]), UniqueIDBytes)
	c := &Comm{rank: rank, size: nranks, Timeout: timeout}
	var h unsafe.Pointer
	if p := fn["initRankConfig"]; p != nil {
		var cfg C.flop_nccl_config
		C.flop_nccl_config_init(&cfg, 0)
		c.nonBlocking = true
		rc := C.flop_nccl_init_config(p, &h, C.int(nranks), &cid, C.int(rank), &cfg)
		c.h = h
		if rc != Success && rc != InProgress {
			return nil, c.failed("ncclCommInitRankConfig", rc)
		}
		if err := c.Wait("ncclCommInitRankConfig"); err != nil {
			return nil, err
		}
		return c, nil
	}
	rc := C.flop_nccl_init(fn["initRank"], &h, C.int(nranks), &cid, C.int(rank))
	c.h = h
	if rc != Success {
		return nil, c.failed("ncclCommInitRank", rc)
	}
	return c, nil
}

// failed aborts a communicator after a failed call, returning the call's
// error.
func (c *Comm) failed(op string, rc C.ncclRes) error {
	err := check(op, rc)
	if m := c.lastError(); m != "" {
		err = fmt.Errorf("%w (%s)", err, m)
	}
	c.Abort()
	return err
}

func (c *Comm) lastError() string {
	if p := fn["lastError"]; p != nil && c.h != nil {
		if s := C.flop_nccl_last(p, c.h); s != nil {
			return C.GoString(s)
		}
	}
	return ""
}

// AsyncError returns ncclCommGetAsyncError's state: Success, InProgress
// or the error the communicator hit.
func (c *Comm) AsyncError() (int, error) {
	var r C.ncclRes
	if err := check("ncclCommGetAsyncError", C.flop_nccl_async_error(fn["asyncError"], c.h, &r)); err != nil {
		return 0, err
	}
	return int(r), nil
}

// Wait polls ncclCommGetAsyncError until the communicator is no longer in
// progress; past Timeout it aborts the communicator. op names the call
// waited for in errors. A collective inside a timed window can answer
// ncclInProgress, so the wait spins before it ever sleeps (poll.Until):
// a Go sleep is ~1 ms coarse.
func (c *Comm) Wait(op string) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	var r int
	err := poll.Until(timeout, poll.Spin, func() (bool, error) {
		var err error
		r, err = c.AsyncError()
		return r != InProgress, err
	})
	switch {
	case errors.Is(err, poll.ErrTimeout):
		c.Abort()
		return fmt.Errorf("%s: not done within %v, communicator aborted: %w", op, timeout, cuda.ErrTimeout)
	case err != nil:
		c.Abort()
		return err
	case r != Success:
		return c.failed(op, C.ncclRes(r))
	}
	return nil
}

// call runs one NCCL call; on a non-blocking communicator an InProgress
// answer is waited out (bounded by Timeout).
func (c *Comm) call(op string, rc C.ncclRes) error {
	if c.h == nil {
		return fmt.Errorf("%s: communicator closed", op)
	}
	if rc == InProgress && c.nonBlocking {
		return c.Wait(op)
	}
	if rc != Success {
		return c.failed(op, rc)
	}
	return nil
}

// AllReduce enqueues an all-reduce of count elements on stream.
func (c *Comm) AllReduce(send, recv driver.Ptr, count int64, dt DataType, op RedOp, stream driver.Stream) error {
	return c.call("ncclAllReduce", C.flop_nccl_allreduce(fn["allReduce"], C.uint64_t(send), C.uint64_t(recv),
		C.size_t(count), C.int(dt), C.int(op), c.h, stream.Handle()))
}

// AllGather enqueues an all-gather: sendCount elements from each rank,
// sendCount·Size in recv.
func (c *Comm) AllGather(send, recv driver.Ptr, sendCount int64, dt DataType, stream driver.Stream) error {
	return c.call("ncclAllGather", C.flop_nccl_allgather(fn["allGather"], C.uint64_t(send), C.uint64_t(recv),
		C.size_t(sendCount), C.int(dt), c.h, stream.Handle()))
}

// ReduceScatter enqueues a reduce-scatter: recvCount·Size elements in,
// recvCount out on each rank.
func (c *Comm) ReduceScatter(send, recv driver.Ptr, recvCount int64, dt DataType, op RedOp, stream driver.Stream) error {
	return c.call("ncclReduceScatter", C.flop_nccl_reducescatter(fn["reduceScatter"], C.uint64_t(send), C.uint64_t(recv),
		C.size_t(recvCount), C.int(dt), C.int(op), c.h, stream.Handle()))
}

// AllToAll enqueues an all-to-all of count elements per pair of ranks:
// block j of send goes to rank j, block i of recv comes from rank i. It
// uses ncclAlltoAll where the library has it, else one group of
// ncclSend/ncclRecv per peer (as nccl-tests does).
func (c *Comm) AllToAll(send, recv driver.Ptr, count int64, dt DataType, stream driver.Stream) error {
	if p := fn["allToAll"]; p != nil {
		return c.call("ncclAlltoAll", C.flop_nccl_alltoall(p, C.uint64_t(send), C.uint64_t(recv),
			C.size_t(count), C.int(dt), c.h, stream.Handle()))
	}
	block := count * dt.Size()
	if err := GroupStart(); err != nil {
		return err
	}
	var first error
	for r := 0; r < c.size; r++ {
		if err := c.call("ncclSend", C.flop_nccl_sendrecv(fn["send"], C.uint64_t(send.Add(int64(r)*block)), C.size_t(count), C.int(dt), C.int(r), c.h, stream.Handle())); err != nil && first == nil {
			first = err
		}
		if err := c.call("ncclRecv", C.flop_nccl_sendrecv(fn["recv"], C.uint64_t(recv.Add(int64(r)*block)), C.size_t(count), C.int(dt), C.int(r), c.h, stream.Handle())); err != nil && first == nil {
			first = err
		}
	}
	if err := c.groupEnd(); err != nil && first == nil {
		first = err
	}
	return first
}

// SendRecv enqueues, in one group, a send of count elements to peer and a
// receive of as many from peer (both directions of a link at once).
func (c *Comm) SendRecv(send, recv driver.Ptr, count int64, dt DataType, peer int, stream driver.Stream) error {
	if peer < 0 || peer >= c.size {
		return fmt.Errorf("nccl: peer %d of %d is out of range", peer, c.size)
	}
	if err := GroupStart(); err != nil {
		return err
	}
	err1 := c.call("ncclSend", C.flop_nccl_sendrecv(fn["send"], C.uint64_t(send), C.size_t(count), C.int(dt), C.int(peer), c.h, stream.Handle()))
	err2 := c.call("ncclRecv", C.flop_nccl_sendrecv(fn["recv"], C.uint64_t(recv), C.size_t(count), C.int(dt), C.int(peer), c.h, stream.Handle()))
	err3 := c.groupEnd()
	return errors.Join(err1, err2, err3)
}

// GroupStart opens an NCCL group.
func GroupStart() error {
	if err := ready(); err != nil {
		return err
	}
	return check("ncclGroupStart", C.flop_nccl_void(fn["groupStart"]))
}

// groupEnd closes a group; on a non-blocking communicator it may answer
// InProgress, which is waited out.
func (c *Comm) groupEnd() error {
	return c.call("ncclGroupEnd", C.flop_nccl_void(fn["groupEnd"]))
}

// Abort aborts the communicator (any rank stuck in it returns) and frees
// it. It is safe to call twice.
func (c *Comm) Abort() error {
	if c == nil || c.h == nil {
		return nil
	}
	h := c.h
	c.h = nil
	return check("ncclCommAbort", C.flop_nccl_comm(fn["abort"], h))
}

// Destroy finalizes (where ncclCommFinalize exists, waiting out its
// completion within Timeout) and destroys the communicator; a finalize
// that does not complete aborts it instead.
func (c *Comm) Destroy() error {
	if c == nil || c.h == nil {
		return nil
	}
	if p := fn["finalize"]; p != nil {
		if err := c.call("ncclCommFinalize", C.flop_nccl_comm(p, c.h)); err != nil {
			c.Abort()
			return err
		}
		if c.nonBlocking {
			if err := c.Wait("ncclCommFinalize"); err != nil {
				return err
			}
		}
	}
	h := c.h
	c.h = nil
	runtime.KeepAlive(c)
	return check("ncclCommDestroy", C.flop_nccl_comm(fn["destroy"], h))
}
