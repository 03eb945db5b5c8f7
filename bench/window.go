package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

// Sustained timing: on a device that times windows of back-to-back calls
// (backend.WindowGEMM, a GPU), the runner warms the device up under load
// until its clock and power have settled, then times one window of calls
// enqueued back to back, with the device's state sampled through it.
const (
	// DutyCycleFloor is the least duty cycle (Σ device time ÷ window time)
	// of a sustained measurement; below it, for calls of at least
	// DutyCycleMinCall, the measurement is flagged.
	DutyCycleFloor = 0.95
	// DutyCycleMinCall is the least median call time the floor applies
	// to: shorter calls are bounded by launch overhead, not idling.
	DutyCycleMinCall = 100e-6
	// DefaultGPUWarmupTime is the GPU suites' least warm-up under load.
	DefaultGPUWarmupTime = time.Second
	// warmChunk is the length of one warm-up window; the clock is read
	// between chunks.
	warmChunk = 0.2
	// clockFalling is the relative drop of the SM clock over one warm-up
	// chunk that keeps the warm-up going past its least time.
	clockFalling = 0.01
	// maxWarmupFactor bounds the warm-up at this many times its least
	// time (at least maxWarmupFloor).
	maxWarmupFactor = 4
	maxWarmupFloor  = 2 * time.Second
)

// maxWarmup is how long a warm-up may go on while the clock still falls.
func maxWarmup(least time.Duration) time.Duration {
	return max(maxWarmupFloor, maxWarmupFactor*least)
}

// warmUp runs warmup calls as one back-to-back window, then, for at
// least least (device time), windows of about warmChunk seconds, going on
// while the SM clock (read between windows) still falls by more than
// clockFalling per window, up to maxWarmup(least). est is a per-call
// time estimate (the check call's); warmUp returns a better one (the
// last window's median) and a note saying what the warm-up did ("" when
// only calls were asked for).
func warmUp(ctx context.Context, b backend.Backend, g backend.WindowGEMM, warmup int, least time.Duration, est float64) (float64, string, error) {
	var elapsed float64
	if warmup > 0 {
		w, err := g.RunWindow(warmup)
		if err != nil {
			return est, "", fmt.Errorf("warm-up call failed: %v", err)
		}
		elapsed += windowSeconds(w)
		est = median(w.Samples, est)
	}
	if least <= 0 {
		return est, "", nil
	}
	first := b.State().ClockMHz
	prev, clk := first, first
	falling, chunks := false, 0
	limit := maxWarmup(least).Seconds()
	t0 := time.Now()
	for elapsed < least.Seconds() || falling {
		// The device's own time bounds the warm-up; the host clock too, in
		// case a device reports no time at all.
		if elapsed >= limit || time.Since(t0).Seconds() >= 2*limit {
			return est, fmt.Sprintf("warm-up: %.1f s back to back, SM clock still falling (%.0f → %.0f MHz) at the %.0f s bound", elapsed, first, clk, limit), nil
		}
		if err := ctx.Err(); err != nil {
			return est, "", err
		}
		w, err := g.RunWindow(callsFor(warmChunk, est))
		if err != nil {
			return est, "", fmt.Errorf("warm-up call failed: %v", err)
		}
		chunks++
		elapsed += windowSeconds(w)
		est = median(w.Samples, est)
		clk = b.State().ClockMHz
		falling = clk > 0 && prev > 0 && clk < prev*(1-clockFalling)
		prev = clk
	}
	note := fmt.Sprintf("warm-up: %.1f s back to back in %d windows", elapsed, chunks)
	if first > 0 && clk > 0 {
		note += fmt.Sprintf(", SM clock %.0f → %.0f MHz", first, clk)
	}
	return est, note, nil
}

// windowSeconds is a window's length: its device span, else its wall
// time, else its busy time.
func windowSeconds(w backend.WindowTiming) float64 {
	switch {
	case w.Span > 0:
		return w.Span
	case w.Wall > 0:
		return w.Wall
	}
	return w.Busy
}

