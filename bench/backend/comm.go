package backend

import "context"

// CollectiveOp names a collective operation, as results files spell it.
type CollectiveOp string

// The collectives a Communicator runs.
const (
	AllReduce     CollectiveOp = "all_reduce"
	AllGather     CollectiveOp = "all_gather"
	ReduceScatter CollectiveOp = "reduce_scatter"
	AllToAll      CollectiveOp = "all_to_all"
	SendRecv      CollectiveOp = "send_recv"
)

// CollectiveOps lists every collective in a stable order.
var CollectiveOps = []CollectiveOp{AllReduce, AllGather, ReduceScatter, AllToAll, SendRecv}

// CommRequest asks a Communicator to time one collective at one size.
type CommRequest struct {
	Op CollectiveOp
	// Bytes is the size as nccl-tests counts it: the output buffer of
	// all-gather, the input of reduce-scatter, the buffer of all-reduce,
	// all-to-all and send/recv on each rank.
	Bytes int64
	// Warmup is the number of untimed calls; Iters the timed ones.
	Warmup, Iters int
	// Peer is the send/recv partner (a world rank).
	Peer int
	// Ranks is the sub-group, in world ranks, that takes part; nil means
	// every rank. Ranks not in it must not call Run with it.
	Ranks []int
	// LocalPhase, when non-nil, is a fixed local phase (the same work on
	// every rank) run before every timed call; CommResult.WaitSeconds is
	// then the time spent in the collective after it (the late rank waits
	// least). It is not part of Seconds.
	LocalPhase func() error
}

// CommResult is what one rank saw of one CommRequest.
type CommResult struct {
	// Seconds holds each timed call's duration on this rank.
	Seconds []float64
	// WaitSeconds holds, per timed call, the time this rank waited inside
	// the collective after the fixed local phase.
	WaitSeconds []float64
	// WrongElements counts output elements that differed from the exact
	// expected value, over every call; Elements counts those checked.
	WrongElements int64
	Elements      int64
}

// Communicator runs collectives among the ranks of one fleet run. Each
// implementation owns its buffers, fills them with exact small-integer
// data derived from (rank, element index, iteration), checks every output
// element exactly and counts the wrong ones. Every call honours ctx's
// deadline. Methods are called from one goroutine at a time.
type Communicator interface {
	// Name says what carries the data, e.g. "tcp" or "nccl 2.21.5".
	Name() string
	// Rank is this process's world rank; Size the world size.
	Rank() int
	Size() int
	// Run times one collective.
	Run(ctx context.Context, req CommRequest) (CommResult, error)
	// Barrier returns once every rank has entered it.
	Barrier(ctx context.Context) error
	// Close releases the connections and buffers.
	Close() error
}
