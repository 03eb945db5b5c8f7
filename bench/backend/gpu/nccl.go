package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nccl"
)

// Broadcaster sends root's payload to every rank and returns it on each:
// the fleet rendezvous's Broadcast, which carries NCCL's unique ids.
type Broadcaster func(ctx context.Context, root int, payload []byte) ([]byte, error)

// NCCLConfig says where one rank's NCCL communicator lives.
type NCCLConfig struct {
	// Device is the GPU ordinal this rank drives.
	Device int
	// Rank and Size are the world rank and size.
	Rank, Size int
	// Broadcast distributes unique ids (required).
	Broadcast Broadcaster
	// Groups are the sub-groups (world ranks) that Run may be asked for
	// besides the whole world, e.g. the ranks of each node and one rank
	// per node. Every rank passes the same list in the same order; a
	// communicator is made for each group this rank is in.
	Groups [][]int
	// Timeout bounds communicator creation and every wait (default 2 min).
	Timeout time.Duration
	// SlowLocal and Corrupt are injected faults, for tests only: a sleep
	// before each local phase (a late rank) and one output element changed
	// after each size (a wrong result the check must catch).
	SlowLocal time.Duration
	Corrupt   bool
}

// NCCLComm is a backend.Communicator over NCCL on one GPU: device
// buffers, float32 small-integer data checked element by element after
// every size, CUDA-event timing of calls issued back to back.
type NCCLComm struct {
	cfg    NCCLConfig
	lib    nccl.Library
	ctx    *driver.Context
	stream driver.Stream
	comms  map[string]*nccl.Comm // by groupKey; "" is the world
	groups map[string][]int
	seed   int64
}

var _ backend.Communicator = (*NCCLComm)(nil)

func groupKey(ranks []int) string {
	parts := make([]string, len(ranks))
	for i, r := range ranks {
		parts[i] = strconv.Itoa(r)
	}
	return strings.Join(parts, ",")
}

