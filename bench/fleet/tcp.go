package fleet

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/flopcast/flopcast/bench/backend"
)

// TCPComm is the CPU fallback collective backend: a full mesh of TCP
// connections between the ranks (real sockets between the processes), with
// ring all-reduce (reduce-scatter then all-gather), ring all-gather and
// reduce-scatter, pairwise all-to-all and send/recv. Data is float32
// holding small integers, so every sum is exact and every output element
// is checked for equality.
type TCPComm struct {
	rank, size int
	peers      []*meshConn
	fault      Fault
	opTimeout  time.Duration
}

var _ backend.Communicator = (*TCPComm)(nil)

type meshConn struct {
	c          net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	sent, recv uint32
}

// NewTCPComm opens the mesh: each rank listens on the address it reaches
// rank 0 from, the addresses are exchanged through the rendezvous, and each
// rank dials the lower ranks.
func NewTCPComm(ctx context.Context, rv *Rendezvous, fault Fault) (*TCPComm, error) {
	t := &TCPComm{rank: rv.env.Rank, size: rv.env.Size, peers: make([]*meshConn, rv.env.Size), fault: fault, opTimeout: rv.opts.OpTimeout}
	if t.size == 1 {
		return t, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(rv.LocalIP().String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("tcp collectives: listen: %v", err)
	}
	all, err := rv.Gather(ctx, []byte(ln.Addr().String()))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tcp collectives: exchanging addresses: %w", err)
	}
	var table []byte
	if t.rank == 0 {
		addrs := make([]string, t.size)
		for i, a := range all {
			addrs[i] = string(a)
		}
		table, _ = json.Marshal(addrs)
	}
	table, err = rv.Broadcast(ctx, 0, table)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tcp collectives: exchanging addresses: %w", err)
	}
	var addrs []string
	if err := json.Unmarshal(table, &addrs); err != nil || len(addrs) != t.size {
		ln.Close()
		return nil, errors.New("tcp collectives: bad address table from rank 0")
	}
	deadline := clip(ctx, time.Now().Add(rv.opts.Timeout))
	errc := make(chan error, 2)
	var mu sync.Mutex
	go func() { // accept the higher ranks
		want := t.size - 1 - t.rank
		if dl, ok := ln.(*net.TCPListener); ok {
			dl.SetDeadline(deadline)
		}
		for want > 0 {
			c, err := ln.Accept()
			if err != nil {
				errc <- fmt.Errorf("tcp collectives: waiting for higher ranks: %v", err)
				return
			}
			c.SetReadDeadline(deadline)
			var id [8]byte
			if _, err := io.ReadFull(c, id[:]); err != nil {
				c.Close()
				continue
			}
			r := int(binary.BigEndian.Uint64(id[:]))
			mu.Lock()
			ok := r > t.rank && r < t.size && t.peers[r] == nil
			if ok {
				t.peers[r] = newMeshConn(c)
				want--
			}
			mu.Unlock()
			if !ok {
				c.Close()
			}
		}
		errc <- nil
	}()
	go func() { // dial the lower ranks
		for r := 0; r < t.rank; r++ {
			d := net.Dialer{Deadline: deadline}
			c, err := d.DialContext(ctx, "tcp", addrs[r])
			if err != nil {
				errc <- fmt.Errorf("tcp collectives: rank %d cannot reach rank %d at %s: %v", t.rank, r, addrs[r], err)
				return
			}
			var id [8]byte
			binary.BigEndian.PutUint64(id[:], uint64(t.rank))
			c.SetWriteDeadline(deadline)
			if _, err := c.Write(id[:]); err != nil {
				c.Close()
				errc <- fmt.Errorf("tcp collectives: rank %d to rank %d: %v", t.rank, r, err)
				return
			}
			mu.Lock()
			t.peers[r] = newMeshConn(c)
			mu.Unlock()
		}
		errc <- nil
	}()
	var firstErr error
	for range 2 {
		if err := <-errc; err != nil && firstErr == nil {
			firstErr = err
			ln.Close()
		}
	}
	ln.Close()
	if firstErr != nil {
		t.Close()
		return nil, firstErr
	}
	for _, p := range t.peers {
		if p != nil {
			p.c.SetDeadline(time.Time{})
		}
	}
	return t, nil
}

