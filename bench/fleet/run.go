package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

// Suite is what every rank of a fleet run measures; all ranks must agree
// (rank 0 compares Hash()).
type Suite struct {
	// Ops are the collectives run in the group scopes (intra_node, world,
	// inter_node); the pair scope runs send_recv.
	Ops []backend.CollectiveOp
	// Scopes to run: result.ScopeIntraNode, ScopeWorld, ScopeInterNode,
	// ScopePair.
	Scopes []string
	// Sizes are the message sizes in bytes (rounded per op to whole
	// elements per rank).
	Sizes         []int64
	Warmup, Iters int
	// StragglerBytes is the all-reduce size of the straggler test (a
	// fixed local phase before each call; 0 skips it).
	StragglerBytes int64
	// Local is the local GEMM benchmark (per rank, through the normal
	// bench runner): shape, dtype and timed calls.
	Local        kernels.GEMMShape
	LocalDType   kernels.DType
	LocalRepeats int
	// Device and Comm name the device kind ("cpu", "cuda") and the
	// collective backend ("tcp", "nccl").
	Device, Comm string
}

// Hash is a short hash of the suite, the same on every rank that runs the
// same flags.
func (s Suite) Hash() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// Validate reports a suite that cannot run, naming the flag.
func (s Suite) Validate() error {
	switch {
	case len(s.Scopes) == 0:
		return badInput("--scopes: none given")
	case len(s.Sizes) == 0:
		return badInput("--sizes: none given")
	case s.Iters < 1:
		return badInput("--iters %d: want at least 1", s.Iters)
	case s.Warmup < 0:
		return badInput("--warmup %d: want 0 or more", s.Warmup)
	case s.LocalRepeats < 0:
		return badInput("--local-repeats %d: want 0 or more", s.LocalRepeats)
	}
	for _, sc := range s.Scopes {
		switch sc {
		case result.ScopeIntraNode, result.ScopeWorld, result.ScopeInterNode, result.ScopePair:
		default:
			return badInput("--scopes: unknown scope %q (intra_node, world, inter_node, pair)", sc)
		}
	}
	for _, op := range s.Ops {
		if !slices.Contains(backend.CollectiveOps, op) || op == backend.SendRecv {
			return badInput("--ops: unknown collective %q (all_reduce, all_gather, reduce_scatter, all_to_all; send_recv runs in the pair scope)", op)
		}
	}
	for _, b := range s.Sizes {
		if b < 4 || b > 8<<30 {
			return badInput("--sizes: %d bytes: want 4 B to 8 GiB", b)
		}
	}
	if s.StragglerBytes < 0 || s.StragglerBytes > 1<<30 {
		return badInput("--straggler-bytes %d: want 0 to 1 GiB", s.StragglerBytes)
	}
	return nil
}

