package gpu

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda/nvml"
)

// scriptedDevice is a fake stream for the pipeline's event bookkeeping:
// calls take scripted device times, the device idles gap seconds before
// every call but the first (a host that is late to launch), and events are stamped with the
// device clock when the stream reaches them. Nothing runs until sync.
type scriptedDevice struct {
	durations []float64 // per call, cycling
	gap       float64   // idle device time before every call
	clock     float64   // device time so far
	stamps    map[int]float64
	recorded  map[int]bool
	next      int // next event handle
	created   int
	destroyed int
	syncs     int
	enqueued  int
	records   int
	failAt    int // enqueue fails at this call index (0: never)
	host      time.Time
	log       []string
}

func (d *scriptedDevice) api() eventAPI[int] {
	return eventAPI[int]{
		create: func() (int, error) {
			d.next++
			d.created++
			return d.next, nil
		},
		record: func(e int) error {
			// Records alternate start, stop: the host reaches a start late
			// by gap, so the device idles before it (not the first).
			if d.records%2 == 0 && d.records > 0 {
				d.clock += d.gap
			}
			d.records++
			d.stamps[e] = d.clock
			d.recorded[e] = true
			d.log = append(d.log, "record")
			return nil
		},
		sync: func(e int) error {
			if !d.recorded[e] {
				return errors.New("sync on an unrecorded event")
			}
			d.syncs++
			d.log = append(d.log, "sync")
			return nil
		},
		elapsed: func(a, b int) (float64, error) {
			if !d.recorded[a] || !d.recorded[b] {
				return 0, errors.New("elapsed of an unrecorded event")
			}
			return d.stamps[b] - d.stamps[a], nil
		},
		destroy: func(int) error { d.destroyed++; return nil },
		drain:   func() error { d.log = append(d.log, "drain"); return nil },
		now: func() time.Time {
			d.host = d.host.Add(time.Duration(d.clock * 1e9))
			return d.host
		},
	}
}

func (d *scriptedDevice) enqueue(i int) error {
	if d.failAt > 0 && i == d.failAt {
		return errors.New("launch failed")
	}
	d.clock += d.durations[d.enqueued%len(d.durations)]
	d.enqueued++
	d.log = append(d.log, "call")
	return nil
}

func newScripted(durations ...float64) *scriptedDevice {
	return &scriptedDevice{durations: durations, stamps: map[int]float64{}, recorded: map[int]bool{}}
}

func TestPipelineWindowBookkeeping(t *testing.T) {
	d := newScripted(1e-3, 2e-3, 3e-3)
	p := &pipeline[int]{api: d.api()}
	w, err := p.run(5, d.enqueue)
	if err != nil {
		t.Fatal(err)
	}
	// One pair per call, one wait at the end, nothing else on the host.
	want := []float64{1e-3, 2e-3, 3e-3, 1e-3, 2e-3}
	if len(w.Samples) != 5 || w.Calls != 5 || w.PerSample != 1 {
		t.Fatalf("window %+v", w)
	}
	for i := range want {
		if math.Abs(w.Samples[i]-want[i]) > 1e-12 {
			t.Errorf("sample %d = %v, want %v", i, w.Samples[i], want[i])
		}
	}
	if d.syncs != 1 || d.created != 10 {
		t.Errorf("%d waits, %d events created; want 1 and 10", d.syncs, d.created)
	}
	if got := d.log[len(d.log)-1]; got != "sync" {
		t.Errorf("last host action %q", got)
	}
	if math.Abs(w.Busy-9e-3) > 1e-12 || math.Abs(w.Span-9e-3) > 1e-12 || w.DutyCycle() != 1 {
		t.Errorf("busy %v span %v duty %v", w.Busy, w.Span, w.DutyCycle())
	}

	// The pool is reused: a second window creates no events.
	if _, err := p.run(3, d.enqueue); err != nil || d.created != 10 {
		t.Errorf("second window: %v, %d events created", err, d.created)
	}
	p.close()
	if d.destroyed != 10 {
		t.Errorf("%d of 10 events destroyed", d.destroyed)
	}
}

func TestPipelineIdleGapsLowerTheDutyCycle(t *testing.T) {
	// A device that idles 0.85 ms before each 1.34 ms call (the old
	// sleeping loop's pattern): the gaps fall outside the pairs.
	d := newScripted(1.34e-3)
	d.gap = 0.85e-3
	p := &pipeline[int]{api: d.api()}
	w, err := p.run(100, d.enqueue)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(w.Busy-0.134) > 1e-9 {
		t.Errorf("busy %v", w.Busy)
	}
	want := 1.34 / (1.34 + 0.85*99/100)
	if math.Abs(w.DutyCycle()-want) > 1e-9 {
		t.Errorf("duty %v, want %v", w.DutyCycle(), want)
	}
}

