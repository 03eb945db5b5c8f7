package fleet

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// world joins n in-process ranks on loopback; nodes[r] names rank r's node.
func world(t testing.TB, ctx context.Context, nodes []string, hello func(r int) Hello, opts Options) ([]*Rendezvous, []error) {
	t.Helper()
	addr := freeAddr(t)
	n := len(nodes)
	rvs := make([]*Rendezvous, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := range n {
		if nodes[r] == "" { // never arrives
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := Env{Launcher: LauncherFlags, Rank: r, Size: n, Node: nodes[r], Rendezvous: addr, NodeRank: -1}
			h := Hello{Version: "1.0", SuiteHash: "abc"}
			if hello != nil {
				h = hello(r)
			}
			rvs[r], errs[r] = Join(ctx, env, h, opts)
		}()
	}
	wg.Wait()
	return rvs, errs
}

func TestRendezvousRosterAndOps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := []string{"a", "a", "b", "b"}
	rvs, errs := world(t, ctx, nodes, nil, Options{Timeout: 5 * time.Second, RunID: "run1"})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r, rv := range rvs {
		defer rv.Close()
		if rv.RunID() != "run1" {
			t.Errorf("rank %d run id %q", r, rv.RunID())
		}
		e := rv.Env()
		if e.NodeRank != r/2 || e.LocalRank != r%2 || e.LocalSize != 2 || strings.Join(e.Nodes, ",") != "a,b" {
			t.Errorf("rank %d env %+v", r, e)
		}
	}
	var wg sync.WaitGroup
	got := make([]string, 4)
	gathered := make([][][]byte, 4)
	opErrs := make([]error, 4)
	for r, rv := range rvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := rv.Broadcast(ctx, 2, []byte(fmt.Sprint("from ", r)))
			if err != nil {
				opErrs[r] = err
				return
			}
			got[r] = string(b)
			if err := rv.Barrier(ctx); err != nil {
				opErrs[r] = err
				return
			}
			gathered[r], opErrs[r] = rv.Gather(ctx, []byte{byte(r)})
		}()
	}
	wg.Wait()
	for r := range 4 {
		if opErrs[r] != nil {
			t.Fatalf("rank %d: %v", r, opErrs[r])
		}
		if got[r] != "from 2" {
			t.Errorf("rank %d broadcast got %q", r, got[r])
		}
	}
	if len(gathered[0]) != 4 || gathered[1] != nil {
		t.Fatalf("gather: %v / %v", gathered[0], gathered[1])
	}
	for r, b := range gathered[0] {
		if len(b) != 1 || int(b[0]) != r {
			t.Errorf("gather[%d] = %v", r, b)
		}
	}
}

func TestRendezvousMissingRankNamed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, errs := world(t, ctx, []string{"a", "a", "", "b"}, nil, Options{Timeout: 700 * time.Millisecond})
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	re, ok := errs[0].(*RanksError)
	if !ok || fmt.Sprint(re.Ranks) != "[2]" || len(re.Arrived) != 3 {
		t.Fatalf("rank 0: %v", errs[0])
	}
	if !strings.Contains(errs[0].Error(), "rank 2 did not arrive") {
		t.Errorf("message: %v", errs[0])
	}
	for _, r := range []int{1, 3} {
		if errs[r] == nil || !IsAbort(errs[r]) || !strings.Contains(errs[r].Error(), "rank 2") {
			t.Errorf("rank %d: %v", r, errs[r])
		}
	}
}

func TestRendezvousMismatchNamesOddRanks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hello := func(r int) Hello {
		h := Hello{Version: "1.0", SuiteHash: "abc"}
		if r == 3 {
			h.Version = "0.9"
		}
		if r == 1 {
			h.SuiteHash = "zzz"
		}
		return h
	}
	_, errs := world(t, ctx, []string{"a", "a", "b", "b"}, hello, Options{Timeout: 5 * time.Second})
	me, ok := errs[0].(*MismatchError)
	if !ok || fmt.Sprint(me.Ranks) != "[1 3]" {
		t.Fatalf("rank 0: %#v", errs[0])
	}
	if !strings.Contains(me.Msg, "rank 3 (node b) runs flopcast 0.9") || !strings.Contains(me.Msg, "rank 1 (node a) has other suite flags") {
		t.Errorf("message: %s", me.Msg)
	}
	if !IsAbort(errs[2]) {
		t.Errorf("rank 2: %v", errs[2])
	}
}

