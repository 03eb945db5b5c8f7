package fleet

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flopcast/flopcast/bench/result"
)

// Hello is what a rank says about itself at the rendezvous: host, node,
// instance type, GPUs, driver/CUDA/NCCL versions, flopcast version and a
// hash of the suite flags. Join sets Rank from the Env.
type Hello = result.FleetRank

// Options bound the rendezvous.
type Options struct {
	// Timeout is how long rank 0 waits for every rank to arrive, and how
	// long the others try to reach rank 0 (default 60 s).
	Timeout time.Duration
	// OpTimeout bounds each later broadcast, barrier or gather whose
	// context has no deadline (default 5 min).
	OpTimeout time.Duration
	// RunID, on rank 0, names the run; empty picks one from the time.
	RunID string
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 5 * time.Minute
	}
	return o
}

// MismatchError is rank 0's refusal to start: some ranks run another
// flopcast version or other suite flags (or claim a rank twice, or another
// world size). It is bad input: exit 2.
type MismatchError struct {
	Ranks []int
	Msg   string
}

func (e *MismatchError) Error() string { return e.Msg }

// RanksError names ranks that did not arrive, died or did not answer in
// time. Arrived holds, at the rendezvous, the ranks that did.
type RanksError struct {
	Ranks   []int
	What    string
	Arrived []Hello
}

func (e *RanksError) Error() string {
	return fmt.Sprintf("%s %s", rankList(e.Ranks), e.What)
}

// rankList formats ranks as "rank 3" or "ranks 1, 3".
func rankList(r []int) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = strconv.Itoa(v)
	}
	if len(r) == 1 {
		return "rank " + s[0]
	}
	return "ranks " + strings.Join(s, ", ")
}

// Frame types on the rendezvous connections.
const (
	frameHello   = 'H'
	frameWelcome = 'W'
	frameAbort   = 'A'
	frameBcast   = 'B'
	frameEnter   = 'E'
	frameRelease = 'R'
	frameGather  = 'G'
	// frameResult carries a rank's results file at the end (or early,
	// when the rank stopped on an error); frameStop tells a rank that
	// rank 0 is collecting results and it should send its own now.
	frameResult = 'F'
	frameStop   = 'S'
)

// maxFrame bounds one frame (a gathered results file fits easily).
const maxFrame = 256 << 20

type peerConn struct {
	c net.Conn
	r *bufio.Reader
}

func writeFrame(c net.Conn, deadline time.Time, typ byte, payload []byte) error {
	c.SetWriteDeadline(deadline)
	buf := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	buf[4] = typ
	_, err := c.Write(append(buf, payload...))
	return err
}

func readFrame(p *peerConn, deadline time.Time) (byte, []byte, error) {
	p.c.SetReadDeadline(deadline)
	var hdr [5]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes: not a flopcast rendezvous peer", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return 0, nil, err
	}
	return hdr[4], data, nil
}

type helloMsg struct {
	Size  int   `json:"size"`
	Hello Hello `json:"hello"`
}

type welcomeMsg struct {
	RunID  string  `json:"run_id"`
	Roster []Hello `json:"roster"`
}

// Rendezvous is this rank's link to the others through rank 0: it carries
// broadcasts (e.g. NCCL's unique id), barriers and gathered results. Every
// call has a deadline: the context's, else Options.OpTimeout. Methods are
// called from one goroutine at a time, in the same order on every rank.
type Rendezvous struct {
	env    Env
	opts   Options
	runID  string
	roster []Hello
	// rank 0: one connection per other rank (nil for itself and for the
	// ranks found dead); other ranks: the connection to rank 0 at [0].
	peers []*peerConn
	dead  map[int]string
	// early holds results files that ranks sent before rank 0 asked (they
	// stopped on an error); those ranks take part in nothing more.
	early map[int][]byte
	local net.IP
}