// Config is one rank's fleet run.
type Config struct {
	Env   Env
	Suite Suite
	// Hello is what this rank says about itself (host, versions, GPUs);
	// Run sets the suite hash.
	Hello   Hello
	Options Options
	// Backend is the local device (opened by the caller, closed by Run).
	Backend backend.Backend
	// NewComm opens the collective backend; nil means TCP.
	NewComm func(ctx context.Context, rv *Rendezvous) (backend.Communicator, error)
	// NodeChecks, when set, runs on each node's local rank 0 after the
	// local benchmark: checks of the node as a whole (on GPUs the copy
	// matrix and NVML health); its measurements join this rank's file,
	// and a failed one fails the node.
	NodeChecks func(ctx context.Context) ([]result.Measurement, error)
	// File is this rank's results file as started for the device
	// (bench.NewFile); Run adds the measurements and the fleet block.
	File *result.File
	// ResultsDir receives the rank files and, from rank 0, the merged
	// file.
	ResultsDir string
	Thresholds *Thresholds
	// MetricsOut, on rank 0, receives the Prometheus text file.
	MetricsOut string
	Fault      Fault
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Outcome is what a rank's run produced.
type Outcome struct {
	RankFile string
	// Merged and MergedPath: rank 0 only.
	Merged     *result.File
	MergedPath string
	// Failed says this rank's own measurements failed a check.
	Failed bool
}

// FailedError is rank 0's verdict that some node failed or is missing:
// exit 1, with the merged file written.
type FailedError struct{ Msg string }

func (e *FailedError) Error() string { return e.Msg }

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run is one rank's whole fleet run: rendezvous, local benchmark,
// collectives by scope, straggler test, own results file, and on rank 0
// the merged file with the verdicts (and metrics). Rank 0 returns a
// *FailedError when any node failed or is missing.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	if err := cfg.Suite.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.ResultsDir, 0o755); err != nil {
		return nil, badInput("--results-dir %s: %v", cfg.ResultsDir, err)
	}
	cfg.Hello.SuiteHash = cfg.Suite.Hash()
	if cfg.Fault.Version != "" {
		cfg.Hello.Version = cfg.Fault.Version
	}
	if cfg.Fault.NeverArrive {
		cfg.logf("fault injection: rank %d stays away from the rendezvous", cfg.Env.Rank)
		sleep(ctx, cfg.Options.withDefaults().Timeout+2*time.Second)
		return nil, errors.New("fault injection: this rank never arrived")
	}
	if cfg.Backend == nil || cfg.File == nil {
		return nil, errors.New("fleet: no device or results file")
	}
	defer cfg.Backend.Close()
	rv, err := Join(ctx, cfg.Env, cfg.Hello, cfg.Options)
	if err != nil {
		var re *RanksError
		if cfg.Env.Rank == 0 && errors.As(err, &re) && len(re.Arrived) > 0 {
			return notStarted(cfg, re)
		}
		var me *MismatchError
		if errors.As(err, &me) {
			return nil, &BadInputError{me.Msg}
		}
		return nil, err
	}
	defer rv.Close()
	env := rv.Env()
	cfg.logf("rank %d of %d on node %s (node %d, local rank %d of %d), run %s", env.Rank, env.Size, env.Node, env.NodeRank, env.LocalRank, env.LocalSize, rv.RunID())
	r := &rankRun{cfg: cfg, rv: rv, env: env, ctx: ctx, b: cfg.Backend, file: cfg.File}
	runErr := r.measure()
	return r.finish(runErr)
}

// rankRun is the state of one rank's run.
type rankRun struct {
	cfg  Config
	rv   *Rendezvous
	env  Env
	ctx  context.Context
	b    backend.Backend
	comm backend.Communicator
	file *result.File
	ms   []result.Measurement
}

// sameHost returns the ranks on this rank's host, in rank order.
func (r *rankRun) sameHost() []int {
	var out []int
	me := r.rv.Roster()[r.env.Rank].Host
	for _, h := range r.rv.Roster() {
		if h.Host == me {
			out = append(out, h.Rank)
		}
	}
	return out
}

func (r *rankRun) measure() error {
	cfg, ctx := r.cfg, r.ctx
	host := r.sameHost()
	var err error
	if cfg.NewComm != nil {
		r.comm, err = cfg.NewComm(ctx, r.rv)
	} else {
		r.comm, err = NewTCPComm(ctx, r.rv, cfg.Fault)
	}
	if err != nil {
		return err
	}
	if err := r.local(host); err != nil {
		return err
	}
	if cfg.NodeChecks != nil && r.env.LocalRank == 0 {
		ms, err := cfg.NodeChecks(ctx)
		for _, m := range ms {
			r.add(m)
		}
		if err != nil {
			return fmt.Errorf("node checks: %v", err)
		}
	}
	for _, scope := range cfg.Suite.Scopes {
		if err := r.rv.Barrier(ctx); err != nil {
			return err
		}
		var err error
		if scope == result.ScopePair {
			err = r.pairs()
		} else {
			err = r.scope(scope)
		}
		if err != nil {
			return err
		}
	}
	if cfg.Suite.StragglerBytes > 0 && r.env.Size > 1 {
		if err := r.rv.Barrier(ctx); err != nil {
			return err
		}
		if err := r.straggler(); err != nil {
			return err
		}
	}
	return nil
}

