package bench

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func notes(m result.Measurement) string { return strings.Join(m.Notes, "; ") }

func TestWindowDutyCycleFlagsIdleGaps(t *testing.T) {
	cfg := config(kernels.Square(16))
	// A device kept busy: duty cycle 1, no flag.
	f := &fake.Backend{Durations: []float64{1e-3}}
	ms, err := Run(context.Background(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if m.Status != result.StatusOK || m.Timing != result.TimingBackToBack || m.DutyCycle != 1 {
		t.Fatalf("busy device: status %s timing %q duty %v", m.Status, m.Timing, m.DutyCycle)
	}
	if strings.Contains(notes(m), "duty cycle 1.00 below") || strings.Contains(notes(m), "below 0.95") {
		t.Errorf("a back-to-back device was flagged: %s", notes(m))
	}
	// The timed calls ran as one window after the warm-up window.
	if f.Windows != 2 || f.WindowCalls != 1+5 {
		t.Errorf("%d windows, %d calls; want 2 and 6", f.Windows, f.WindowCalls)
	}

	// A device idle 0.85 ms after each 1.34 ms call (the old sleeping
	// loop): duty 1.34·5 / (1.34·5 + 0.85·4), flagged.
	f = &fake.Backend{Durations: []float64{1.34e-3}, Gap: 0.85e-3}
	ms, _ = Run(context.Background(), f, cfg)
	m = ms[0]
	want := 1.34 * 5 / (1.34*5 + 0.85*4)
	if math.Abs(m.DutyCycle-want) > 1e-9 || !strings.Contains(notes(m), "below 0.95") {
		t.Errorf("idle gaps: duty %v (want %v), notes %s", m.DutyCycle, want, notes(m))
	}
	if m.Window == nil || math.Abs(m.Window.Seconds-(1.34*5+0.85*4)*1e-3) > 1e-12 {
		t.Errorf("window %+v", m.Window)
	}

	// Calls under 100 µs are bounded by launches, not idling: no flag.
	f = &fake.Backend{Durations: []float64{50e-6}, Gap: 50e-6}
	ms, _ = Run(context.Background(), f, cfg)
	if m = ms[0]; m.DutyCycle > 0.6 || strings.Contains(notes(m), "below 0.95") {
		t.Errorf("short calls: duty %v, notes %s", m.DutyCycle, notes(m))
	}
}

func TestWindowStateAndDerivedFigures(t *testing.T) {
	cfg := config(kernels.Square(64))
	win := &result.Window{
		SMClockMHz:  &result.Range{Mean: 1500, Min: 1450, Max: 1980},
		PowerW:      &result.Range{Mean: 690, Min: 400, Max: 700},
		EnergyJ:     0.02,
		Samples:     50,
		MemClockMHz: &result.Range{Mean: 3201, Min: 3201, Max: 3201},

		AtPowerCapFraction: 0.9,
	}
	ms, err := Run(context.Background(), &fake.Backend{Durations: []float64{2e-3}, Window: win}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	flops := 2.0 * 64 * 64 * 64
	rate := flops / 2e-3
	if math.Abs(m.FLOPPerSecond-rate) > 1e-6*rate {
		t.Fatalf("flop/s %v, want %v", m.FLOPPerSecond, rate)
	}
	// Per GHz of mean SM clock: rate / 1.5.
	if want := rate / 1.5; math.Abs(m.FLOPPerSecondPerGHz-want) > 1e-9*want {
		t.Errorf("flop/s per GHz %v, want %v", m.FLOPPerSecondPerGHz, want)
	}
	// Per joule: the window's 5 calls' FLOPs over its 0.02 J.
	if want := 5 * flops / 0.02; math.Abs(m.FLOPPerJoule-want) > 1e-9*want {
		t.Errorf("flop per joule %v, want %v", m.FLOPPerJoule, want)
	}
	// The window's length is the timed window's, not the sampler's.
	if m.Window == nil || m.Window.Samples != 50 || math.Abs(m.Window.Seconds-0.01) > 1e-12 || m.Window.AtPowerCapFraction != 0.9 {
		t.Errorf("window %+v", m.Window)
	}
	if n := notes(m); !strings.Contains(n, "SM clock 1500 MHz mean (1450–1980)") || !strings.Contains(n, "690 W mean") || !strings.Contains(n, "90% of it at the power cap") {
		t.Errorf("window note missing: %s", n)
	}

	// A sampler that cannot read the device: the state stays empty, one
	// note says why, and the measurement still counts.
	ms, _ = Run(context.Background(), &fake.Backend{WindowErr: errors.New("NVML is not available")}, cfg)
	m = ms[0]
	if m.Status != result.StatusOK || m.FLOPPerSecond <= 0 || m.FLOPPerSecondPerGHz != 0 || m.FLOPPerJoule != 0 {
		t.Errorf("no state: %+v", m)
	}
	if m.Window == nil || m.Window.SMClockMHz != nil || strings.Count(notes(m), "NVML is not available") != 1 {
		t.Errorf("no state: window %+v notes %s", m.Window, notes(m))
	}
}

func TestWarmUpGoesOnWhileTheClockFalls(t *testing.T) {
	cfg := config(kernels.Square(8))
	cfg.Warmup, cfg.WarmupTime = 0, time.Second
	// One State read before the warm-up, one after each 0.2 s window: the
	// clock falls for six windows and is flat from the seventh.
	clocks := []float64{1980, 1900, 1800, 1700, 1600, 1550, 1530, 1525}
	f := &fake.Backend{Durations: []float64{1e-3}, Clocks: clocks}
	ms, err := Run(context.Background(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	// Five windows reach 1 s; the clock still fell in the fifth (1600 →
	// 1550) and sixth (1550 → 1530), so two more run; after the seventh
	// (1530 → 1525) it is flat.
	if n := notes(m); !strings.Contains(n, "warm-up: 1.4 s back to back in 7 windows, SM clock 1980 → 1525 MHz") {
		t.Errorf("notes %s", n)
	}

	// A clock that never settles: the warm-up stops at its bound.
	falling := make([]float64, 100)
	for i := range falling {
		falling[i] = 2000 * math.Pow(0.97, float64(i))
	}
	cfg.WarmupTime = 500 * time.Millisecond
	ms, _ = Run(context.Background(), &fake.Backend{Durations: []float64{1e-3}, Clocks: falling}, cfg)
	if n := notes(ms[0]); !strings.Contains(n, "still falling") || !strings.Contains(n, "at the 2 s bound") {
		t.Errorf("unbounded warm-up: %s", n)
	}
	cfg.WarmupTime = -time.Second
	if err := cfg.Validate(); err == nil {
		t.Error("negative warm-up time accepted")
	}
}

func TestWindowPoisonsBeforeTheCheckAfterTiming(t *testing.T) {
	// A kernel that writes nothing after its first (checked) call: the
	// check after timing must see the poison the timed calls left, not
	// the first call's right output.
	f := &fake.Backend{Fault: fake.SilentLater}
	ms, _ := Run(context.Background(), f, config(kernels.Square(16)))
	if ms[0].Status != result.StatusFailed || !strings.Contains(notes(ms[0]), "check after timing failed") {
		t.Errorf("unwritten output passed: %+v", ms[0])
	}
}

func TestWindowCalls(t *testing.T) {
	cases := []struct {
		est              float64
		repeats          int
		minTime, maxTime time.Duration
		n                int
		short            bool
	}{
		{1e-3, 5, 0, time.Hour, 5, false},
		{1e-3, 5, time.Second, time.Hour, 1000, false},
		{1.34e-3, 10, time.Second, 4 * time.Second, 747, false},
		{1, 5, time.Second, 2 * time.Second, 3, true},
		{0.1, 5, time.Second, 500 * time.Millisecond, 5, true},
		{0, 7, time.Second, time.Hour, 1000, false},
	}
	for _, c := range cases {
		n, short := windowCalls(c.est, c.repeats, c.minTime, c.maxTime)
		if n != c.n || short != c.short {
			t.Errorf("windowCalls(%v, %d, %v, %v) = %d, %v; want %d, %v", c.est, c.repeats, c.minTime, c.maxTime, n, short, c.n, c.short)
		}
	}
}

func TestTimingModeOfMeasurements(t *testing.T) {
	ms, _ := Run(context.Background(), &fake.Backend{}, config(kernels.Square(8)))
	if ms[0].TimingMode() != result.TimingBackToBack || ms[0].BurstTiming() {
		t.Errorf("new measurement reads as %q", ms[0].TimingMode())
	}
}
