package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func config(shapes ...kernels.GEMMShape) Config {
	c := Config{DTypes: []kernels.DType{kernels.FP32}, Warmup: 1, MinRepeats: 5, MaxTime: time.Hour, Seed: 11}
	for _, s := range shapes {
		c.Problems = append(c.Problems, Problem{Label: "square", Shape: s})
	}
	return c
}

func TestRunReportsMedianThroughput(t *testing.T) {
	f := &fake.Backend{Durations: []float64{0.004, 0.002, 0.003, 0.001, 0.005}, Peak: 1e9}
	ms, err := Run(context.Background(), f, config(kernels.Square(64)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("%d measurements", len(ms))
	}
	m := ms[0]
	// Calls: 1 check + 1 warm-up + 5 timed; timed durations are the 3rd..7th
	// of the script (cycling), i.e. 0.003, 0.001, 0.005, 0.004, 0.002.
	if m.Status != result.StatusOK || !m.Verified || m.Seconds == nil {
		t.Fatalf("measurement %+v", m)
	}
	if m.Seconds.N != 5 || m.Seconds.Median != 0.003 || m.Seconds.Min != 0.001 || m.Seconds.Max != 0.005 {
		t.Errorf("seconds %+v", m.Seconds)
	}
	wantRate := 2.0 * 64 * 64 * 64 / 0.003
	if math.Abs(m.FLOPPerSecond-wantRate) > 1e-6*wantRate {
		t.Errorf("flop/s %v, want %v", m.FLOPPerSecond, wantRate)
	}
	if m.PeakFLOPPerSecond != 1e9 || m.Device != "fake" || m.Seed != 11 || m.VerifyMode != "full" {
		t.Errorf("peak %v device %q seed %d mode %q", m.PeakFLOPPerSecond, m.Device, m.Seed, m.VerifyMode)
	}
	if !m.Noisy {
		t.Errorf("a 1..5 ms spread should be flagged noisy")
	}
	if m.RelError == nil || *m.RelError > 1e-6 {
		t.Errorf("rel error %v", m.RelError)
	}
}

func TestRunFaultsAreFailures(t *testing.T) {
	cases := []struct {
		fault fake.Fault
		want  string
	}{
		{fake.Wrong, "check failed: relative error"},
		{fake.Unwritten, "NaN or infinite"},
		{fake.NaN, "NaN or infinite"},
		{fake.WrongLater, "check after timing failed"},
		{fake.RunError, "run failed"},
	}
	for _, c := range cases {
		for _, s := range []kernels.GEMMShape{kernels.Square(32), {M: 1030, N: 70, K: 20}} {
			f := &fake.Backend{Fault: c.fault}
			ms, err := Run(context.Background(), f, config(s))
			if err != nil {
				t.Fatal(err)
			}
			m := ms[0]
			if m.Status != result.StatusFailed || m.Verified || m.FLOPPerSecond != 0 || m.Seconds != nil {
				t.Errorf("fault %d %s: a wrong kernel got a throughput: %+v", c.fault, s, m)
			}
			if !strings.Contains(strings.Join(m.Notes, ";"), c.want) {
				t.Errorf("fault %d %s: notes %q lack %q", c.fault, s, m.Notes, c.want)
			}
		}
	}
}

func TestRunSkipsWhatCannotRun(t *testing.T) {
	cfg := config(kernels.Square(16))
	cfg.DTypes = []kernels.DType{kernels.BF16, kernels.FP32}
	ms, err := Run(context.Background(), &fake.Backend{OutOfMemory: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Status != result.StatusSkipped || !strings.Contains(ms[0].Notes[0], "not supported") {
		t.Errorf("bf16: %+v", ms[0])
	}
	if ms[1].Status != result.StatusSkipped || !strings.Contains(ms[1].Notes[0], "out of memory") {
		t.Errorf("oom: %+v", ms[1])
	}
	ms, _ = Run(context.Background(), &fake.Backend{Memory: 100}, config(kernels.Square(16)))
	if ms[0].Status != result.StatusSkipped || !strings.Contains(ms[0].Notes[0], "needs 0.0 GiB") {
		t.Errorf("too big: %+v", ms[0])
	}
}

func TestRunStopsAtMinTimeAndMaxTime(t *testing.T) {
	cfg := config(kernels.Square(8))
	cfg.MinRepeats, cfg.MinTime, cfg.MaxTime = 2, 125*time.Millisecond, time.Hour
	ms, _ := Run(context.Background(), &fake.Backend{Durations: []float64{1.0 / 64}}, cfg)
	if n := ms[0].Seconds.N; n != 8 {
		t.Errorf("min-time 125ms with 1/64 s calls: %d samples, want 8", n)
	}
	cfg.MinRepeats, cfg.MinTime, cfg.MaxTime = 100, 0, 125*time.Millisecond
	ms, _ = Run(context.Background(), &fake.Backend{Durations: []float64{1.0 / 64}}, cfg)
	if n := ms[0].Seconds.N; n != 8 || !strings.Contains(strings.Join(ms[0].Notes, ";"), "max-time") {
		t.Errorf("max-time 125ms with 1/64 s calls: %d samples, notes %q", n, ms[0].Notes)
	}
	cfg.MaxTime = 0
	ms, _ = Run(context.Background(), &fake.Backend{Durations: []float64{1}}, cfg)
	if n := ms[0].Seconds.N; n != MinSamples {
		t.Errorf("never fewer than %d samples, got %d", MinSamples, n)
	}
}

func TestRunRotatesBuffersAndFlagsThrottling(t *testing.T) {
	ms, _ := Run(context.Background(), &fake.Backend{Cache: 1 << 20, Throttle: true}, config(kernels.Square(64)))
	m := ms[0]
	// 64³ fp32 is 48 KiB: 2 MiB of cache / 48 KiB rounds up to 43 sets.
	if m.BufferSets != 43 {
		t.Errorf("buffer sets %d, want 43", m.BufferSets)
	}
	if !strings.Contains(strings.Join(m.Notes, ";"), "throttled") || !m.StateAfter.Throttled {
		t.Errorf("throttling not recorded: %q", m.Notes)
	}
}

func TestRunCancelledKeepsFinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config(kernels.Square(8), kernels.Square(16), kernels.Square(24))
	cfg.Progress = func(done, total int, what string) {
		if done == 2 {
			cancel()
		}
	}
	ms, err := Run(ctx, &fake.Backend{}, cfg)
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if len(ms) != 2 {
		t.Fatalf("kept %d measurements, want the 2 finished", len(ms))
	}
}

func TestConfigValidate(t *testing.T) {
	good := config(kernels.Square(8))
	cases := map[string]func(*Config){
		"no shapes":      func(c *Config) { c.Problems = nil },
		"no dtypes":      func(c *Config) { c.DTypes = nil },
		"zero repeats":   func(c *Config) { c.MinRepeats = 0 },
		"negative warm":  func(c *Config) { c.Warmup = -1 },
		"max below min":  func(c *Config) { c.MinTime, c.MaxTime = time.Second, time.Millisecond },
		"zero dimension": func(c *Config) { c.Problems[0].Shape.K = 0 },
	}
	for name, mutate := range cases {
		c := good
		c.Problems = append([]Problem(nil), good.Problems...)
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Run(context.Background(), &fake.Backend{}, c); err == nil {
			t.Errorf("%s: Run accepted", name)
		}
	}
}

func TestBufferSets(t *testing.T) {
	cases := []struct{ problem, cache, mem int64 }{{100, 0, 0}, {100 << 20, 32 << 20, 0}, {1 << 20, 32 << 20, 0}, {1, 1 << 30, 0}, {1 << 20, 32 << 20, 8 << 20}}
	want := []int{1, 1, 64, 64, 2}
	for i, c := range cases {
		if got := BufferSets(c.problem, c.cache, c.mem); got != want[i] {
			t.Errorf("BufferSets(%d, %d, %d) = %d, want %d", c.problem, c.cache, c.mem, got, want[i])
		}
	}
}