// Join meets the other ranks: rank 0 listens on env.Rendezvous and waits
// up to opts.Timeout for every rank's hello; the others dial it until
// then. Rank 0 checks that every rank runs the same flopcast version and
// suite flags (else a *MismatchError naming the odd ranks, sent to all)
// and names the ranks that did not arrive (a *RanksError). A rank that
// loses rank 0 gets an error saying so, never a hang.
func Join(ctx context.Context, env Env, hello Hello, opts Options) (*Rendezvous, error) {
	opts = opts.withDefaults()
	hello.Rank = env.Rank
	hello.Node = env.Node
	rv := &Rendezvous{env: env, opts: opts, dead: map[int]string{}, early: map[int][]byte{}}
	if env.Rank == 0 {
		return rv, rv.lead(ctx, hello)
	}
	return rv, rv.follow(ctx, hello)
}

// listenAddr is where rank 0 listens: the rendezvous host when it is a
// loopback address (tests), else every interface on the port.
func listenAddr(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return addr
	}
	return ":" + port
}

func (rv *Rendezvous) lead(ctx context.Context, hello Hello) error {
	size := rv.env.Size
	deadline := clip(ctx, time.Now().Add(rv.opts.Timeout))
	rv.peers = make([]*peerConn, size)
	hellos := make([]*Hello, size)
	hellos[0] = &hello
	var bad []string
	var badRanks []int
	if size > 1 {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", listenAddr(rv.env.Rendezvous))
		if err != nil {
			return fmt.Errorf("rendezvous: rank 0 cannot listen on %s: %v", rv.env.Rendezvous, err)
		}
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
		arrived := 1
		type accepted struct {
			p   *peerConn
			msg helloMsg
			err error
		}
		got := make(chan accepted)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					p := &peerConn{c: c, r: bufio.NewReader(c)}
					typ, data, err := readFrame(p, deadline)
					var m helloMsg
					if err == nil && typ != frameHello {
						err = fmt.Errorf("unexpected frame %q", typ)
					}
					if err == nil {
						err = json.Unmarshal(data, &m)
					}
					select {
					case got <- accepted{p, m, err}:
					case <-time.After(time.Until(deadline) + time.Second):
						c.Close()
					}
				}()
			}
		}()
		timer := time.NewTimer(time.Until(deadline))
	wait:
		for arrived < size {
			select {
			case a := <-got:
				if a.err != nil {
					a.p.c.Close() // a stray connection, not a rank
					continue
				}
				r := a.msg.Hello.Rank
				switch {
				case r <= 0 || r >= size:
					bad = append(bad, fmt.Sprintf("a process claims rank %d of world size %d", r, a.msg.Size))
					writeFrame(a.p.c, deadline, frameAbort, []byte(fmt.Sprintf("rank %d is not in a world of %d ranks", r, size)))
					a.p.c.Close()
					continue
				case hellos[r] != nil:
					bad = append(bad, fmt.Sprintf("rank %d arrived twice (nodes %s and %s)", r, hellos[r].Node, a.msg.Hello.Node))
					badRanks = append(badRanks, r)
					writeFrame(a.p.c, deadline, frameAbort, []byte(fmt.Sprintf("rank %d arrived twice", r)))
					a.p.c.Close()
					continue
				}
				if a.msg.Size != size {
					bad = append(bad, fmt.Sprintf("rank %d says world size %d, rank 0 %d", r, a.msg.Size, size))
					badRanks = append(badRanks, r)
				}
				h := a.msg.Hello
				hellos[r] = &h
				rv.peers[r] = a.p
				arrived++
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		timer.Stop()
		ln.Close()
		if c, ok := rv.anyConn(); ok {
			rv.local = c.LocalAddr().(*net.TCPAddr).IP
		}
		if ctx.Err() != nil {
			rv.abortAll("rank 0 was interrupted")
			return ctx.Err()
		}
		var missing []int
		var present []Hello
		for r, h := range hellos {
			if h == nil {
				missing = append(missing, r)
			} else {
				present = append(present, *h)
			}
		}
		if len(missing) > 0 {
			err := &RanksError{Ranks: missing, What: fmt.Sprintf("did not arrive at the rendezvous %s within %s", rv.env.Rendezvous, rv.opts.Timeout), Arrived: present}
			rv.abortAll(err.Error())
			return err
		}
	}
	// Every rank must run the same flopcast and the same suite.
	for r := 1; r < size; r++ {
		h := hellos[r]
		if h.Version != hello.Version {
			bad = append(bad, fmt.Sprintf("rank %d (node %s) runs flopcast %s, rank 0 %s", r, h.Node, h.Version, hello.Version))
			badRanks = append(badRanks, r)
		} else if h.SuiteHash != hello.SuiteHash {
			bad = append(bad, fmt.Sprintf("rank %d (node %s) has other suite flags (hash %s, rank 0 %s)", r, h.Node, h.SuiteHash, hello.SuiteHash))
			badRanks = append(badRanks, r)
		}
	}
	if len(bad) > 0 {
		sort.Ints(badRanks)
		badRanks = slices.Compact(badRanks)
		err := &MismatchError{Ranks: badRanks, Msg: "rank 0 refuses to start: " + strings.Join(bad, "; ")}
		rv.abortAll(err.Msg)
		return err
	}
	rv.runID = rv.opts.RunID
	if rv.runID == "" {
		rv.runID = NewRunID(rv.env.JobID, time.Now())
	}
	roster := make([]Hello, size)
	for r, h := range hellos {
		roster[r] = *h
	}
	rv.roster = numberNodes(roster)
	msg, _ := json.Marshal(welcomeMsg{RunID: rv.runID, Roster: rv.roster})
	dl := rv.opDeadline(ctx)
	var failed []int
	for r := 1; r < size; r++ {
		if err := writeFrame(rv.peers[r].c, dl, frameWelcome, msg); err != nil {
			failed = append(failed, r)
			rv.markDead(r, err)
		}
	}
	if len(failed) > 0 {
		return &RanksError{Ranks: failed, What: "left before the rendezvous finished"}
	}
	return nil
}