func TestRendezvousDeadRootNoHang(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Nobody listens: rank 1 gives up after the timeout with a line.
	env := Env{Rank: 1, Size: 2, Node: "x", Rendezvous: freeAddr(t)}
	start := time.Now()
	_, err := Join(ctx, env, Hello{}, Options{Timeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not answer within") {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	// Rank 0 dies after the rendezvous: the barrier fails, naming it.
	rvs, errs := world(t, ctx, []string{"a", "b"}, nil, Options{Timeout: 5 * time.Second, OpTimeout: 3 * time.Second})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	rvs[0].Close()
	err = rvs[1].Barrier(ctx)
	if err == nil || !strings.Contains(err.Error(), "rank 0") {
		t.Fatalf("barrier after rank 0 died: %v", err)
	}
	rvs[1].Close()
}

// comms builds a TCP mesh over in-process ranks.
func comms(t testing.TB, ctx context.Context, nodes []string, faults map[int]Fault) []*TCPComm {
	t.Helper()
	rvs, errs := world(t, ctx, nodes, nil, Options{Timeout: 5 * time.Second, OpTimeout: 10 * time.Second})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	out := make([]*TCPComm, len(nodes))
	var wg sync.WaitGroup
	for r := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := faults[r]
			if f == (Fault{}) {
				f.SlowPeer = -1
			}
			out[r], errs[r] = NewTCPComm(ctx, rvs[r], f)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("mesh rank %d: %v", r, err)
		}
	}
	t.Cleanup(func() {
		for r := range out {
			out[r].Close()
			rvs[r].Close()
		}
	})
	return out
}

// runAll runs req on every rank of cs for which include says so.
func runAll(ctx context.Context, cs []*TCPComm, req func(r int) (backend.CommRequest, bool)) ([]backend.CommResult, []error) {
	res := make([]backend.CommResult, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for r, c := range cs {
		q, ok := req(r)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[r], errs[r] = c.Run(ctx, q)
		}()
	}
	wg.Wait()
	return res, errs
}

func TestTCPCollectivesExact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []int{1, 3, 4} {
		nodes := make([]string, n)
		for i := range nodes {
			nodes[i] = fmt.Sprint("n", i/2)
		}
		cs := comms(t, ctx, nodes, nil)
		for _, op := range backend.CollectiveOps {
			if op == backend.SendRecv && n == 1 {
				continue
			}
			for _, size := range []int64{4, 1000, 256 << 10} {
				b := RoundBytes(op, size, n)
				res, errs := runAll(ctx, cs, func(r int) (backend.CommRequest, bool) {
					return backend.CommRequest{Op: op, Bytes: b, Warmup: 1, Iters: 2, Peer: r ^ 1}, op != backend.SendRecv || r^1 < n
				})
				for r := range n {
					if op == backend.SendRecv && r^1 >= n {
						continue
					}
					if errs[r] != nil {
						t.Fatalf("n=%d %s %d: rank %d: %v", n, op, b, r, errs[r])
					}
					if res[r].WrongElements != 0 || res[r].Elements == 0 || len(res[r].Seconds) != 2 {
						t.Errorf("n=%d %s %d rank %d: %+v", n, op, b, r, res[r])
					}
				}
			}
		}
	}
}

func TestTCPSubgroupsAndFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := comms(t, ctx, []string{"a", "a", "b", "b"}, map[int]Fault{3: {Corrupt: true, SlowPeer: -1}, 1: {SlowRank: 60 * time.Millisecond, SlowPeer: -1}})
	// Two intra-node groups at once.
	res, errs := runAll(ctx, cs, func(r int) (backend.CommRequest, bool) {
		g := []int{0, 1}
		if r >= 2 {
			g = []int{2, 3}
		}
		return backend.CommRequest{Op: backend.AllReduce, Bytes: 4096, Iters: 3, Ranks: g}, true
	})
	for r := range 4 {
		if errs[r] != nil {
			t.Fatal(r, errs[r])
		}
		want := int64(0)
		if r == 3 {
			want = 3 // one element per call
		}
		if res[r].WrongElements != want {
			t.Errorf("rank %d wrong %d, want %d", r, res[r].WrongElements, want)
		}
	}
	// A local phase: rank 1 is late, so it waits least.
	res, errs = runAll(ctx, cs, func(r int) (backend.CommRequest, bool) {
		return backend.CommRequest{Op: backend.AllReduce, Bytes: 4096, Iters: 3, LocalPhase: func() error { return nil }}, true
	})
	for r := range 4 {
		if errs[r] != nil {
			t.Fatal(r, errs[r])
		}
		if len(res[r].WaitSeconds) != 3 {
			t.Fatalf("rank %d waits %v", r, res[r].WaitSeconds)
		}
	}
	for _, r := range []int{0, 2, 3} {
		if res[r].WaitSeconds[1] < 0.04 || res[1].WaitSeconds[1] > 0.03 {
			t.Errorf("waits: rank %d %v, rank 1 %v", r, res[r].WaitSeconds, res[1].WaitSeconds)
		}
	}
}

func TestBusFactorsAndRounding(t *testing.T) {
	for _, c := range []struct {
		op   backend.CollectiveOp
		n    int
		want float64
	}{
		{backend.AllReduce, 4, 1.5}, {backend.AllReduce, 1, 0}, {backend.AllGather, 4, 0.75},
		{backend.ReduceScatter, 2, 0.5}, {backend.AllToAll, 8, 0.875}, {backend.SendRecv, 2, 1},
	} {
		if got := BusFactor(c.op, c.n); got != c.want {
			t.Errorf("BusFactor(%s, %d) = %v, want %v", c.op, c.n, got, c.want)
		}
	}
	if got := RoundBytes(backend.AllGather, 1000, 3); got != 996 {
		t.Errorf("RoundBytes = %d", got)
	}
	if got := RoundBytes(backend.AllReduce, 2, 3); got != 4 {
		t.Errorf("RoundBytes = %d", got)
	}
}

// TestRendezvousStopAndCollect: rank 0 stops early while rank 1 waits for a
// broadcast and rank 2 has already sent its results: rank 1 is told to
// stop (no wait for the deadline) and every file arrives.
func TestRendezvousStopAndCollect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rvs, errs := world(t, ctx, []string{"a", "b", "c"}, nil, Options{Timeout: 5 * time.Second, OpTimeout: 15 * time.Second})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if err := rvs[2].SendResults(ctx, []byte("two")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got1 := make(chan error, 1)
	go func() {
		_, err := rvs[1].Broadcast(ctx, 0, nil)
		if err == ErrStopped {
			err = rvs[1].SendResults(ctx, []byte("one"))
		} else if err == nil {
			err = fmt.Errorf("broadcast returned without an error")
		}
		got1 <- err
	}()
	time.Sleep(100 * time.Millisecond)
	all, err := rvs[0].CollectResults(ctx, []byte("zero"), true)
	if err != nil || string(all[0]) != "zero" || string(all[1]) != "one" || string(all[2]) != "two" {
		t.Fatalf("collected %q, %v", all, err)
	}
	if err := <-got1; err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	for _, rv := range rvs {
		rv.Close()
	}
}

// BenchmarkTCPAllReduce times a 1 MiB ring all-reduce among 4 in-process
// ranks over loopback TCP (b.SetBytes: the buffer, so MB/s is algbw).
func BenchmarkTCPAllReduce(b *testing.B) {
	ctx := context.Background()
	cs := comms(b, ctx, []string{"a", "a", "b", "b"}, nil)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for b.Loop() {
		_, errs := runAll(ctx, cs, func(int) (backend.CommRequest, bool) {
			return backend.CommRequest{Op: backend.AllReduce, Bytes: 1 << 20, Iters: 1}, true
		})
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