func newMeshConn(c net.Conn) *meshConn {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &meshConn{c: c, r: bufio.NewReaderSize(c, 256<<10), w: bufio.NewWriterSize(c, 256<<10)}
}

// Name implements backend.Communicator.
func (t *TCPComm) Name() string { return "tcp" }

// Rank implements backend.Communicator.
func (t *TCPComm) Rank() int { return t.rank }

// Size implements backend.Communicator.
func (t *TCPComm) Size() int { return t.size }

// Close implements backend.Communicator.
func (t *TCPComm) Close() error {
	for i, p := range t.peers {
		if p != nil {
			p.c.Close()
			t.peers[i] = nil
		}
	}
	return nil
}

// msgHeader precedes every message: the operation, the message's number
// on this connection and direction, and its length in bytes, so that ranks
// running different collectives fail loudly instead of mixing data.
const msgHeader = 16

var opCode = map[backend.CollectiveOp]byte{
	backend.AllReduce: 1, backend.AllGather: 2, backend.ReduceScatter: 3,
	backend.AllToAll: 4, backend.SendRecv: 5, "barrier": 6,
}

func asBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

func (t *TCPComm) send(ctx context.Context, peer int, op byte, data []float32) error {
	p := t.peers[peer]
	if p == nil {
		return fmt.Errorf("tcp collectives: no connection to rank %d", peer)
	}
	if t.fault.SlowSend > 0 && (t.fault.SlowPeer < 0 || t.fault.SlowPeer == peer) {
		if err := sleep(ctx, t.fault.SlowSend); err != nil {
			return err
		}
	}
	var h [msgHeader]byte
	h[0] = op
	binary.BigEndian.PutUint32(h[4:], p.sent)
	binary.BigEndian.PutUint64(h[8:], uint64(len(data)*4))
	p.sent++
	p.c.SetWriteDeadline(t.deadline(ctx))
	if _, err := p.w.Write(h[:]); err != nil {
		return t.peerErr(peer, "sending to", err)
	}
	if _, err := p.w.Write(asBytes(data)); err != nil {
		return t.peerErr(peer, "sending to", err)
	}
	if err := p.w.Flush(); err != nil {
		return t.peerErr(peer, "sending to", err)
	}
	return nil
}

// recv reads one message from peer into dst, or adds it into dst when add
// is set.
func (t *TCPComm) recv(ctx context.Context, peer int, op byte, dst []float32, add bool, scratch []float32) error {
	p := t.peers[peer]
	if p == nil {
		return fmt.Errorf("tcp collectives: no connection to rank %d", peer)
	}
	p.c.SetReadDeadline(t.deadline(ctx))
	var h [msgHeader]byte
	if _, err := io.ReadFull(p.r, h[:]); err != nil {
		return t.peerErr(peer, "receiving from", err)
	}
	seq := binary.BigEndian.Uint32(h[4:])
	n := binary.BigEndian.Uint64(h[8:])
	if h[0] != op || seq != p.recv || n != uint64(len(dst)*4) {
		return fmt.Errorf("tcp collectives: rank %d sent message %d (op %d, %d bytes) where message %d (op %d, %d bytes) was due: the ranks run different steps", peer, seq, h[0], n, p.recv, op, len(dst)*4)
	}
	p.recv++
	buf := dst
	if add {
		buf = scratch[:len(dst)]
	}
	if _, err := io.ReadFull(p.r, asBytes(buf)); err != nil {
		return t.peerErr(peer, "receiving from", err)
	}
	if add {
		for i, v := range buf {
			dst[i] += v
		}
	}
	return nil
}

func (t *TCPComm) peerErr(peer int, what string, err error) error {
	if isTimeout(err) {
		return fmt.Errorf("tcp collectives: rank %d timed out %s rank %d", t.rank, what, peer)
	}
	return fmt.Errorf("tcp collectives: rank %d lost rank %d while %s it: %v", t.rank, peer, what, err)
}