func (rv *Rendezvous) anyConn() (net.Conn, bool) {
	for _, p := range rv.peers {
		if p != nil {
			return p.c, true
		}
	}
	return nil, false
}

// abortAll tells every connected rank why the run stops, and closes.
func (rv *Rendezvous) abortAll(msg string) {
	dl := time.Now().Add(2 * time.Second)
	for r, p := range rv.peers {
		if p != nil {
			writeFrame(p.c, dl, frameAbort, []byte(msg))
			p.c.Close()
			rv.peers[r] = nil
		}
	}
}

func (rv *Rendezvous) follow(ctx context.Context, hello Hello) error {
	start := time.Now()
	deadline := clip(ctx, start.Add(rv.opts.Timeout))
	var c net.Conn
	var lastErr error
	for {
		d := net.Dialer{Deadline: deadline}
		var err error
		c, err = d.DialContext(ctx, "tcp", rv.env.Rendezvous)
		if err == nil {
			break
		}
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rendezvous: rank 0 at %s did not answer within %s: %v", rv.env.Rendezvous, rv.opts.Timeout, lastErr)
		}
		select {
		case <-time.After(150 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p := &peerConn{c: c, r: bufio.NewReader(c)}
	rv.peers = []*peerConn{p}
	rv.local = c.LocalAddr().(*net.TCPAddr).IP
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg, _ := json.Marshal(helloMsg{Size: rv.env.Size, Hello: hello})
	if err := writeFrame(c, deadline, frameHello, msg); err != nil {
		c.Close()
		return fmt.Errorf("rendezvous: cannot reach rank 0 at %s: %v", rv.env.Rendezvous, err)
	}
	// Rank 0 answers once every rank arrived or its own timeout passed;
	// it may have started later than this rank, so wait longer than the
	// timeout before calling it lost.
	typ, data, err := readFrame(p, clip(ctx, start.Add(2*rv.opts.Timeout+5*time.Second)))
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return rv.lostRoot("waiting for the roster", err)
	}
	switch typ {
	case frameAbort:
		c.Close()
		return &abortError{string(data)}
	case frameWelcome:
	default:
		c.Close()
		return fmt.Errorf("rendezvous: unexpected frame %q from rank 0", typ)
	}
	var w welcomeMsg
	if err := json.Unmarshal(data, &w); err != nil || len(w.Roster) != rv.env.Size {
		c.Close()
		return fmt.Errorf("rendezvous: bad roster from rank 0")
	}
	rv.runID, rv.roster = w.RunID, w.Roster
	return nil
}

// abortError is rank 0's message that the run stops.
type abortError struct{ msg string }

func (e *abortError) Error() string { return "rank 0 stopped the run: " + e.msg }

// IsAbort reports whether err is rank 0's stop message.
func IsAbort(err error) bool {
	var a *abortError
	return errors.As(err, &a)
}

func (rv *Rendezvous) lostRoot(what string, err error) error {
	if isTimeout(err) {
		return fmt.Errorf("rendezvous: rank 0 at %s did not answer in time (%s)", rv.env.Rendezvous, what)
	}
	return fmt.Errorf("rendezvous: lost rank 0 at %s (%s): %v", rv.env.Rendezvous, what, err)
}

// numberNodes fills NodeRank (nodes in order of their lowest rank) and
// LocalRank (order among the ranks of the node) from the node names.
func numberNodes(roster []Hello) []Hello {
	nodeIdx := map[string]int{}
	local := map[string]int{}
	for i := range roster {
		n := roster[i].Node
		if _, ok := nodeIdx[n]; !ok {
			nodeIdx[n] = len(nodeIdx)
		}
		roster[i].NodeRank = nodeIdx[n]
		roster[i].LocalRank = local[n]
		local[n]++
	}
	return roster
}

// NewRunID names a run from the job id (when there is one) and the time:
// "20261130T091500Z" or "20261130T091500Z-job1234", with random hex when
// there is no job id so that two runs in the same second differ.
func NewRunID(jobID string, t time.Time) string {
	id := t.UTC().Format("20060102T150405Z")
	if jobID != "" {
		var b strings.Builder
		for _, c := range jobID {
			if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' {
				b.WriteRune(c)
			}
		}
		if b.Len() > 0 {
			return id + "-job" + b.String()
		}
	}
	var r [3]byte
	rand.Read(r[:])
	return id + "-" + hex.EncodeToString(r[:])
}

