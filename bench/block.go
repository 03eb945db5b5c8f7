package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu/block"
)

// BlockRun says which transformer blocks a run trains and how long it times
// each: the block workload's counterpart of Config, with the same timing
// rules.
type BlockRun struct {
	Blocks []kernels.BlockConfig
	DTypes []kernels.DType
	// Warmup, MinRepeats, MinTime and MaxTime are as in Config, counted in
	// training steps.
	Warmup     int
	MinRepeats int
	MinTime    time.Duration
	MaxTime    time.Duration
	// Seed is the base seed; measurement i uses Seed+i.
	Seed uint64
	// Progress, when set, is called before each measurement.
	Progress func(done, total int, what string)
	// Done, when set, is called with each measurement as soon as it is
	// finished (to write it at once).
	Done func(result.Measurement)
}

// Validate reports a run the runner cannot use.
func (c BlockRun) Validate() error {
	switch {
	case len(c.Blocks) == 0:
		return errors.New("no blocks to run")
	case len(c.DTypes) == 0:
		return errors.New("no dtypes to run")
	}
	if err := validateTiming(c.Warmup, c.MinRepeats, c.MinTime, c.MaxTime); err != nil {
		return err
	}
	for _, b := range c.Blocks {
		if err := b.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// BlockMemoryEstimate is the analytic memory of a block step in dtype d on
// a device that keeps everything in d with unfused attention (the CPU
// step), the figure checked against available memory before a step is
// built.
func BlockMemoryEstimate(c kernels.BlockConfig, d kernels.DType) kernels.BlockMemory {
	return c.MemoryEstimate(d, d, kernels.AttentionUnfused)
}

// RunBlocks trains every block in every dtype on b and returns the
// measurements in order. b must implement backend.BlockBackend. When ctx
// is cancelled it returns those finished so far together with ctx's error.
func RunBlocks(ctx context.Context, b backend.Backend, cfg BlockRun) ([]result.Measurement, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bb, ok := b.(backend.BlockBackend)
	if !ok {
		return nil, fmt.Errorf("device %s does not run the block workload", b.Device().ID)
	}
	dev := b.Device()
	total := len(cfg.Blocks) * len(cfg.DTypes)
	var out []result.Measurement
	i := 0
	for _, d := range cfg.DTypes {
		for _, blk := range cfg.Blocks {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if cfg.Progress != nil {
				cfg.Progress(i, total, fmt.Sprintf("%s %s", d, blk))
			}
			m, err := measureBlock(ctx, bb, cfg, blk, d, cfg.Seed+uint64(i))
			if err != nil {
				return out, err
			}
			m.Device = dev.ID
			out = append(out, m)
			if cfg.Done != nil {
				cfg.Done(m)
			}
			i++
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(total, total, "")
	}
	return out, nil
}

// measureBlock trains one block: check one step against the reference,
// warm up, time, check again. An error is returned only for cancellation.
func measureBlock(ctx context.Context, b backend.BlockBackend, cfg BlockRun, blk kernels.BlockConfig, d kernels.DType, seed uint64) (result.Measurement, error) {
	est := BlockMemoryEstimate(blk, d)
	var planned int64
	if p, ok := b.(backend.BlockMemoryPlanner); ok {
		if e, n, err := p.BlockMemory(blk, d); err == nil {
			est, planned = e, n
		}
	}
	m := result.Measurement{
		Workload: "block", Label: blk.Name(), DType: d.String(), FLOPs: blk.StepFLOPs(),
		Seed: seed, Warmup: cfg.Warmup,
		Block: &result.BlockMetrics{
			Preset: blk.Preset, Arch: string(blk.Arch), Hidden: blk.Hidden, Heads: blk.Heads, KVHeads: blk.KVHeads,
			FFN: blk.FFN, Seq: blk.Seq, Batch: blk.Batch, FLOPConvention: kernels.BlockFLOPConvention,
			MemoryEstimateBytes: est.Total(), MemoryPlannedBytes: planned,
		},
	}
	skip := func(format string, args ...any) (result.Measurement, error) {
		m.Status = result.StatusSkipped
		m.Notes = append(m.Notes, fmt.Sprintf(format, args...))
		return m, nil
	}
	if !b.Supports(d) {
		return skip("%s is not supported on %s", d, b.Device().ID)
	}
	need := max(est.Total(), planned)
	if avail := b.MemoryAvailable(); avail > 0 && need > avail {
		return skip("needs %s, %s available", GiB(need), GiB(avail))
	}
	step, err := b.NewBlockStep(blk, d, seed)
	if err != nil {
		return skip("%v", err)
	}
	defer step.Release()
	m.Block.Attention = step.Attention()

	rep := checkBlockStep(step, blk, d)
	recordBlock(&m, rep)
	if !rep.passed {
		return fail(m, "check failed: "+rep.reason), nil
	}
	m.Block.Loss = step.Loss()
	m.Block.MemoryBytes = step.MemoryBytes()

	runtime.GC()
	for w := 0; w < cfg.Warmup; w++ {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if _, err := step.Step(); err != nil {
			return fail(m, fmt.Sprintf("warm-up step failed: %v", err)), nil
		}
	}

	before := b.State()
	phases := map[string][]float64{}
	kinds := map[string][]float64{}
	// The device's state is sampled through the timed steps where it can
	// be (a GPU's NVML).
	var stopSampler func() (*result.Window, error)
	if sm, ok := b.(backend.StateSampler); ok {
		stopSampler = sm.SampleWindow()
	}
	t0 := time.Now()
	samples, err := timeCalls(ctx, cfg.MinRepeats, cfg.MinTime, cfg.MaxTime, &m, func(int) (float64, error) {
		tm, err := step.Step()
		for k, v := range tm.Phases {
			phases[k] = append(phases[k], v)
		}
		for k, v := range tm.Kinds {
			kinds[k] = append(kinds[k], v)
		}
		return tm.Seconds, err
	})
	wall := time.Since(t0).Seconds()
	var win *result.Window
	var why error
	if stopSampler != nil {
		win, why = stopSampler()
	}
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return fail(m, err.Error()), nil
	}
	after := b.State()

	// A step that is right once and wrong after many updates is still
	// wrong: the step after timing is checked too.
	if rep := checkBlockStep(step, blk, d); !rep.passed {
		recordBlock(&m, rep)
		return fail(m, "check after timing failed: "+rep.reason), nil
	}

	if err := summarize(&m, samples, before, after); err != nil {
		return fail(m, err.Error()), nil
	}
	// Steps follow each other with only the loss read back between them
	// (the GPU waits with a blocking synchronisation, no sleep): the duty
	// cycle says how busy the device was.
	if stopSampler != nil {
		recordWindow(&m, sum(samples), wall, len(samples), "steps", win, why)
	} else {
		recordCallLoop(&m, samples, wall)
	}
	if m.Seconds.Median > 0 {
		m.Block.TokensPerSecond = float64(blk.Tokens()) / m.Seconds.Median
	}
	m.Block.PhaseSeconds = medians(phases)
	m.Block.KindSeconds = medians(kinds)
	m.PeakFLOPPerSecond = b.Device().PeakFLOPPerSecond[d.String()]
	if m.PeakFLOPPerSecond > 0 {
		m.Block.MFU = m.FLOPPerSecond / m.PeakFLOPPerSecond
	}
	blockNotes(&m, est)
	if d, ok := step.(backend.KindDescriber); ok && m.Block.KindSeconds != nil {
		m.Notes = append(m.Notes, d.KindsMeaning())
	}
	return m, nil
}

func medians(samples map[string][]float64) map[string]float64 {
	if len(samples) == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range samples {
		sort.Float64s(v)
		out[k] = stats.Quantile(v, 0.5)
	}
	return out
}

// blockReport is the outcome of checking one step.
type blockReport struct {
	passed   bool
	reason   string
	relError float64 // the output's
	bound    float64
	compared int64
	// prefix is the number of leading tokens compared with the reference,
	// 0 when every token (and the loss) was.
	prefix int
}

// referenceWork is the most multiply-adds the float64 reference may spend
// on one check (a few seconds of plain loops).
var referenceWork = 2e9

// referenceTokens returns how many leading tokens of the first sequence
// the reference forward can afford for blk: all of them for a small block,
// at least 4 for a large one.
func referenceTokens(blk kernels.BlockConfig) int {
	perToken := float64(blk.ParamCount()) + 2*float64(blk.Seq)*float64(blk.Hidden)
	if perToken*float64(blk.Tokens()) <= referenceWork {
		return blk.Tokens()
	}
	return max(4, min(blk.Seq, int(referenceWork/perToken)))
}

// checkBlockStep runs one step and compares its output (bound
// kernels.BlockRelErrorBound) and loss (kernels.BlockLossErrorBound) with the
// float64 reference forward of the parameters, input and target it started
// from — on a block too large for the reference, the output of the first
// referenceTokens tokens only; every output element and gradient must be
// finite and the parameters' gradients not all zero.
func checkBlockStep(step backend.BlockStep, blk kernels.BlockConfig, d kernels.DType) blockReport {
	rep := blockReport{bound: kernels.BlockRelErrorBound(d)}
	params, x, target := step.Snapshot()
	if _, err := step.Step(); err != nil {
		rep.reason = fmt.Sprintf("step failed: %v", err)
		rep.relError = math.Inf(1)
		return rep
	}
	// The float64 reference is plain loops: on a large block it checks the
	// first tokens of the first sequence, whose outputs (attention being
	// causal) depend on nothing after them, and the loss only for being
	// finite.
	ref, n := blk, referenceTokens(blk)
	if n < blk.Tokens() {
		ref.Seq, ref.Batch = n, 1
		x, target = x[:n*blk.Hidden], target[:n*blk.Hidden]
		rep.prefix = n
	}
	want, wantLoss, err := block.Reference(ref, params, x, target)
	if err != nil {
		rep.reason = fmt.Sprintf("reference: %v", err)
		rep.relError = math.Inf(1)
		return rep
	}
	out := step.Output()
	if len(out) != blk.Tokens()*blk.Hidden {
		rep.reason = fmt.Sprintf("output has %d values, want %d", len(out), blk.Tokens()*blk.Hidden)
		rep.relError = math.Inf(1)
		return rep
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			rep.reason = "output is not finite (an unwritten or overflowed element)"
			rep.relError = math.NaN()
			return rep
		}
	}
	outErr := kernels.RelError(out[:len(want)], want)
	// The recorded error is the output's, checked against bound; the loss
	// has its own bound, for its long reduction.
	rep.relError = outErr
	rep.compared = int64(len(want))
	switch {
	case !(outErr <= rep.bound):
		rep.reason = fmt.Sprintf("output relative error %.2e exceeds %.0e", outErr, rep.bound)
		return rep
	case rep.prefix > 0 && (math.IsNaN(step.Loss()) || math.IsInf(step.Loss(), 0)):
		rep.reason = fmt.Sprintf("loss %g is not finite", step.Loss())
		return rep
	case rep.prefix == 0 && !(math.Abs(step.Loss()-wantLoss)/math.Abs(wantLoss) <= kernels.BlockLossErrorBound(d, len(want))):
		rep.reason = fmt.Sprintf("loss %g, reference %g: relative error %.2e exceeds %.1e", step.Loss(), wantLoss,
			math.Abs(step.Loss()-wantLoss)/math.Abs(wantLoss), kernels.BlockLossErrorBound(d, len(want)))
		return rep
	}
	if rep.prefix == 0 {
		rep.compared++ // the loss
	}
	var nonzero bool
	for _, p := range append(blk.Params(), kernels.BlockParam{Name: "input"}) {
		g := step.Gradient(p.Name)
		if p.Name != "input" && len(g) != p.Size() {
			rep.reason = fmt.Sprintf("gradient of %s has %d values, want %d", p.Name, len(g), p.Size())
			return rep
		}
		for _, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				rep.reason = fmt.Sprintf("gradient of %s is not finite", p.Name)
				return rep
			}
			nonzero = nonzero || v != 0
		}
	}
	if !nonzero {
		rep.reason = "every gradient is zero"
		return rep
	}
	rep.passed = true
	return rep
}