// local runs the local GEMM benchmark through the bench runner. CPU ranks
// sharing a host take turns (they would share its cores); GPU ranks each
// have their own device and run at once.
func (r *rankRun) local(host []int) error {
	s := r.cfg.Suite
	if s.LocalRepeats == 0 {
		return nil
	}
	turns, mine := 1, 0
	if s.Device == "cpu" {
		turns, mine = len(host), slices.Index(host, r.env.Rank)
		// every rank walks the same number of turns
		all := map[string]int{}
		for _, h := range r.rv.Roster() {
			all[h.Host]++
		}
		for _, n := range all {
			turns = max(turns, n)
		}
	}
	for t := range turns {
		if t == mine {
			ms, err := bench.Run(r.ctx, r.b, bench.Config{
				Problems: []bench.Problem{{Label: "fleet_local", Shape: s.Local}},
				DTypes:   []kernels.DType{s.LocalDType}, Warmup: 1, MinRepeats: s.LocalRepeats,
				MaxTime: 30 * time.Second, Seed: uint64(1000 + r.env.Rank),
			})
			if err != nil {
				return fmt.Errorf("local benchmark: %v", err)
			}
			for _, m := range ms {
				r.add(m)
			}
		}
		if turns > 1 {
			if err := r.rv.Barrier(r.ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *rankRun) add(m result.Measurement) {
	rank := r.env.Rank
	m.Rank = &rank
	r.ms = append(r.ms, m)
}

// ScopeGroups returns the rank groups of a scope (result.ScopeIntraNode,
// ScopeWorld, ScopeInterNode), each sorted, from the roster: what a
// collective backend that needs its groups up front (NCCL) creates.
func ScopeGroups(roster []Hello, scope string) [][]int {
	byNode := map[int][]int{}
	nodes := 0
	for _, h := range roster {
		byNode[h.NodeRank] = append(byNode[h.NodeRank], h.Rank)
		nodes = max(nodes, h.NodeRank+1)
	}
	switch scope {
	case result.ScopeIntraNode:
		var out [][]int
		for n := range nodes {
			if len(byNode[n]) > 1 {
				out = append(out, byNode[n])
			}
		}
		return out
	case result.ScopeWorld:
		if len(roster) < 2 {
			return nil
		}
		all := make([]int, len(roster))
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	case result.ScopeInterNode:
		if nodes < 2 || nodes == len(roster) {
			return nil // one rank per node already: the world scope
		}
		return [][]int{leaders(roster)}
	}
	return nil
}

// leaders returns the lowest rank of each node, by node.
func leaders(roster []Hello) []int {
	var out []int
	for _, h := range roster {
		if h.NodeRank == len(out) {
			out = append(out, h.Rank)
		}
	}
	return out
}

func (r *rankRun) nodesOf(ranks []int) []string {
	var out []string
	for _, x := range ranks {
		n := r.rv.Roster()[x].Node
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// scope runs every op at every size in the groups of a scope this rank is
// in; groups run at once.
func (r *rankRun) scope(scope string) error {
	for _, g := range ScopeGroups(r.rv.Roster(), scope) {
		if !slices.Contains(g, r.env.Rank) {
			continue
		}
		var nodes []string
		if scope == result.ScopeIntraNode {
			nodes = r.nodesOf(g)
		}
		for _, op := range r.cfg.Suite.Ops {
			for _, size := range r.cfg.Suite.Sizes {
				b := RoundBytes(op, size, len(g))
				req := backend.CommRequest{Op: op, Bytes: b, Warmup: r.cfg.Suite.Warmup, Iters: r.cfg.Suite.Iters, Ranks: g}
				m, err := r.collective(req, scope, len(g), nodes)
				r.add(m)
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// collective runs req and turns it into a measurement.
func (r *rankRun) collective(req backend.CommRequest, scope string, n int, nodes []string) (result.Measurement, error) {
	m := result.Measurement{
		Workload: result.WorkloadComm, Label: scope + " " + string(req.Op), Device: r.deviceID(), DType: "fp32",
		Collective: string(req.Op), Scope: scope, Bytes: req.Bytes, Warmup: req.Warmup, Nodes: nodes,
		Status: result.StatusOK, Seed: 0,
	}
	if req.Op == backend.SendRecv {
		m.Workload = result.WorkloadP2P
	}
	res, err := r.comm.Run(r.ctx, req)
	m.Compared, m.WrongElements, m.WaitSeconds = res.Elements, res.WrongElements, res.WaitSeconds
	if err != nil {
		m.Status = result.StatusFailed
		m.Notes = append(m.Notes, "the collective failed: "+err.Error())
		return m, err
	}
	if res.WrongElements > 0 {
		m.Status = result.StatusFailed
		m.Notes = append(m.Notes, fmt.Sprintf("%d of %d output elements wrong: no bandwidth shown", res.WrongElements, res.Elements))
		return m, nil
	}
	m.Verified = true
	m.VerifyMode = "full"
	samples := res.Seconds
	if len(samples) == 0 {
		samples = res.WaitSeconds
	}
	if sum, err := stats.Summarize(samples); err == nil && sum.Median > 0 {
		m.Seconds, m.Samples = &sum, samples
		m.Noisy = sum.Noisy()
		m.AlgBytesPerSecond = float64(req.Bytes) / sum.Median
		m.BusBytesPerSecond = m.AlgBytesPerSecond * BusFactor(req.Op, n)
	}
	return m, nil
}

func (r *rankRun) deviceID() string {
	if r.file != nil && len(r.file.Devices) > 0 {
		return r.file.Devices[0].ID
	}
	return r.cfg.Suite.Device
}

// straggler runs the world all-reduce with a fixed local phase before each
// call (one local GEMM of the suite's shape and dtype), recording each
// rank's wait.
func (r *rankRun) straggler() error {
	s := r.cfg.Suite
	g, err := r.b.NewGEMM(s.Local, s.LocalDType, 1, 7)
	if err != nil {
		return fmt.Errorf("straggler test: %v", err)
	}
	defer g.Release()
	b := RoundBytes(backend.AllReduce, r.cfg.Suite.StragglerBytes, r.env.Size)
	req := backend.CommRequest{Op: backend.AllReduce, Bytes: b, Warmup: 1, Iters: max(5, r.cfg.Suite.Iters),
		LocalPhase: func() error { _, err := g.Run(0); return err }}
	m, err := r.collective(req, result.ScopeWorld, r.env.Size, nil)
	m.Label = "straggler " + string(backend.AllReduce)
	m.Notes = append(m.Notes, fmt.Sprintf("wait_seconds: time in the all-reduce after a fixed local phase (one %s %s GEMM); the late rank waits least", s.LocalDType, s.Local))
	r.add(m)
	return err
}

// pairPlan is rank 0's schedule for the pair scope's second pass.
type pairPlan struct {
	Rounds [][][2]int `json:"rounds"`
}

// pairs runs the pairwise node tests: node leaders in pairs (first pass),
// then the members of each slow pair against a known-good node (second
// pass), to tell a bad node from a bad link.
func (r *rankRun) pairs() error {
	roster := r.rv.Roster()
	lead := leaders(roster)
	if len(lead) < 2 {
		return nil
	}
	var rounds [][][2]int
	var first [][2]int
	for i := 0; i+1 < len(lead); i += 2 {
		first = append(first, [2]int{lead[i], lead[i+1]})
	}
	rounds = append(rounds, first)
	if len(lead)%2 == 1 {
		rounds = append(rounds, [][2]int{{lead[0], lead[len(lead)-1]}})
	}
	var mine []result.Measurement
	for _, round := range rounds {
		m, err := r.runPairs(round, "")
		mine = append(mine, m...)
		if err != nil {
			return err
		}
		if err := r.rv.Barrier(r.ctx); err != nil {
			return err
		}
	}
	// Second pass: rank 0 reads every pair's figure and plans.
	data, _ := json.Marshal(mine)
	all, err := r.rv.Gather(r.ctx, data)
	if err != nil {
		return err
	}
	var plan []byte
	if r.env.Rank == 0 {
		var ms []result.Measurement
		for _, d := range all {
			var part []result.Measurement
			json.Unmarshal(d, &part)
			ms = append(ms, part...)
		}
		p := planSecondPass(ms, lead, roster, r.cfg.Thresholds)
		plan, _ = json.Marshal(p)
	}
	plan, err = r.rv.Broadcast(r.ctx, 0, plan)
	if err != nil {
		return err
	}
	var p pairPlan
	if err := json.Unmarshal(plan, &p); err != nil {
		return fmt.Errorf("pair plan from rank 0: %v", err)
	}
	for _, round := range p.Rounds {
		if _, err := r.runPairs(round, "second pass: "); err != nil {
			return err
		}
		if err := r.rv.Barrier(r.ctx); err != nil {
			return err
		}
	}
	return nil
}

// runPairs runs send_recv at the largest size between the pairs of one
// round that include this rank.
func (r *rankRun) runPairs(round [][2]int, label string) ([]result.Measurement, error) {
	var out []result.Measurement
	size := slices.Max(r.cfg.Suite.Sizes)
	for _, p := range round {
		peer := -1
		switch r.env.Rank {
		case p[0]:
			peer = p[1]
		case p[1]:
			peer = p[0]
		}
		if peer < 0 {
			continue
		}
		req := backend.CommRequest{Op: backend.SendRecv, Bytes: RoundBytes(backend.SendRecv, size, 2), Warmup: max(1, r.cfg.Suite.Warmup), Iters: max(10, r.cfg.Suite.Iters), Peer: peer}
		m, err := r.collective(req, result.ScopePair, 2, r.nodesOf([]int{p[0], p[1]}))
		m.Label = label + "pair " + strings.Join(m.Nodes, "-")
		r.add(m)
		out = append(out, m)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// planSecondPass finds the slow pairs of the first pass (as the verdicts
// will) and schedules each of their nodes against a node of a good pair,
// one test per round.
func planSecondPass(ms []result.Measurement, lead []int, roster []Hello, th *Thresholds) pairPlan {
	figs := pairFigures(ms)
	var bus []float64
	for _, p := range figs {
		bus = append(bus, p.Bus)
	}
	med := pairReference(bus)
	nodeLeader := map[string]int{}
	for _, r := range lead {
		nodeLeader[roster[r].Node] = r
	}
	var bad []*pairFigure
	good := map[string]bool{}
	for _, p := range figs {
		if s, _, _, _ := pairSlow(p, th.limitsFor(roster[nodeLeader[p.Nodes[0]]]), med, len(figs)); s {
			bad = append(bad, p)
		} else {
			good[p.Nodes[0]], good[p.Nodes[1]] = true, true
		}
	}
	var goodNodes []string
	for _, r := range lead {
		if good[roster[r].Node] {
			goodNodes = append(goodNodes, roster[r].Node)
		}
	}
	var plan pairPlan
	if len(goodNodes) == 0 {
		return plan
	}
	var tests [][2]int
	gi := 0
	for _, p := range bad {
		for _, n := range p.Nodes {
			if good[n] {
				continue // also in a good pair: already known good
			}
			g := goodNodes[gi%len(goodNodes)]
			gi++
			tests = append(tests, [2]int{nodeLeader[n], nodeLeader[g]})
		}
	}
	// One test at a time: a node's figure with a good partner must not
	// share the fabric (or, on one test host, the CPUs) with another test,
	// or a fine node would look slow next to the first pass.
	for _, t := range tests {
		plan.Rounds = append(plan.Rounds, [][2]int{t})
	}
	return plan
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	return stats.Quantile(s, 0.5)
}

// finish writes this rank's file; rank 0 collects every rank's, merges,
// judges and writes the merged file and metrics.
func (r *rankRun) finish(runErr error) (*Outcome, error) {
	cfg := r.cfg
	if r.comm != nil {
		r.comm.Close()
	}
	f := r.file
	f.Measurements = append(f.Measurements, r.ms...)
	rank := r.env.Rank
	f.Fleet = &result.Fleet{RunID: r.rv.RunID(), Launcher: r.env.Launcher, WorldSize: r.env.Size, Rank: &rank, Ranks: r.rv.Roster()}
	if r.comm != nil {
		f.Fleet.Backend = r.comm.Name()
	}
	failed := false
	for _, m := range r.ms {
		if m.Status == result.StatusFailed {
			failed = true
		}
	}
	if runErr != nil && !errors.Is(runErr, ErrStopped) {
		f.Partial = true
		failed = true
		f.Measurements = append(f.Measurements, result.Measurement{
			Workload: result.WorkloadComm, Device: r.deviceID(), DType: "fp32", Status: result.StatusFailed, Rank: &rank,
			Label: "run error", Notes: []string{"the run stopped: " + runErr.Error()},
		})
	} else if errors.Is(runErr, ErrStopped) {
		f.Partial = true
	}
	out := &Outcome{Failed: failed}
	out.RankFile = filepath.Join(cfg.ResultsDir, fmt.Sprintf("fleet-%s-rank%d.json", r.rv.RunID(), rank))
	if err := result.Write(out.RankFile, f); err != nil {
		return out, fmt.Errorf("writing %s: %v", out.RankFile, err)
	}
	data, _ := json.Marshal(f)
	// Results travel with their own deadline, so a run cut short by an
	// error still reports.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.rv.opts.OpTimeout)
	defer cancel()
	if rank != 0 {
		hint := fmt.Sprintf("own file %s; 'flopcast fleet merge %s' rebuilds the merged file", out.RankFile, cfg.ResultsDir)
		if err := r.rv.SendResults(ctx, data); err != nil {
			return out, fmt.Errorf("sending results to rank 0: %v (%s)", err, hint)
		}
		if runErr != nil && !errors.Is(runErr, ErrStopped) {
			return out, fmt.Errorf("%w (%s)", runErr, hint)
		}
		if failed {
			return out, fmt.Errorf("this rank's collectives failed their checks (see %s)", out.RankFile)
		}
		return out, nil
	}
	all, gerr := r.rv.CollectResults(ctx, data, runErr != nil)
	var files []*result.File
	for i, d := range all {
		if d == nil {
			continue
		}
		rf, err := result.Decode(bytes.NewReader(d), fmt.Sprintf("rank %d's results", i))
		if err != nil {
			cfg.logf("rank 0: %v: counted as missing", err)
			continue
		}
		files = append(files, rf)
	}
	merged, err := Merge(files, cfg.Thresholds, r.env.Nodes)
	if err != nil {
		return out, err
	}
	out.Merged = merged
	out.MergedPath = filepath.Join(cfg.ResultsDir, "fleet-"+r.rv.RunID()+".json")
	if err := writeMerged(out.MergedPath, cfg.MetricsOut, merged); err != nil {
		return out, err
	}
	if runErr != nil && !errors.Is(runErr, ErrStopped) {
		return out, fmt.Errorf("rank 0: %v (merged file %s written)", runErr, out.MergedPath)
	}
	if msg := failureSummary(merged); msg != "" {
		return out, &FailedError{msg}
	}
	if gerr != nil {
		return out, &FailedError{gerr.Error()}
	}
	return out, nil
}

// notStarted is rank 0's report when ranks did not arrive: a merged file
// with the missing ranks and nodes failed and the others skipped.
func notStarted(cfg Config, re *RanksError) (*Outcome, error) {
	runID := cfg.Options.RunID
	if runID == "" {
		runID = NewRunID(cfg.Env.JobID, time.Now())
	}
	roster := numberNodes(slices.Clone(re.Arrived))
	f := &result.File{
		SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName, Version: cfg.Hello.Version},
		Created: time.Now().UTC().Truncate(time.Second), Partial: true, Measurements: []result.Measurement{},
		Fleet: &result.Fleet{RunID: runID, Launcher: cfg.Env.Launcher, WorldSize: cfg.Env.Size, Ranks: roster, Missing: re.Ranks},
	}
	f.Fleet.Verdicts = Judge(f, cfg.Thresholds, cfg.Env.Nodes)
	for i := range f.Fleet.Verdicts {
		v := &f.Fleet.Verdicts[i]
		if v.Verdict != result.VerdictFail {
			v.Verdict = result.VerdictSkip
			v.Reasons = []result.Reason{{Check: "run_started", Message: "not measured: the run did not start (" + re.Error() + ")"}}
		}
	}
	out := &Outcome{MergedPath: filepath.Join(cfg.ResultsDir, "fleet-"+runID+".json"), Merged: f}
	if err := writeMerged(out.MergedPath, cfg.MetricsOut, f); err != nil {
		return out, err
	}
	return out, re
}

// writeMerged writes rank 0's merged file to path and, when metricsOut is
// set, its metrics.
func writeMerged(path, metricsOut string, f *result.File) error {
	if err := result.Write(path, f); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if metricsOut != "" {
		if err := WriteMetrics(metricsOut, f); err != nil {
			return fmt.Errorf("--metrics-out: %v", err)
		}
	}
	return nil
}

// failureSummary is one line naming the failed and missing nodes, or "".
func failureSummary(f *result.File) string {
	var failed []string
	for _, v := range f.Fleet.Verdicts {
		if v.Verdict == result.VerdictFail {
			failed = append(failed, v.Node)
		}
	}
	if len(failed) == 0 && len(f.Fleet.Missing) == 0 {
		return ""
	}
	msg := fmt.Sprintf("%d of %d nodes failed (%s)", len(failed), len(f.Fleet.Verdicts), strings.Join(failed, ", "))
	if len(f.Fleet.Missing) > 0 {
		msg += "; missing " + rankList(f.Fleet.Missing)
	}
	return msg
}