// RunID is the run's id, chosen by rank 0.
func (rv *Rendezvous) RunID() string { return rv.runID }

// Roster is every rank's hello, by rank, with NodeRank and LocalRank
// numbered from the node names.
func (rv *Rendezvous) Roster() []Hello { return rv.roster }

// LocalIP is the address of this host on the rendezvous connections: the
// interface the other ranks can reach it on.
func (rv *Rendezvous) LocalIP() net.IP {
	if rv.local == nil {
		return net.IPv4(127, 0, 0, 1)
	}
	return rv.local
}

// Env is the launch environment completed from the roster: node rank,
// local rank and size and the node list as the rendezvous numbered them.
func (rv *Rendezvous) Env() Env {
	e := rv.env
	if len(rv.roster) == 0 {
		return e
	}
	me := rv.roster[e.Rank]
	e.NodeRank, e.LocalRank, e.LocalSize = me.NodeRank, me.LocalRank, 0
	var nodes []string
	for _, h := range rv.roster {
		if h.Node == me.Node {
			e.LocalSize++
		}
		if h.NodeRank == len(nodes) {
			nodes = append(nodes, h.Node)
		}
	}
	if len(e.Nodes) == 0 {
		e.Nodes = nodes
	}
	return e
}

func (rv *Rendezvous) markDead(r int, err error) {
	if p := rv.peers[r]; p != nil {
		p.c.Close()
		rv.peers[r] = nil
	}
	rv.dead[r] = err.Error()
}

func (rv *Rendezvous) opDeadline(ctx context.Context) time.Time {
	return ctxDeadline(ctx, rv.opts.OpTimeout)
}

// ctxDeadline is ctx's deadline, else d from now: the deadline of one step.
func ctxDeadline(ctx context.Context, d time.Duration) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(d)
}

// clip returns t, or ctx's deadline when that comes first.
func clip(ctx context.Context, t time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok && d.Before(t) {
		return d
	}
	return t
}

