package driver

/*
#include "cuda_shim.h"

static CUresult flop_cu_can_peer(void *f, int *v, CUdevice a, CUdevice b) {
	return ((CUresult (*)(int *, CUdevice, CUdevice))f)(v, a, b);
}
static CUresult flop_cu_p2p_attr(void *f, int *v, int attr, CUdevice a, CUdevice b) {
	return ((CUresult (*)(int *, int, CUdevice, CUdevice))f)(v, attr, a, b);
}
static CUresult flop_cu_enable_peer(void *f, CUcontext peer, unsigned flags) {
	return ((CUresult (*)(CUcontext, unsigned))f)(peer, flags);
}
static CUresult flop_cu_peer_copy(void *f, CUdeviceptr dst, CUcontext dctx, CUdeviceptr src, CUcontext sctx, size_t n, CUstream s) {
	return ((CUresult (*)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t, CUstream))f)(dst, dctx, src, sctx, n, s);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// peerSymbols are the peer-to-peer calls, bound on first use (the rest of
// the driver binding does not need them).
var peerSymbols = map[string][]string{
	"canAccessPeer": {"cuDeviceCanAccessPeer"},
	"p2pAttr":       {"cuDeviceGetP2PAttribute"},
	"enablePeer":    {"cuCtxEnablePeerAccess"},
	"peerCopyAsync": {"cuMemcpyPeerAsync"},
}

// Driver status codes of peer access (cuda.h CUresult).
const (
	errPeerUnsupported    = 217 // CUDA_ERROR_PEER_ACCESS_UNSUPPORTED
	errPeerAlreadyEnabled = 704 // CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
	errTooManyPeers       = 711 // CUDA_ERROR_TOO_MANY_PEERS
)

// P2PAttr is a CUdevice_P2PAttribute value.
type P2PAttr int

// The peer attributes read (cuda.h CUdevice_P2PAttribute).
const (
	P2PPerformanceRank P2PAttr = 1 // relative performance of the link, 0 best
	P2PAccessSupported P2PAttr = 2
	P2PNativeAtomic    P2PAttr = 3
)

var (
	peerOnce sync.Once
	peerFn   map[string]unsafe.Pointer
	peerErr  error
)

func peerReady() error {
	if err := ready(); err != nil {
		return err
	}
	peerOnce.Do(func() {
		peerFn, peerErr = lib.BindAll(peerSymbols)
	})
	return peerErr
}

// CanAccessPeer reports whether d can address peer's memory directly
// (cuDeviceCanAccessPeer).
func CanAccessPeer(d, peer Device) (bool, error) {
	if err := peerReady(); err != nil {
		return false, err
	}
	var v C.int
	err := check("cuDeviceCanAccessPeer", C.flop_cu_can_peer(peerFn["canAccessPeer"], &v, d.h, peer.h))
	return v != 0, err
}

// P2PAttribute reads one attribute of the link from src to dst.
func P2PAttribute(a P2PAttr, src, dst Device) (int, error) {
	if err := peerReady(); err != nil {
		return 0, err
	}
	var v C.int
	err := check("cuDeviceGetP2PAttribute", C.flop_cu_p2p_attr(peerFn["p2pAttr"], &v, C.int(a), src.h, dst.h))
	return int(v), err
}

// ErrPeerUnsupported is returned by EnablePeerAccess where the two GPUs
// cannot address each other (copies between them then go through the
// host).
var ErrPeerUnsupported = errors.New("peer access not supported between these GPUs")

// EnablePeerAccess lets c's device address peer's memory; it must run
// inside c.Do. Access already enabled is not an error.
func (c *Context) EnablePeerAccess(peer *Context) error {
	if err := peerReady(); err != nil {
		return err
	}
	rc := C.flop_cu_enable_peer(peerFn["enablePeer"], peer.h, 0)
	switch rc {
	case 0, errPeerAlreadyEnabled:
		return nil
	case errPeerUnsupported, errTooManyPeers:
		return fmt.Errorf("cuCtxEnablePeerAccess: %w (%v)", ErrPeerUnsupported, check("cuCtxEnablePeerAccess", rc))
	}
	return check("cuCtxEnablePeerAccess", rc)
}

// CopyPeerAsync enqueues on s a copy of n bytes from src in srcCtx's
// device to dst in dstCtx's device (cuMemcpyPeerAsync): over NVLink or
// PCIe peer-to-peer where access is enabled, staged through the host
// otherwise.
func (s Stream) CopyPeerAsync(dst Ptr, dstCtx *Context, src Ptr, srcCtx *Context, n int64) error {
	if err := peerReady(); err != nil {
		return err
	}
	return check("cuMemcpyPeerAsync", C.flop_cu_peer_copy(peerFn["peerCopyAsync"], C.CUdeviceptr(dst), dstCtx.h,
		C.CUdeviceptr(src), srcCtx.h, C.size_t(n), s.h))
}
