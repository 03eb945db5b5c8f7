package nccl

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/cuda/internal/dl"
)

func TestFormatVersion(t *testing.T) {
	cases := map[int]string{22105: "2.21.5", 21803: "2.18.3", 22803: "2.28.3", 2708: "2.7.8", 2408: "2.4.8"}
	for v, want := range cases {
		if got := FormatVersion(v); got != want {
			t.Errorf("FormatVersion(%d) = %q, want %q", v, got, want)
		}
	}
	if ResultName(InProgress) != "ncclInProgress" || ResultName(42) != "ncclResult 42" {
		t.Errorf("ResultName: %q %q", ResultName(InProgress), ResultName(42))
	}
}

// TestLoadWithoutNCCL: where no libnccl.so.2 is found, Load fails with one
// line naming the library and every path tried, and every call after it
// returns that error instead of crashing.
func TestLoadWithoutNCCL(t *testing.T) {
	lib, err := Load()
	if err == nil {
		t.Skipf("NCCL %s loaded from %s: the missing-library path cannot be shown here", lib.VersionString(), lib.Path)
	}
	if !errors.Is(err, dl.ErrNotFound) {
		t.Fatalf("Load: %v, want a not-found error", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "libnccl.so.2 not found; tried: ") {
		t.Errorf("error is not one line naming libnccl.so.2: %q", msg)
	}
	if !strings.Contains(msg, "libnccl.so.2 (loader)") {
		t.Errorf("error does not list the loader's search: %q", msg)
	}
	if _, err2 := GetUniqueID(); err2 != err {
		t.Errorf("GetUniqueID after a failed Load: %v, want the load error", err2)
	}
	if _, err2 := InitRank(UniqueID{}, 1, 0, time.Second); err2 != err {
		t.Errorf("InitRank after a failed Load: %v, want the load error", err2)
	}
	if err2 := GroupStart(); err2 != err {
		t.Errorf("GroupStart after a failed Load: %v", err2)
	}
}

// TestNilCommIsSafe: closing what was never opened does nothing.
func TestNilCommIsSafe(t *testing.T) {
	var c *Comm
	if c.Abort() != nil || c.Destroy() != nil {
		t.Error("Abort/Destroy on a nil communicator failed")
	}
	if err := (&Comm{}).call("ncclAllReduce", Success); err == nil {
		t.Error("a call on a closed communicator succeeded")
	}
}