func (t *TCPComm) deadline(ctx context.Context) time.Time {
	return ctxDeadline(ctx, t.opTimeout)
}

// exchange sends out to `to` while receiving from `from` (concurrently, so
// large messages cannot deadlock on full socket buffers).
func (t *TCPComm) exchange(ctx context.Context, op byte, to int, out []float32, from int, in []float32, add bool, scratch []float32) error {
	errc := make(chan error, 1)
	go func() { errc <- t.send(ctx, to, op, out) }()
	rerr := t.recv(ctx, from, op, in, add, scratch)
	serr := <-errc
	if serr != nil {
		return serr
	}
	return rerr
}

// Barrier implements backend.Communicator: a zero-byte all-to-all.
func (t *TCPComm) Barrier(ctx context.Context) error {
	stop := t.watch(ctx)
	defer stop()
	op := opCode["barrier"]
	for s := 1; s < t.size; s++ {
		to, from := (t.rank+s)%t.size, (t.rank-s+t.size)%t.size
		if err := t.exchange(ctx, op, to, nil, from, nil, false, nil); err != nil {
			return err
		}
	}
	return nil
}

// watch makes a cancelled ctx unblock every socket call.
func (t *TCPComm) watch(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		for _, p := range t.peers {
			if p != nil {
				p.c.SetDeadline(time.Unix(1, 0))
			}
		}
	})
}

// elementValue is the exact input value of element i on rank r at call it:
// a small integer in [-4, 4], so sums over up to 2^21 ranks are exact in
// float32.
func elementValue(r, i, it int) float32 {
	return float32((r*131+i*7+it*13)%9 - 4)
}

// groupSum returns a function giving Σ_{r in group} elementValue(r, i, it)
// in O(1) per element, from the ranks' residues mod 9.
func groupSum(group []int, it int) func(i int) float32 {
	var hist [9]int
	for _, r := range group {
		hist[(r*131)%9]++
	}
	var table [9]float32
	for k := range 9 { // k = (i*7 + it*13) mod 9
		var s int
		for a, n := range hist {
			s += n * ((a+k)%9 - 4)
		}
		table[k] = float32(s)
	}
	return func(i int) float32 { return table[(i*7+it*13)%9] }
}

// Run implements backend.Communicator.
func (t *TCPComm) Run(ctx context.Context, req backend.CommRequest) (backend.CommResult, error) {
	var res backend.CommResult
	group, err := t.group(req)
	if err != nil {
		return res, err
	}
	n := len(group)
	me := slices.Index(group, t.rank)
	op, ok := opCode[req.Op]
	if !ok || req.Op == "barrier" {
		return res, fmt.Errorf("tcp collectives: unknown collective %q", req.Op)
	}
	if req.Bytes < 4 || req.Bytes%4 != 0 {
		return res, fmt.Errorf("tcp collectives: %d bytes: want a positive multiple of 4 (float32 elements)", req.Bytes)
	}
	count := int(req.Bytes / 4)
	switch req.Op {
	case backend.AllGather, backend.ReduceScatter, backend.AllToAll:
		if count%n != 0 {
			return res, fmt.Errorf("tcp collectives: %s of %d bytes does not split evenly over %d ranks", req.Op, req.Bytes, n)
		}
	}
	if req.Iters < 1 || req.Warmup < 0 {
		return res, fmt.Errorf("tcp collectives: iterations %d, warm-up %d", req.Iters, req.Warmup)
	}
	stop := t.watch(ctx)
	defer stop()
	c := &call{t: t, ctx: ctx, op: op, req: req, group: group, me: me, n: n, count: count}
	c.alloc()
	total := req.Warmup + req.Iters
	if req.LocalPhase != nil {
		total += req.Iters
	}
	for it := 0; it < total; it++ {
		timed := it >= req.Warmup
		phased := it >= req.Warmup+req.Iters
		if phased {
			if t.fault.SlowRank > 0 {
				if err := sleep(ctx, t.fault.SlowRank); err != nil {
					return res, err
				}
			}
			if err := req.LocalPhase(); err != nil {
				return res, fmt.Errorf("local phase: %v", err)
			}
		}
		c.fill(it)
		start := time.Now()
		if err := c.run(); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, err
		}
		sec := time.Since(start).Seconds()
		if t.fault.Corrupt && len(c.out) > 0 {
			c.out[0] += 1
		}
		wrong, checked := c.check(it)
		res.WrongElements += wrong
		res.Elements += checked
		switch {
		case phased:
			res.WaitSeconds = append(res.WaitSeconds, sec)
		case timed:
			res.Seconds = append(res.Seconds, sec)
		}
	}
	return res, nil
}