// isTimeout reports whether err is a network deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readAll reads one frame of type typ from every live rank (rank 0 only),
// concurrently; ranks that fail or send something else are marked dead
// and named in the error. A rank that sends its results early is kept
// out of later steps. While collecting results (typ frameResult), a rank
// still in an earlier step is told to stop and send them.
func (rv *Rendezvous) readAll(ctx context.Context, typ byte) ([][]byte, error) {
	dl := rv.opDeadline(ctx)
	out := make([][]byte, rv.env.Size)
	errs := make([]error, rv.env.Size)
	early := make([]bool, rv.env.Size)
	var wg sync.WaitGroup
	for r := 1; r < rv.env.Size; r++ {
		p := rv.peers[r]
		if p == nil || rv.early[r] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop := context.AfterFunc(ctx, func() { p.c.SetReadDeadline(time.Unix(1, 0)) })
			defer stop()
			for {
				t, data, err := readFrame(p, dl)
				switch {
				case err != nil:
					errs[r] = err
				case t == typ:
					out[r] = data
				case t == frameResult:
					out[r], early[r] = data, true
				case typ == frameResult && (t == frameEnter || t == frameGather || t == frameBcast):
					if err := writeFrame(p.c, dl, frameStop, nil); err != nil {
						errs[r] = err
						return
					}
					continue
				default:
					errs[r] = fmt.Errorf("protocol: frame %q where %q was due", t, typ)
				}
				return
			}
		}()
	}
	wg.Wait()
	var failed []int
	var timedOut bool
	for r := 1; r < rv.env.Size; r++ {
		if early[r] && typ != frameResult {
			rv.early[r] = out[r]
			out[r] = nil
			continue
		}
		if rv.peers[r] == nil {
			if _, ok := rv.dead[r]; ok {
				failed = append(failed, r)
			}
			continue
		}
		if errs[r] != nil {
			if isTimeout(errs[r]) {
				timedOut = true
			}
			rv.markDead(r, errs[r])
			failed = append(failed, r)
		}
	}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	if len(failed) > 0 {
		what := "were lost (connection closed)"
		if len(failed) == 1 {
			what = "was lost (connection closed)"
		}
		if timedOut {
			what = "did not answer in time or were lost"
		}
		return out, &RanksError{Ranks: failed, What: what}
	}
	return out, nil
}

