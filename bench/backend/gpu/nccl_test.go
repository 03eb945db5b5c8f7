package gpu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/cuda/nccl"
)

// loopback is the Broadcaster of a one-rank world.
func loopback(_ context.Context, _ int, p []byte) ([]byte, error) {
	return append([]byte(nil), p...), nil
}

// TestOpenNCCLBadInput: a missing broadcaster, a rank out of range and a
// group with a rank outside the world are refused before anything loads.
func TestOpenNCCLBadInput(t *testing.T) {
	ctx := context.Background()
	cases := []NCCLConfig{
		{Rank: 0, Size: 1},
		{Rank: 2, Size: 2, Broadcast: loopback},
		{Rank: 0, Size: 2, Broadcast: loopback, Groups: [][]int{{0, 5}}},
	}
	for _, c := range cases {
		if comm, err := OpenNCCL(ctx, c); err == nil {
			comm.Close()
			t.Errorf("OpenNCCL(%+v) succeeded", c)
		}
	}
}

// TestOpenNCCLWithoutLibrary: where NCCL or the GPU is missing the error
// is one line.
func TestOpenNCCLWithoutLibrary(t *testing.T) {
	if _, err := nccl.Load(); err == nil {
		if n, err := Available(); err == nil && n > 0 {
			t.Skip("NCCL and a GPU are here: nothing is missing")
		}
	}
	_, err := OpenNCCL(context.Background(), NCCLConfig{Rank: 0, Size: 1, Broadcast: loopback, Timeout: 10 * time.Second})
	if err == nil {
		t.Fatal("OpenNCCL succeeded without NCCL or a GPU")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

// TestNCCLOneRankCollectives (GPU and NCCL): a one-rank communicator's
// collectives at three sizes, every element right, positive times.
func TestNCCLOneRankCollectives(t *testing.T) {
	lib, err := nccl.Load()
	if err != nil {
		t.Skipf("needs NCCL (libnccl.so.2): %v", err)
	}
	if n, err := Available(); err != nil || n == 0 {
		t.Skipf("needs an NVIDIA GPU: %s", NoDriverReason(err))
	}
	t.Logf("NCCL %s from %s (%s), non-blocking %v, ncclAlltoAll %v", lib.VersionString(), lib.Path, lib.Source, lib.NonBlocking, lib.AllToAll)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	comm, err := OpenNCCL(ctx, NCCLConfig{Device: 0, Rank: 0, Size: 1, Broadcast: loopback, Groups: [][]int{{0}}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := comm.Close(); err != nil {
			t.Error(err)
		}
	}()
	if !strings.HasPrefix(comm.Name(), "nccl 2.") {
		t.Errorf("Name() = %q", comm.Name())
	}
	for _, op := range backend.CollectiveOps {
		for _, bytes := range []int64{4, 1 << 20, 64 << 20} {
			r, err := comm.Run(ctx, backend.CommRequest{Op: op, Bytes: bytes, Warmup: 2, Iters: 5, Peer: 0})
			if err != nil {
				t.Fatalf("%s %d B: %v", op, bytes, err)
			}
			if r.WrongElements != 0 || r.Elements != bytes/4 || len(r.Seconds) != 5 {
				t.Errorf("%s %d B: %d wrong of %d elements, %d times", op, bytes, r.WrongElements, r.Elements, len(r.Seconds))
			}
			for _, s := range r.Seconds {
				if !(s > 0 && s < 10) {
					t.Errorf("%s %d B: time %v s", op, bytes, s)
				}
			}
			t.Logf("%s %d B: first timed call %.1f µs", op, bytes, r.Seconds[0]*1e6)
		}
	}
	r, err := comm.Run(ctx, backend.CommRequest{Op: backend.AllReduce, Bytes: 1 << 20, Iters: 3, LocalPhase: func() error { time.Sleep(time.Millisecond); return nil }})
	if err != nil || len(r.WaitSeconds) != 3 || r.WrongElements != 0 {
		t.Errorf("all-reduce after a local phase: %+v, %v", r, err)
	}
	if err := comm.Barrier(ctx); err != nil {
		t.Error(err)
	}
}

// TestNCCLCommFor: requests find the communicator of their group (nil:
// the world); a group not set up, or one this rank is not in, is an error
// naming it.
func TestNCCLCommFor(t *testing.T) {
	world, node := &nccl.Comm{}, &nccl.Comm{}
	c := &NCCLComm{cfg: NCCLConfig{Rank: 1, Size: 4},
		comms:  map[string]*nccl.Comm{"0,1,2,3": world, "0,1": node},
		groups: map[string][]int{"0,1,2,3": {0, 1, 2, 3}, "0,1": {0, 1}, "2,3": {2, 3}}}
	if got, g, err := c.commFor(nil); err != nil || got != world || len(g) != 4 {
		t.Errorf("world: %p %v %v", got, g, err)
	}
	if got, g, err := c.commFor([]int{0, 1}); err != nil || got != node || len(g) != 2 {
		t.Errorf("node group: %p %v %v", got, g, err)
	}
	if _, _, err := c.commFor([]int{2, 3}); err == nil || !strings.Contains(err.Error(), "not in group 2,3") {
		t.Errorf("other node's group: %v", err)
	}
	if _, _, err := c.commFor([]int{0, 2}); err == nil || !strings.Contains(err.Error(), "not set up") {
		t.Errorf("unknown group: %v", err)
	}
}