// callsFor is the number of calls of est seconds that fill seconds (at
// least 1; est unknown counts as 1 ms).
func callsFor(seconds, est float64) int {
	if !(est > 0) {
		est = 1e-3
	}
	return max(1, int(math.Ceil(seconds/est-1e-9)))
}

// median returns the median of xs, or def when xs is empty.
func median(xs []float64, def float64) float64 {
	if len(xs) == 0 {
		return def
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return stats.Quantile(s, 0.5)
}

// windowCalls plans a timed window from a per-call estimate: enough calls
// for both minRepeats and minTime; when that would pass maxTime, as many
// as fit in it (at least MinSamples), and short says so.
func windowCalls(est float64, minRepeats int, minTime, maxTime time.Duration) (n int, short bool) {
	n = max(minRepeats, 1)
	if minTime > 0 {
		n = max(n, callsFor(minTime.Seconds(), est))
	}
	if est > 0 && float64(n)*est > maxTime.Seconds() {
		fit := int(maxTime.Seconds()/est + 1e-9)
		return max(MinSamples, fit), true
	}
	return n, false
}

// timeWindow times one back-to-back window of n calls on g with every
// operand set's output poisoned first, so the check after timing sees
// what the timed calls wrote; the device's state is sampled through the
// window where b can. It returns the window, its sampled state (nil when
// none) and why there is none.
func timeWindow(b backend.Backend, g backend.WindowGEMM, n int) (backend.WindowTiming, *result.Window, error, error) {
	for s := 0; s < g.Sets(); s++ {
		g.Poison(s)
	}
	var stop func() (*result.Window, error)
	if s, ok := b.(backend.StateSampler); ok {
		stop = s.SampleWindow()
	}
	w, err := g.RunWindow(n)
	var win *result.Window
	var why error
	if stop != nil {
		win, why = stop()
	}
	return w, win, why, err
}

// recordWindow records a sustained measurement's timing mode, duty cycle,
// window state and the figures derived from them on m, whose FLOPPerSecond
// is set: busy and length are the window's device time and length, calls
// the calls (unit: "calls", "steps") in it.
func recordWindow(m *result.Measurement, busy, length float64, calls int, unit string, win *result.Window, why error) {
	m.Timing = result.TimingBackToBack
	if length > 0 && busy > 0 {
		m.DutyCycle = min(1, busy/length)
	}
	if win == nil {
		win = &result.Window{}
	}
	win.Seconds = length
	m.Window = win
	if why != nil {
		m.Notes = append(m.Notes, "window state not sampled: "+why.Error())
	}
	if n := dutyNote(m); n != "" {
		m.Notes = append(m.Notes, n)
	}
	if c := win.SMClockMHz; c != nil && c.Mean > 0 && m.FLOPPerSecond > 0 {
		m.FLOPPerSecondPerGHz = m.FLOPPerSecond / (c.Mean / 1000)
	}
	if win.EnergyJ > 0 && m.FLOPs > 0 && calls > 0 {
		m.FLOPPerJoule = m.FLOPs * float64(calls) / win.EnergyJ
	}
	m.Notes = append(m.Notes, windowNote(m, calls, unit))
}

// windowNote is the one-line account of a window: length, calls, duty
// cycle, clocks, power and the derived efficiencies.
func windowNote(m *result.Measurement, calls int, unit string) string {
	w := m.Window
	s := fmt.Sprintf("window %.2f s, %d %s back to back, duty cycle %.3f", w.Seconds, calls, unit, m.DutyCycle)
	if c := w.SMClockMHz; c != nil {
		s += fmt.Sprintf("; SM clock %.0f MHz mean (%.0f–%.0f)", c.Mean, c.Min, c.Max)
	}
	if p := w.PowerW; p != nil {
		s += fmt.Sprintf(", %.0f W mean (max %.0f), %.0f%% of it at the power cap", p.Mean, p.Max, 100*w.AtPowerCapFraction)
	}
	if w.ThrottledFraction > 0 {
		s += fmt.Sprintf(", throttled %.0f%%", 100*w.ThrottledFraction)
	}
	if m.FLOPPerSecondPerGHz > 0 {
		s += fmt.Sprintf("; %.1f TFLOP/s per GHz", m.FLOPPerSecondPerGHz/1e12)
	}
	if m.FLOPPerJoule > 0 {
		s += fmt.Sprintf(", %.3f TFLOP/s per W, %.1f J", m.FLOPPerJoule/1e12, w.EnergyJ)
	}
	return s
}

// measureWindow times a GEMM that runs windows back to back (a GPU):
// warm-up under load, one timed window (planned from the warm-up's
// per-call time, planned again once if the estimate was off), the check
// after timing, and the window's figures. est is the check call's time.
func measureWindow(ctx context.Context, b backend.Backend, g backend.WindowGEMM, cfg Config, m result.Measurement, d kernels.DType, seed uint64, est float64) (result.Measurement, error) {
	est, note, err := warmUp(ctx, b, g, cfg.Warmup, cfg.WarmupTime, est)
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return fail(m, err.Error()), nil
	}
	if note != "" {
		m.Notes = append(m.Notes, note)
	}
	var (
		w      backend.WindowTiming
		win    *result.Window
		why    error
		n      int
		short  bool
		before result.State
		after  result.State
	)
	for attempt := 0; attempt < 2; attempt++ {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		n, short = windowCalls(est, cfg.MinRepeats, cfg.MinTime, cfg.MaxTime)
		before = b.State()
		var runErr error
		w, win, why, runErr = timeWindow(b, g, n)
		if runErr != nil {
			return fail(m, fmt.Sprintf("timed window failed: %v", runErr)), nil
		}
		after = b.State()
		// A window well short of --min-time because the estimate was off
		// is planned again from its own calls, once.
		if short || cfg.MinTime <= 0 || w.Busy >= 0.9*cfg.MinTime.Seconds() {
			break
		}
		est = median(w.Samples, est)
	}
	if short {
		m.Notes = append(m.Notes, fmt.Sprintf("stopped at --max-time %v: window of %d calls (%.3g s) is shorter than --min-time %v or --repeats %d; recorded with its real length",
			cfg.MaxTime, n, windowSeconds(w), cfg.MinTime, cfg.MinRepeats))
	}
	if w.PerSample > 1 {
		m.Notes = append(m.Notes, fmt.Sprintf("each sample is the mean of %d consecutive back-to-back calls (one event pair per group)", w.PerSample))
	}

	// The last timed output is checked too: a kernel that is right once
	// and wrong under repetition is still wrong.
	if rep := check(g, (n-1)%g.Sets(), d, seed); !rep.Passed {
		record(&m, rep)
		return fail(m, "check after timing failed: "+rep.Reason), nil
	}
	if err := summarize(&m, w.Samples, before, after); err != nil {
		return fail(m, err.Error()), nil
	}
	recordWindow(&m, w.Busy, windowSeconds(w), n, "calls", win, why)
	return m, nil
}

// recordCallLoop records calls timed one by one on the host (the CPU):
// back to back, with the duty cycle Σ samples ÷ the loop's wall time.
func recordCallLoop(m *result.Measurement, samples []float64, wall float64) {
	m.Timing = result.TimingBackToBack
	if busy := sum(samples); wall > 0 && busy > 0 {
		m.DutyCycle = min(1, busy/wall)
	}
	if n := dutyNote(m); n != "" {
		m.Notes = append(m.Notes, n)
	}
}

// sum is Σ xs: the device time of calls timed one by one.
func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// dutyNote flags a duty cycle below DutyCycleFloor on calls of at least
// DutyCycleMinCall; "" otherwise.
func dutyNote(m *result.Measurement) string {
	if m.Seconds == nil || m.DutyCycle <= 0 || m.DutyCycle >= DutyCycleFloor || m.Seconds.Median < DutyCycleMinCall {
		return ""
	}
	return fmt.Sprintf("duty cycle %.2f below %.2f: the device idled %.0f%% of the window between calls, so its clocks ran as in a burst, not under sustained load",
		m.DutyCycle, DutyCycleFloor, 100*(1-m.DutyCycle))
}