func (t *TCPComm) group(req backend.CommRequest) ([]int, error) {
	if req.Op == backend.SendRecv {
		if req.Peer < 0 || req.Peer >= t.size || req.Peer == t.rank {
			return nil, fmt.Errorf("tcp collectives: send/recv peer %d of rank %d in a world of %d", req.Peer, t.rank, t.size)
		}
		return []int{min(t.rank, req.Peer), max(t.rank, req.Peer)}, nil
	}
	if req.Ranks == nil {
		g := make([]int, t.size)
		for i := range g {
			g[i] = i
		}
		return g, nil
	}
	g := slices.Clone(req.Ranks)
	slices.Sort(g)
	g = slices.Compact(g)
	if len(g) != len(req.Ranks) || len(g) == 0 || g[0] < 0 || g[len(g)-1] >= t.size {
		return nil, fmt.Errorf("tcp collectives: bad group %v", req.Ranks)
	}
	if !slices.Contains(g, t.rank) {
		return nil, fmt.Errorf("tcp collectives: rank %d is not in group %v", t.rank, req.Ranks)
	}
	return g, nil
}

// call is one collective at one size on this rank: its buffers and steps.
type call struct {
	t       *TCPComm
	ctx     context.Context
	op      byte
	req     backend.CommRequest
	group   []int
	me, n   int
	count   int
	in, out []float32
	scratch []float32
}

func (c *call) alloc() {
	switch c.req.Op {
	case backend.AllReduce:
		c.out = make([]float32, c.count) // in place
		c.scratch = make([]float32, (c.count+c.n-1)/c.n)
	case backend.AllGather:
		c.out = make([]float32, c.count)
	case backend.ReduceScatter:
		c.in = make([]float32, c.count)
		c.out = make([]float32, c.count/c.n)
		c.scratch = make([]float32, c.count/c.n)
	case backend.AllToAll, backend.SendRecv:
		c.in = make([]float32, c.count)
		c.out = make([]float32, c.count)
	}
}

// chunk is the i-th of n near-equal pieces of [0, count).
func chunk(count, n, i int) (int, int) {
	i = ((i % n) + n) % n
	return count * i / n, count * (i + 1) / n
}

// fill writes call it's inputs and poisons the outputs with NaN, so an
// element never written fails the check.
func (c *call) fill(it int) {
	nan := float32(math.NaN())
	rank := c.t.rank
	switch c.req.Op {
	case backend.AllReduce:
		for i := range c.out {
			c.out[i] = elementValue(rank, i, it)
		}
	case backend.AllGather:
		for i := range c.out {
			c.out[i] = nan
		}
		per := c.count / c.n
		for j := range per {
			c.out[c.me*per+j] = elementValue(rank, j, it)
		}
	case backend.ReduceScatter, backend.AllToAll, backend.SendRecv:
		for i := range c.in {
			c.in[i] = elementValue(rank, i, it)
		}
		for i := range c.out {
			c.out[i] = nan
		}
	}
}

// run performs one call.
func (c *call) run() error {
	n, me, g := c.n, c.me, c.group
	switch c.req.Op {
	case backend.AllReduce:
		if err := c.reduceScatter(c.out, c.count); err != nil {
			return err
		}
		return c.allGather(c.out, c.count)
	case backend.AllGather:
		return c.allGather(c.out, c.count)
	case backend.ReduceScatter:
		if err := c.reduceScatter(c.in, c.count); err != nil {
			return err
		}
		lo, hi := chunk(c.count, n, me)
		copy(c.out, c.in[lo:hi])
		return nil
	case backend.AllToAll:
		per := c.count / n
		copy(c.out[me*per:(me+1)*per], c.in[me*per:(me+1)*per])
		for s := 1; s < n; s++ {
			to, from := (me+s)%n, (me-s+n)%n
			if err := c.t.exchange(c.ctx, c.op, g[to], c.in[to*per:(to+1)*per], g[from], c.out[from*per:(from+1)*per], false, nil); err != nil {
				return err
			}
		}
		return nil
	case backend.SendRecv:
		peer := c.req.Peer
		return c.t.exchange(c.ctx, c.op, peer, c.in, peer, c.out, false, nil)
	}
	return nil
}

