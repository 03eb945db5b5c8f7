package nvml

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// series is a scripted 5-reading window, 50 ms apart: the clock falls
// from 1980 to 1545 MHz as the card reaches its power cap; one reading
// has a thermal slowdown, one has no reason mask, one no power.
func series() []Reading {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 50 * time.Millisecond) }
	return []Reading{
		{At: at(0), SMClockMHz: 1980, MemClockMHz: 3201, PowerW: 400, TempC: 40, Reasons: 0, ReasonsOK: true},
		{At: at(1), SMClockMHz: 1700, MemClockMHz: 3201, PowerW: 690, TempC: 50, Reasons: powerCapBit, ReasonsOK: true},
		{At: at(2), SMClockMHz: 1545, MemClockMHz: 3201, PowerW: math.NaN(), TempC: 60, Reasons: powerCapBit | 0x20, ReasonsOK: true},
		{At: at(3), SMClockMHz: 1545, MemClockMHz: 3201, PowerW: 700, TempC: 62},
		{At: at(4), SMClockMHz: 1560, MemClockMHz: 3201, PowerW: 700, TempC: 64, Reasons: powerCapBit, ReasonsOK: true},
	}
}

func TestAggregate(t *testing.T) {
	s := Aggregate(series(), 0, 0, false)
	if s.Samples != 5 || !near(s.Seconds, 0.2) {
		t.Fatalf("samples %d seconds %v", s.Samples, s.Seconds)
	}
	if want := (1980.0 + 1700 + 1545 + 1545 + 1560) / 5; !near(s.SMClockMHz.Mean, want) || s.SMClockMHz.Min != 1545 || s.SMClockMHz.Max != 1980 || s.SMClockMHz.N != 5 {
		t.Errorf("sm clock %+v, mean want %v", s.SMClockMHz, want)
	}
	if s.MemClockMHz != (Stat{Mean: 3201, Min: 3201, Max: 3201, N: 5}) {
		t.Errorf("mem clock %+v", s.MemClockMHz)
	}
	// The NaN power reading is left out of the power figures.
	if want := (400.0 + 690 + 700 + 700) / 4; !near(s.PowerW.Mean, want) || s.PowerW.Min != 400 || s.PowerW.Max != 700 || s.PowerW.N != 4 {
		t.Errorf("power %+v, mean want %v", s.PowerW, want)
	}
	if !near(s.TempC.Mean, 55.2) || s.TempC.Min != 40 || s.TempC.Max != 64 {
		t.Errorf("temp %+v", s.TempC)
	}
	// Four readings have a mask: three at the cap, one (thermal) throttled.
	if !near(s.AtPowerCapFraction, 0.75) || !near(s.ThrottledFraction, 0.25) {
		t.Errorf("at cap %v throttled %v", s.AtPowerCapFraction, s.ThrottledFraction)
	}
	// No counter: trapezoids over the readings with power, skipping the
	// NaN one: 0.05·(400+690)/2 + 0.10·(690+700)/2 + 0.05·(700+700)/2.
	if want := 0.05*545 + 0.10*695 + 0.05*700; !near(s.EnergyJ, want) || s.EnergySource != "integrated power" {
		t.Errorf("energy %v (%s), want %v", s.EnergyJ, s.EnergySource, want)
	}
	// The counter wins when both ends read it.
	s = Aggregate(series(), 1_000_000, 1_123_456, true)
	if !near(s.EnergyJ, 123.456) || s.EnergySource != "counter" {
		t.Errorf("counter energy %v (%s)", s.EnergyJ, s.EnergySource)
	}
	// A counter that went backwards (a driver reload) is not trusted.
	if s = Aggregate(series(), 5000, 4000, true); s.EnergySource != "integrated power" {
		t.Errorf("backwards counter used: %v", s.EnergySource)
	}
	if s := Aggregate(nil, 0, 0, false); s.Samples != 0 || s.EnergyJ != 0 || s.SMClockMHz.N != 0 {
		t.Errorf("empty %+v", s)
	}
}

// script is a Source that plays a series, then repeats its last reading,
// stamping each with the time it is read; its energy counter rises 700 mJ
// per call.
type script struct {
	mu       sync.Mutex
	rs       []Reading
	i        int
	energy   uint64
	noEnergy bool
}

func (s *script) Read() Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rs[min(s.i, len(s.rs)-1)]
	s.i++
	r.At = time.Now()
	return r
}

func (s *script) EnergyMJ() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.energy += 700
	return s.energy, !s.noEnergy
}

func TestSamplerReadsThroughTheWindow(t *testing.T) {
	src := &script{rs: series()}
	sm := StartSampler(src, time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	sum, err := sm.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// A first reading at Start, a last at Stop, and ticks between.
	if sum.Samples < 3 || sum.Samples != src.i {
		t.Errorf("%d samples, %d reads", sum.Samples, src.i)
	}
	if sum.SMClockMHz.Max != 1980 || sum.SMClockMHz.Min != 1545 {
		t.Errorf("clock %+v", sum.SMClockMHz)
	}
	// Two counter reads, 700 mJ apart.
	if sum.EnergySource != "counter" || !near(sum.EnergyJ, 0.7) {
		t.Errorf("energy %v (%s)", sum.EnergyJ, sum.EnergySource)
	}

	// A source that reads nothing: the summary is empty and Stop says so.
	nan := math.NaN()
	dead := &script{rs: []Reading{{SMClockMHz: nan, MemClockMHz: nan, PowerW: nan, TempC: nan}}, noEnergy: true}
	sum, err = StartSampler(dead, 0).Stop()
	if !errors.Is(err, ErrNoReadings) || sum.SMClockMHz.N != 0 || sum.EnergyJ != 0 {
		t.Errorf("dead source: %+v, %v", sum, err)
	}
}