func TestPipelineGroupsLongWindows(t *testing.T) {
	d := newScripted(1e-6)
	p := &pipeline[int]{api: d.api()}
	calls := 3*maxPairs + 5
	w, err := p.run(calls, d.enqueue)
	if err != nil {
		t.Fatal(err)
	}
	k := groupSize(calls)
	if k != 4 || w.PerSample != 4 || len(w.Samples) != (calls+3)/4 || d.enqueued != calls {
		t.Fatalf("k %d per sample %d samples %d enqueued %d", k, w.PerSample, len(w.Samples), d.enqueued)
	}
	// Each sample is its group's mean, the last group short.
	for i, s := range w.Samples {
		if math.Abs(s-1e-6) > 1e-12 {
			t.Fatalf("sample %d = %v", i, s)
		}
	}
	if d.created > 2*maxPairs {
		t.Errorf("%d events for a window: more than %d pairs", d.created, maxPairs)
	}
}

func TestPipelineLaunchFailure(t *testing.T) {
	d := newScripted(1e-3)
	d.failAt = 3
	p := &pipeline[int]{api: d.api()}
	if _, err := p.run(5, d.enqueue); err == nil || d.log[len(d.log)-1] != "drain" {
		t.Errorf("err %v, last action %q: a failed launch must drain the stream and fail the window", err, d.log[len(d.log)-1])
	}
	if _, err := p.run(0, d.enqueue); err == nil {
		t.Error("a window of 0 calls was accepted")
	}
}

func TestWindowTimingDutyCycle(t *testing.T) {
	cases := []struct {
		w    backend.WindowTiming
		want float64
	}{
		{backend.WindowTiming{Busy: 0.6, Span: 1, Wall: 2}, 0.6},
		{backend.WindowTiming{Busy: 0.6, Wall: 2}, 0.3},
		{backend.WindowTiming{Busy: 1.2, Span: 1}, 1},
		{backend.WindowTiming{}, 0},
	}
	for _, c := range cases {
		if got := c.w.DutyCycle(); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v: duty %v, want %v", c.w, got, c.want)
		}
	}
}

func TestBandwidthCalls(t *testing.T) {
	cases := []struct {
		least   int
		minTime time.Duration
		est     float64
		want    int
	}{
		{20, 0, 0.5e-3, 20},
		{20, time.Second, 0.5e-3, 2000},
		{20, time.Second, 0, 20},
		{0, time.Minute, 1e-3, 4000}, // capped at maxBandwidthWindow
		{3, time.Second, 2, 3},
	}
	for _, c := range cases {
		if got := bandwidthCalls(c.least, c.minTime, c.est); got != c.want {
			t.Errorf("bandwidthCalls(%d, %v, %v) = %d, want %d", c.least, c.minTime, c.est, got, c.want)
		}
	}
}

func TestHoldGCNests(t *testing.T) {
	was := debug.SetGCPercent(100)
	defer debug.SetGCPercent(was)
	a := holdGC()
	b := holdGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("collector on while held: %d", p)
	}
	a()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("collector on while one hold remains: %d", p)
	}
	b()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("collector not restored: %d", p)
	}
}

func TestWindowOf(t *testing.T) {
	s := nvml.Summary{
		Seconds:            1.02,
		SMClockMHz:         nvml.Stat{Mean: 1560, Min: 1530, Max: 1980, N: 51},
		PowerW:             nvml.Stat{Mean: 695, Min: 420, Max: 701, N: 51},
		AtPowerCapFraction: 0.96, ThrottledFraction: 0.02,
		EnergyJ: 709.2, EnergySource: "counter", Samples: 52,
	}
	w := WindowOf(s)
	if w.Seconds != 1.02 || w.SMClockMHz == nil || *w.SMClockMHz != (result.Range{Mean: 1560, Min: 1530, Max: 1980}) ||
		w.PowerW.Max != 701 || w.AtPowerCapFraction != 0.96 || w.ThrottledFraction != 0.02 || w.EnergyJ != 709.2 || w.Samples != 52 {
		t.Errorf("window %+v", w)
	}
	// Quantities never read stay out of the file.
	if w.MemClockMHz != nil || w.TempC != nil {
		t.Errorf("unread quantities present: mem %v temp %v", w.MemClockMHz, w.TempC)
	}
}