func recordBlock(m *result.Measurement, rep blockReport) {
	m.Verified = rep.passed
	m.ErrorBound = rep.bound
	m.VerifyMode = "reference forward"
	if rep.prefix > 0 {
		m.VerifyMode = fmt.Sprintf("reference forward, first %d tokens", rep.prefix)
	}
	m.Compared = rep.compared
	m.RelError = nil
	if v := rep.relError; v == v && v < 1e308 {
		m.RelError = &v
	}
}

// blockNotes adds the block's figures that the table has no column for.
func blockNotes(m *result.Measurement, est kernels.BlockMemory) {
	blk := m.Block
	line := fmt.Sprintf("%.0f tokens/s, %.3g GFLOP/step (%s attention, causal half credited)", blk.TokensPerSecond, m.FLOPs/1e9, blk.Attention)
	if blk.MFU > 0 {
		line += fmt.Sprintf(", MFU %.1f%%", 100*blk.MFU)
	}
	m.Notes = append(m.Notes, line)
	if p := blk.PhaseSeconds; p != nil {
		m.Notes = append(m.Notes, fmt.Sprintf("phases: forward %s, backward %s, optimizer %s (medians)",
			seconds(p["forward"]), seconds(p["backward"]), seconds(p["optimizer"])))
	}
	if k := blk.KindSeconds; k != nil {
		m.Notes = append(m.Notes, fmt.Sprintf("time by kind: gemm %s, attention %s, other %s (medians)",
			seconds(k["gemm"]), seconds(k["attention"]), seconds(k["other"])))
	} else {
		m.Notes = append(m.Notes, "time by kernel kind (gemm, attention, other) not measured on this device")
	}
	planned := ""
	if blk.MemoryPlannedBytes > 0 {
		planned = fmt.Sprintf(" (its buffers by plan %s)", kernels.FormatBytes(blk.MemoryPlannedBytes))
	}
	m.Notes = append(m.Notes, fmt.Sprintf("memory: measured %s%s, analytic estimate %s; loss %.4g", kernels.FormatBytes(blk.MemoryBytes), planned, est, blk.Loss))
}

func seconds(s float64) string {
	if s >= 1 {
		return fmt.Sprintf("%.3f s", s)
	}
	return fmt.Sprintf("%.2f ms", 1e3*s)
}