// readRoot reads one frame from rank 0 (other ranks).
func (rv *Rendezvous) readRoot(ctx context.Context, typ byte, what string) ([]byte, error) {
	p := rv.peers[0]
	if p == nil {
		return nil, fmt.Errorf("rendezvous: no connection to rank 0")
	}
	stop := context.AfterFunc(ctx, func() { p.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	t, data, err := readFrame(p, rv.opDeadline(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, rv.lostRoot(what, err)
	}
	if t == frameAbort {
		return nil, &abortError{string(data)}
	}
	if t == frameStop {
		return nil, ErrStopped
	}
	if t != typ {
		return nil, fmt.Errorf("rendezvous: frame %q from rank 0 where %q was due", t, typ)
	}
	return data, nil
}

func (rv *Rendezvous) writeRoot(ctx context.Context, typ byte, data []byte, what string) error {
	p := rv.peers[0]
	if p == nil {
		return fmt.Errorf("rendezvous: no connection to rank 0")
	}
	if err := writeFrame(p.c, rv.opDeadline(ctx), typ, data); err != nil {
		return rv.lostRoot(what, err)
	}
	return nil
}

// sendAll writes one frame to every live rank but skip (rank 0 only).
func (rv *Rendezvous) sendAll(ctx context.Context, typ byte, data []byte, skip int) error {
	dl := rv.opDeadline(ctx)
	var failed []int
	for r := 1; r < rv.env.Size; r++ {
		if r == skip || rv.peers[r] == nil || rv.early[r] != nil {
			continue
		}
		if err := writeFrame(rv.peers[r].c, dl, typ, data); err != nil {
			rv.markDead(r, err)
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		return &RanksError{Ranks: failed, What: "were lost (write failed)"}
	}
	return nil
}

// Broadcast sends root's data to every rank and returns it on each (the
// data argument is ignored on other ranks).
func (rv *Rendezvous) Broadcast(ctx context.Context, root int, data []byte) ([]byte, error) {
	if root < 0 || root >= rv.env.Size {
		return nil, fmt.Errorf("broadcast: root %d is not a rank", root)
	}
	me := rv.env.Rank
	if me == 0 {
		if root != 0 {
			p := rv.peers[root]
			if p == nil {
				return nil, &RanksError{Ranks: []int{root}, What: "is lost: cannot broadcast from it"}
			}
			t, d, err := readFrame(p, rv.opDeadline(ctx))
			if err == nil && t != frameBcast {
				err = fmt.Errorf("protocol: frame %q where a broadcast was due", t)
			}
			if err != nil {
				rv.markDead(root, err)
				return nil, &RanksError{Ranks: []int{root}, What: "was lost during a broadcast"}
			}
			data = d
		}
		return data, rv.sendAll(ctx, frameBcast, data, root)
	}
	if me == root {
		return data, rv.writeRoot(ctx, frameBcast, data, "broadcast")
	}
	return rv.readRoot(ctx, frameBcast, "broadcast")
}

// Barrier returns once every live rank has entered it.
func (rv *Rendezvous) Barrier(ctx context.Context) error {
	if rv.env.Rank == 0 {
		_, err := rv.readAll(ctx, frameEnter)
		if serr := rv.sendAll(ctx, frameRelease, nil, -1); err == nil {
			err = serr
		}
		return err
	}
	if err := rv.writeRoot(ctx, frameEnter, nil, "barrier"); err != nil {
		return err
	}
	_, err := rv.readRoot(ctx, frameRelease, "barrier")
	return err
}

// Gather sends data to rank 0, which gets every rank's by rank (its own at
// [0]); other ranks get nil. Ranks that are lost have a nil entry and are
// named in a *RanksError, returned with what did arrive.
func (rv *Rendezvous) Gather(ctx context.Context, data []byte) ([][]byte, error) {
	if rv.env.Rank == 0 {
		out, err := rv.readAll(ctx, frameGather)
		out[0] = data
		return out, err
	}
	return nil, rv.writeRoot(ctx, frameGather, data, "gather")
}

// ErrStopped is what a rank gets when rank 0 has stopped the measurements
// and is collecting results: it should send its own with SendResults.
var ErrStopped = errors.New("rank 0 stopped the measurements and is collecting results")

// SendResults sends this rank's results file to rank 0 (other ranks; it
// may be called early, after an error, instead of the remaining steps).
func (rv *Rendezvous) SendResults(ctx context.Context, data []byte) error {
	if rv.env.Rank == 0 {
		return errors.New("rendezvous: rank 0 collects results, it does not send them")
	}
	return rv.writeRoot(ctx, frameResult, data, "sending results")
}

// CollectResults is rank 0's end of SendResults: every rank's results
// file by rank (own at [0]), including those sent early; ranks still in
// an earlier step are told to stop and send theirs (all of them at once
// when stop is set: rank 0 itself stopped early, and a rank waiting for
// its broadcast would otherwise wait out the deadline). Lost ranks have a
// nil entry and are named in a *RanksError.
func (rv *Rendezvous) CollectResults(ctx context.Context, own []byte, stop bool) ([][]byte, error) {
	if stop {
		dl := time.Now().Add(2 * time.Second)
		for r := 1; r < rv.env.Size; r++ {
			if p := rv.peers[r]; p != nil && rv.early[r] == nil {
				writeFrame(p.c, dl, frameStop, nil)
			}
		}
	}
	out, err := rv.readAll(ctx, frameResult)
	out[0] = own
	for r, d := range rv.early {
		out[r] = d
	}
	return out, err
}

// Close closes the connections.
func (rv *Rendezvous) Close() error {
	for i, p := range rv.peers {
		if p != nil {
			p.c.Close()
			rv.peers[i] = nil
		}
	}
	return nil
}
