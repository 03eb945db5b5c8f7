package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/kernels"
)

// Problem is one GEMM shape to measure, with the role it plays.
type Problem struct {
	Label string
	Shape kernels.GEMMShape
}

// Config says what a run measures and how long it times each
// configuration.
type Config struct {
	Problems []Problem
	DTypes   []kernels.DType
	// Warmup is the number of untimed calls before timing.
	Warmup int
	// MinRepeats and MinTime: timed calls go on until both are reached...
	MinRepeats int
	MinTime    time.Duration
	// ...unless MaxTime has passed and at least MinSamples calls were
	// timed; the measurement then notes that it stopped early.
	MaxTime time.Duration
	// Seed is the base seed; measurement i uses Seed+i.
	Seed uint64
	// Progress, when set, is called before each measurement.
	Progress func(done, total int, what string)
	// Done, when set, is called with each measurement as soon as it is
	// finished (to write it at once).
	Done func(result.Measurement)
	// WarmupTime is the least back-to-back warm-up on a device that times
	// windows (a GPU), after the Warmup calls, so that clocks and power
	// settle under load before timing; it goes on while the SM clock still
	// falls (bounded). 0: the Warmup calls only.
	WarmupTime time.Duration
}

// MinSamples is the fewest timed calls a measurement ever reports.
const MinSamples = 3

// maxBufferSets bounds the operand sets rotated through.
const maxBufferSets = 64