// OpenNCCL loads NCCL, makes the world communicator and one per group
// this rank is in; world rank 0 (a group's first rank) makes each unique
// id and cfg.Broadcast carries it. Every rank must call it with the same
// Size and Groups. Without NCCL or a GPU it fails in one line.
func OpenNCCL(ctx context.Context, cfg NCCLConfig) (*NCCLComm, error) {
	if cfg.Broadcast == nil {
		return nil, errors.New("nccl: no broadcaster for the unique id")
	}
	if cfg.Size < 1 || cfg.Rank < 0 || cfg.Rank >= cfg.Size {
		return nil, fmt.Errorf("nccl: rank %d of %d is out of range", cfg.Rank, cfg.Size)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	for _, g := range cfg.Groups {
		if len(g) == 0 || slices.ContainsFunc(g, func(r int) bool { return r < 0 || r >= cfg.Size }) {
			return nil, fmt.Errorf("nccl: group %v is not a set of world ranks", g)
		}
	}
	lib, err := nccl.Load()
	if err != nil {
		return nil, err
	}
	if _, err := driver.Load(); err != nil {
		return nil, err
	}
	dev, err := driver.GetDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	dctx, err := dev.RetainPrimaryContext()
	if err != nil {
		return nil, err
	}
	c := &NCCLComm{cfg: cfg, lib: lib, ctx: dctx, comms: map[string]*nccl.Comm{}, groups: map[string][]int{}}
	if err := dctx.Do(func() error {
		s, err := driver.NewStream()
		c.stream = s
		return err
	}); err != nil {
		c.Close()
		return nil, err
	}
	world := make([]int, cfg.Size)
	for i := range world {
		world[i] = i
	}
	for _, g := range append([][]int{world}, cfg.Groups...) {
		if err := c.join(ctx, g); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// join makes the communicator of group (a collective over every world
// rank: the id is broadcast world-wide from the group's first rank).
func (c *NCCLComm) join(ctx context.Context, group []int) error {
	key := groupKey(group)
	if _, done := c.groups[key]; done {
		return nil
	}
	root := group[0]
	var id nccl.UniqueID
	if c.cfg.Rank == root {
		var err error
		if id, err = nccl.GetUniqueID(); err != nil {
			return err
		}
	}
	got, err := c.cfg.Broadcast(ctx, root, id[:])
	if err != nil {
		return fmt.Errorf("nccl: sharing the unique id of group %s: %w", key, err)
	}
	if len(got) != nccl.UniqueIDBytes {
		return fmt.Errorf("nccl: unique id of %d bytes received, want %d", len(got), nccl.UniqueIDBytes)
	}
	copy(id[:], got)
	c.groups[key] = group
	pos := slices.Index(group, c.cfg.Rank)
	if pos < 0 {
		return nil
	}
	return c.ctx.Do(func() error {
		comm, err := nccl.InitRank(id, len(group), pos, c.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("nccl: communicator of ranks %s: %w", key, err)
		}
		c.comms[key] = comm
		return nil
	})
}

// Name says NCCL and its version.
func (c *NCCLComm) Name() string { return "nccl " + c.lib.VersionString() }

// Rank is the world rank.
func (c *NCCLComm) Rank() int { return c.cfg.Rank }

// Size is the world size.
func (c *NCCLComm) Size() int { return c.cfg.Size }

// Library describes the NCCL in use.
func (c *NCCLComm) Library() nccl.Library { return c.lib }

// commFor returns the communicator and group of a request.
func (c *NCCLComm) commFor(ranks []int) (*nccl.Comm, []int, error) {
	if ranks == nil {
		ranks = make([]int, c.cfg.Size)
		for i := range ranks {
			ranks[i] = i
		}
	}
	key := groupKey(ranks)
	comm := c.comms[key]
	if comm == nil {
		if _, known := c.groups[key]; known {
			return nil, nil, fmt.Errorf("nccl: rank %d is not in group %s", c.cfg.Rank, key)
		}
		return nil, nil, fmt.Errorf("nccl: group %s was not set up (NCCLConfig.Groups)", key)
	}
	return comm, ranks, nil
}

// Run times one collective: buffers of req.Bytes (as nccl-tests counts
// them), inputs uploaded and the output poisoned with NaN before the
// calls, Warmup untimed calls, Iters timed calls issued back to back with
// an event between each two (Seconds), with LocalPhase Iters more calls
// each after the local phase (WaitSeconds, as the TCP backend does), then
// every output element checked.
func (c *NCCLComm) Run(ctx context.Context, req backend.CommRequest) (backend.CommResult, error) {
	var res backend.CommResult
	ranks := req.Ranks
	if req.Op == backend.SendRecv {
		// Point to point involves only the two ranks: the world
		// communicator carries it, whatever pair the fleet picks.
		ranks = nil
	}
	comm, group, err := c.commFor(ranks)
	if err != nil {
		return res, err
	}
	l, err := layoutFor(req.Op, req.Bytes, len(group))
	if err != nil {
		return res, err
	}
	if req.Op == backend.SendRecv && slices.Index(group, req.Peer) < 0 {
		return res, fmt.Errorf("nccl: send/recv peer %d is not in the group", req.Peer)
	}
	if req.Iters < 1 {
		return res, errors.New("nccl: at least one timed call is needed")
	}
	c.seed++
	seed := c.seed
	in := make([]float32, l.in)
	fillInput(in, c.cfg.Rank, seed)
	out := make([]float32, l.out)
	peerPos := slices.Index(group, req.Peer)
	err = c.ctx.Do(func() error {
		send, err := driver.Alloc(l.in * 4)
		if err != nil {
			return err
		}
		defer driver.Free(send)
		recv, err := driver.Alloc(l.out * 4)
		if err != nil {
			return err
		}
		defer driver.Free(recv)
		if err := driver.CopyToDevice(send, f32Bytes(in)); err != nil {
			return err
		}
		if err := c.stream.Memset32Async(recv, 0x7fc00000, l.out); err != nil { // NaN
			return err
		}
		call := func() error {
			switch req.Op {
			case backend.AllReduce:
				return comm.AllReduce(send, recv, l.count, nccl.Float32, nccl.Sum, c.stream)
			case backend.AllGather:
				return comm.AllGather(send, recv, l.count, nccl.Float32, c.stream)
			case backend.ReduceScatter:
				return comm.ReduceScatter(send, recv, l.count, nccl.Float32, nccl.Sum, c.stream)
			case backend.AllToAll:
				return comm.AllToAll(send, recv, l.count, nccl.Float32, c.stream)
			default:
				return comm.SendRecv(send, recv, l.count, nccl.Float32, peerPos, c.stream)
			}
		}
		for i := 0; i < req.Warmup; i++ {
			if err := call(); err != nil {
				return err
			}
		}
		if err := c.wait(ctx, comm); err != nil {
			return err
		}
		if res.Seconds, err = timeBackToBack(c.stream, req.Iters, call, func() error { return c.wait(ctx, comm) }); err != nil {
			return err
		}
		if req.LocalPhase != nil {
			local := req.LocalPhase
			if d := c.cfg.SlowLocal; d > 0 {
				// Injected test fault (NCCLConfig.SlowLocal): the sleep
				// runs in the local phase, before timeEach records its
				// start event, so it lies outside every timed window on
				// this rank; the peers see it as time waited.
				local = func() error { time.Sleep(d); return req.LocalPhase() }
			}
			if res.WaitSeconds, err = c.timeEach(ctx, comm, req.Iters, local, call); err != nil {
				return err
			}
		}
		return driver.CopyToHost(f32Bytes(out), recv)
	})
	if err != nil {
		return backend.CommResult{}, err
	}
	if c.cfg.Corrupt && len(out) > 0 {
		out[0]++
	}
	res.Elements = int64(len(out))
	res.WrongElements = countWrong(out, req.Op, group, c.cfg.Rank, req.Peer, l, seed)
	return res, nil
}

// wait waits for the stream within the deadline of ctx or Timeout,
// aborting the communicator when it passes (a peer that stopped would
// otherwise hold the stream forever).
func (c *NCCLComm) wait(ctx context.Context, comm *nccl.Comm) error {
	timeout := c.cfg.Timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if err := c.stream.Wait(max(timeout, time.Millisecond)); err != nil {
		comm.Abort()
		return fmt.Errorf("nccl: collective did not finish (communicator aborted): %w", err)
	}
	if comm.NonBlocking() {
		r, err := comm.AsyncError()
		if err != nil {
			return err
		}
		if r != nccl.Success && r != nccl.InProgress {
			comm.Abort()
			return fmt.Errorf("nccl: communicator error %s", nccl.ResultName(r))
		}
	}
	return ctx.Err()
}

// timeEach runs the local phase, then one call between two events, n
// times: the call's time is how long this rank waited in the collective
// for the others after the same local work.
func (c *NCCLComm) timeEach(ctx context.Context, comm *nccl.Comm, n int, local func() error, call func() error) (waits []float64, err error) {
	start, err := driver.NewEvent()
	if err != nil {
		return nil, err
	}
	defer start.Destroy()
	stop, err := driver.NewEvent()
	if err != nil {
		return nil, err
	}
	defer stop.Destroy()
	for i := 0; i < n; i++ {
		if err := local(); err != nil {
			return nil, err
		}
		if err := start.Record(c.stream); err != nil {
			return nil, err
		}
		if err := call(); err != nil {
			return nil, err
		}
		if err := stop.Record(c.stream); err != nil {
			return nil, err
		}
		if err := c.wait(ctx, comm); err != nil {
			return nil, err
		}
		s, err := driver.Elapsed(start, stop)
		if err != nil {
			return nil, err
		}
		waits = append(waits, s)
	}
	return waits, nil
}

// Barrier is an all-reduce of one element over the world, waited for.
func (c *NCCLComm) Barrier(ctx context.Context) error {
	_, err := c.Run(ctx, backend.CommRequest{Op: backend.AllReduce, Bytes: 4, Iters: 1})
	return err
}

// Close destroys the communicators (aborting any that do not finalize in
// time), the stream and the context reference.
func (c *NCCLComm) Close() error {
	var errs []error
	if c.ctx != nil {
		errs = append(errs, c.ctx.Do(func() error {
			var e []error
			for k, comm := range c.comms {
				e = append(e, comm.Destroy())
				delete(c.comms, k)
			}
			e = append(e, c.stream.Destroy())
			return errors.Join(e...)
		}))
		errs = append(errs, c.ctx.Release())
		c.ctx = nil
	}
	return errors.Join(errs...)
}

// f32Bytes views a float32 slice as bytes.
func f32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}