// reduceScatter runs the ring reduce-scatter on buf: afterwards this rank's
// chunk (index me) holds the sum over the group.
func (c *call) reduceScatter(buf []float32, count int) error {
	return c.ring(buf, count, 1, true)
}

// allGather runs the ring all-gather on buf, starting from this rank's
// chunk (index me).
func (c *call) allGather(buf []float32, count int) error {
	return c.ring(buf, count, 0, false)
}

// ring runs the n−1 steps of a ring pass on buf: at step s this rank sends
// chunk me−s−shift to the next rank and receives chunk me−s−shift−1 from
// the previous one, added into buf when add is set.
func (c *call) ring(buf []float32, count, shift int, add bool) error {
	n, me, g := c.n, c.me, c.group
	if n == 1 {
		return nil
	}
	next, prev := g[(me+1)%n], g[(me-1+n)%n]
	for s := 0; s < n-1; s++ {
		slo, shi := chunk(count, n, me-s-shift)
		rlo, rhi := chunk(count, n, me-s-shift-1)
		if err := c.t.exchange(c.ctx, c.op, next, buf[slo:shi], prev, buf[rlo:rhi], add, c.scratch); err != nil {
			return err
		}
	}
	return nil
}

// check compares every output element with its exact expected value and
// returns the wrong ones and the number checked.
func (c *call) check(it int) (wrong, checked int64) {
	n, me, g := c.n, c.me, c.group
	switch c.req.Op {
	case backend.AllReduce:
		sum := groupSum(g, it)
		for i, v := range c.out {
			if v != sum(i) {
				wrong++
			}
		}
	case backend.AllGather:
		per := c.count / n
		for b := range n {
			for j := range per {
				if c.out[b*per+j] != elementValue(g[b], j, it) {
					wrong++
				}
			}
		}
	case backend.ReduceScatter:
		sum := groupSum(g, it)
		lo, _ := chunk(c.count, n, me)
		for j, v := range c.out {
			if v != sum(lo+j) {
				wrong++
			}
		}
	case backend.AllToAll:
		per := c.count / n
		for b := range n {
			for j := range per {
				if c.out[b*per+j] != elementValue(g[b], me*per+j, it) {
					wrong++
				}
			}
		}
	case backend.SendRecv:
		for i, v := range c.out {
			if v != elementValue(c.req.Peer, i, it) {
				wrong++
			}
		}
	}
	return wrong, int64(len(c.out))
}

// BusFactor is nccl-tests' bus-bandwidth factor for op on n ranks:
// busbw = algbw × factor (all-reduce 2(n−1)/n; all-gather, reduce-scatter
// and all-to-all (n−1)/n; send/recv 1).
func BusFactor(op backend.CollectiveOp, n int) float64 {
	if n < 1 {
		return 0
	}
	nf := float64(n)
	switch op {
	case backend.AllReduce:
		return 2 * (nf - 1) / nf
	case backend.AllGather, backend.ReduceScatter, backend.AllToAll:
		return (nf - 1) / nf
	case backend.SendRecv:
		return 1
	}
	return 0
}

// RoundBytes rounds b down to what op can carry evenly on n ranks (whole
// float32 elements, a multiple of n where the op splits the buffer), at
// least one element per rank.
func RoundBytes(op backend.CollectiveOp, b int64, n int) int64 {
	unit := int64(4)
	switch op {
	case backend.AllGather, backend.ReduceScatter, backend.AllToAll:
		unit = 4 * int64(n)
	}
	r := b / unit * unit
	if r < unit {
		r = unit
	}
	return r
}