// Validate reports a configuration the runner cannot use.
func (c Config) Validate() error {
	switch {
	case len(c.Problems) == 0:
		return errors.New("no shapes to run")
	case len(c.DTypes) == 0:
		return errors.New("no dtypes to run")
	}
	if err := validateTiming(c.Warmup, c.MinRepeats, c.MinTime, c.MaxTime); err != nil {
		return err
	}
	if c.WarmupTime < 0 {
		return fmt.Errorf("warm-up time %v must be >= 0", c.WarmupTime)
	}
	for _, p := range c.Problems {
		if err := p.Shape.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// validateTiming checks the timing settings every workload's runner obeys.
func validateTiming(warmup, minRepeats int, minTime, maxTime time.Duration) error {
	switch {
	case warmup < 0:
		return fmt.Errorf("warmup %d must be >= 0", warmup)
	case minRepeats < 1:
		return fmt.Errorf("repeats %d must be >= 1", minRepeats)
	case minTime < 0:
		return fmt.Errorf("min-time %v must be >= 0", minTime)
	case maxTime < minTime:
		return fmt.Errorf("max-time %v must be >= min-time %v", maxTime, minTime)
	}
	return nil
}

// BufferSets returns how many operand sets a problem of the given size
// rotates through so that the timed calls do not find their inputs in a
// cache of cacheBytes: enough to cover twice the cache, within memory.
func BufferSets(problemBytes, cacheBytes, memAvailable int64) int {
	if problemBytes <= 0 || problemBytes >= cacheBytes {
		return 1
	}
	n := int((2*cacheBytes + problemBytes - 1) / problemBytes)
	if memAvailable > 0 {
		n = min(n, int(memAvailable/4/problemBytes))
	}
	return max(1, min(n, maxBufferSets))
}

// Run measures every problem in every dtype on b and returns the
// measurements in order. When ctx is cancelled it returns those finished so
// far together with ctx's error.
func Run(ctx context.Context, b backend.Backend, cfg Config) ([]result.Measurement, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dev := b.Device()
	total := len(cfg.Problems) * len(cfg.DTypes)
	var out []result.Measurement
	i := 0
	for _, d := range cfg.DTypes {
		for _, p := range cfg.Problems {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if cfg.Progress != nil {
				cfg.Progress(i, total, fmt.Sprintf("%s %s", d, p.Shape))
			}
			m, err := measure(ctx, b, cfg, p, d, cfg.Seed+uint64(i))
			if err != nil {
				return out, err
			}
			m.Device = dev.ID
			if m.Status == result.StatusOK {
				m.PeakFLOPPerSecond = dev.PeakFLOPPerSecond[d.String()]
			}
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

// measure runs one configuration: check, warm up, time, check again. An
// error is returned only for cancellation; anything else the device does
// wrong becomes a failed or skipped measurement.
func measure(ctx context.Context, b backend.Backend, cfg Config, p Problem, d kernels.DType, seed uint64) (result.Measurement, error) {
	m := result.Measurement{
		Workload: "gemm", Label: p.Label, DType: d.String(), Shape: p.Shape,
		FLOPs: p.Shape.FLOPs(), Bytes: p.Shape.Bytes(d), Seed: seed, Warmup: cfg.Warmup,
	}
	skip := func(format string, args ...any) (result.Measurement, error) {
		m.Status = result.StatusSkipped
		m.Notes = append(m.Notes, fmt.Sprintf(format, args...))
		return m, nil
	}
	if !b.Supports(d) {
		return skip("%s is not supported on %s", d, b.Device().ID)
	}
	avail := b.MemoryAvailable()
	if need := p.Shape.Bytes(d); avail > 0 && need > avail {
		return skip("needs %s, %s available", GiB(need), GiB(avail))
	}
	sets := BufferSets(p.Shape.Bytes(d), b.CacheBytes(), avail)
	g, err := b.NewGEMM(p.Shape, d, sets, seed)
	if err != nil {
		return skip("%v", err)
	}
	defer g.Release()
	m.BufferSets = g.Sets()
	if n, ok := g.(Noter); ok {
		m.Notes = append(m.Notes, n.Notes()...)
	}

	// The check: every output element starts as NaN.
	g.Poison(0)
	est, err := g.Run(0)
	if err != nil {
		return fail(m, fmt.Sprintf("run failed: %v", err)), nil
	}
	rep := check(g, 0, d, seed)
	record(&m, rep)
	if !rep.Passed {
		return fail(m, "check failed: "+rep.Reason), nil
	}

	// Collect the garbage of setup and checking now, so no collection runs
	// beside the timed calls and takes a core from the kernel.
	runtime.GC()
	if wg, ok := g.(backend.WindowGEMM); ok {
		return measureWindow(ctx, b, wg, cfg, m, d, seed, est)
	}
	for w := 0; w < cfg.Warmup; w++ {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if _, err := g.Run(w % g.Sets()); err != nil {
			return fail(m, fmt.Sprintf("warm-up call failed: %v", err)), nil
		}
	}

	// Every output is poisoned again, so the check after timing sees what
	// the timed calls wrote.
	for s := 0; s < g.Sets(); s++ {
		g.Poison(s)
	}
	before := b.State()
	set := 0
	t0 := time.Now()
	samples, err := timeCalls(ctx, cfg.MinRepeats, cfg.MinTime, cfg.MaxTime, &m, func(i int) (float64, error) {
		set = i % g.Sets()
		return g.Run(set)
	})
	wall := time.Since(t0).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return fail(m, err.Error()), nil
	}
	after := b.State()

	// The last timed output is checked too: a kernel that is right once
	// and wrong under repetition is still wrong.
	if rep := check(g, set, d, seed); !rep.Passed {
		record(&m, rep)
		return fail(m, "check after timing failed: "+rep.Reason), nil
	}

	if err := summarize(&m, samples, before, after); err != nil {
		return fail(m, err.Error()), nil
	}
	// Calls made one after another on the host (the CPU): back to back by
	// construction; the duty cycle counts the loop's own overhead.
	recordCallLoop(&m, samples, wall)
	return m, nil
}

// timeCalls makes timed calls until both minRepeats calls and minTime of
// timed time are reached, unless maxTime has passed and at least
// MinSamples calls were made (a note on m says so). call(i) runs the i-th
// call and returns its seconds. The error is ctx's when cancelled, else
// the failing call's.
func timeCalls(ctx context.Context, minRepeats int, minTime, maxTime time.Duration, m *result.Measurement, call func(i int) (float64, error)) ([]float64, error) {
	var samples []float64
	var elapsed float64
	for len(samples) < minRepeats || elapsed < minTime.Seconds() {
		if len(samples) >= MinSamples && elapsed >= maxTime.Seconds() {
			m.Notes = append(m.Notes, fmt.Sprintf("stopped at --max-time %v after %d of %d repeats", maxTime, len(samples), minRepeats))
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sec, err := call(len(samples))
		if err != nil {
			return nil, fmt.Errorf("timed call %d failed: %v", len(samples)+1, err)
		}
		samples = append(samples, sec)
		elapsed += sec
	}
	return samples, nil
}

// summarize records the timed samples on m with the device's state around
// them: the summary, status ok, the noise and throttling notes, and the
// throughput from the median.
func summarize(m *result.Measurement, samples []float64, before, after result.State) error {
	sum, err := stats.Summarize(samples)
	if err != nil {
		return err
	}
	m.StateBefore, m.StateAfter = &before, &after
	m.Status = result.StatusOK
	m.Seconds = &sum
	m.Samples = samples
	m.Noisy = sum.Noisy()
	if m.Noisy {
		m.Notes = append(m.Notes, fmt.Sprintf("noisy: spread (IQR/median) %.1f%% exceeds %.0f%%", 100*sum.RelIQR, 100*stats.NoisyThreshold))
	}
	m.Notes = append(m.Notes, result.StateNotes(before, after)...)
	if sum.Median > 0 {
		m.FLOPPerSecond = m.FLOPs / sum.Median
	}
	return nil
}

func check(g backend.GEMM, set int, d kernels.DType, seed uint64) verify.Report {
	a, bm, c := g.Operands(set)
	return verify.GEMM(a, bm, c, d, seed)
}

func record(m *result.Measurement, rep verify.Report) {
	m.Verified = rep.Passed
	m.ErrorBound = rep.Bound
	m.VerifyMode = rep.Mode
	m.Compared = rep.Compared
	m.Freivalds = freivaldsRecord(rep.Freivalds)
	m.RelError = nil
	if v := rep.RelError; v == v && v < 1e308 { // finite
		m.RelError = &v
	}
}

func fail(m result.Measurement, why string) result.Measurement {
	m.Status = result.StatusFailed
	m.Verified = false
	m.FLOPPerSecond = 0
	m.Seconds, m.Samples = nil, nil
	m.Notes = append(m.Notes, why)
	return m
}

// GiB formats a byte count in GiB.
func GiB(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
