package driver

import (
	"errors"
	"testing"
)

// TestPeerValues pins the peer-access values used (cuda.h of CUDA 12.6:
// CUresult and CUdevice_P2PAttribute) and the names bound.
func TestPeerValues(t *testing.T) {
	got := []int{errPeerUnsupported, errPeerAlreadyEnabled, errTooManyPeers, int(P2PPerformanceRank), int(P2PAccessSupported), int(P2PNativeAtomic)}
	want := []int{217, 704, 711, 1, 2, 3}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("value %d = %d, want %d", i, got[i], want[i])
		}
	}
	names := map[string]string{"canAccessPeer": "cuDeviceCanAccessPeer", "p2pAttr": "cuDeviceGetP2PAttribute",
		"enablePeer": "cuCtxEnablePeerAccess", "peerCopyAsync": "cuMemcpyPeerAsync"}
	for k, n := range names {
		if s := peerSymbols[k]; len(s) != 1 || s[0] != n {
			t.Errorf("peerSymbols[%q] = %v, want [%s]", k, s, n)
		}
	}
}

// TestPeerWithoutDriver: without libcuda the peer calls return the load
// error instead of crashing.
func TestPeerWithoutDriver(t *testing.T) {
	if _, err := Load(); err == nil {
		t.Skip("a driver is loaded here")
	}
	if _, err := CanAccessPeer(Device{}, Device{}); err == nil {
		t.Error("CanAccessPeer succeeded without a driver")
	}
	if err := (Stream{}).CopyPeerAsync(0, &Context{}, 0, &Context{}, 8); err == nil || errors.Is(err, ErrPeerUnsupported) {
		t.Errorf("CopyPeerAsync without a driver: %v", err)
	}
}
