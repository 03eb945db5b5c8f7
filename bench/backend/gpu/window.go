package gpu

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/cuda/driver"
)

// maxPairs bounds the event pairs of one window: a window of more calls
// puts several consecutive calls between one pair, and each sample is
// then their mean (see pipeline.run).
const maxPairs = 4096

// eventAPI is the driver calls a pipelined window makes, as fields so that
// tests drive the bookkeeping with a scripted device. E is the event
// handle.
type eventAPI[E any] struct {
	create  func() (E, error)
	record  func(E) error
	sync    func(E) error // a blocking wait for the event (no sleep-poll)
	elapsed func(from, to E) (float64, error)
	destroy func(E) error
	// drain waits for all enqueued work (after a failed launch).
	drain func() error
	now   func() time.Time
}

// driverEvents is eventAPI on the CUDA driver, recording on stream s; the
// context must be current for every call.
func driverEvents(s driver.Stream) eventAPI[driver.Event] {
	return eventAPI[driver.Event]{
		create:  driver.NewEvent,
		record:  func(e driver.Event) error { return e.Record(s) },
		sync:    func(e driver.Event) error { return e.Synchronize() },
		elapsed: driver.Elapsed,
		destroy: func(e driver.Event) error { return e.Destroy() },
		drain:   s.Synchronize,
		now:     time.Now,
	}
}

// pipeline times windows of back-to-back calls: every call of a window is
// enqueued with an event pair around it (created beforehand and reused
// across windows), nothing else happens on the host between launches, and
// the host waits once, on the last event, with a blocking driver wait.
type pipeline[E any] struct {
	api   eventAPI[E]
	start []E
	stop  []E
}

// ensure grows the event pool to n pairs (outside any window).
func (p *pipeline[E]) ensure(n int) error {
	for len(p.start) < n {
		a, err := p.api.create()
		if err != nil {
			return err
		}
		b, err := p.api.create()
		if err != nil {
			p.api.destroy(a)
			return err
		}
		p.start, p.stop = append(p.start, a), append(p.stop, b)
	}
	return nil
}

// close destroys the pool.
func (p *pipeline[E]) close() {
	for i := range p.start {
		p.api.destroy(p.start[i])
		p.api.destroy(p.stop[i])
	}
	p.start, p.stop = nil, nil
}

// groupSize is how many consecutive calls share one event pair in a
// window of n calls: 1 up to maxPairs calls.
func groupSize(n int) int { return max(1, (n+maxPairs-1)/maxPairs) }

// run enqueues calls calls back to back, enqueue(i) launching the i-th,
// and returns the window's timing. Calls are grouped groupSize(calls) to
// an event pair; a sample is its group's elapsed time over its calls.
// Busy is the sum of the pairs' intervals, Span the first start to the
// last stop (device clock), Wall the host clock around the enqueueing and
// the final wait.
func (p *pipeline[E]) run(calls int, enqueue func(i int) error) (backend.WindowTiming, error) {
	if calls < 1 {
		return backend.WindowTiming{}, fmt.Errorf("window of %d calls", calls)
	}
	k := groupSize(calls)
	pairs := (calls + k - 1) / k
	if err := p.ensure(pairs); err != nil {
		return backend.WindowTiming{}, err
	}
	sizes := make([]int, pairs)
	samples := make([]float64, pairs)

	// The window: launches and event records only.
	defer holdGC()()
	t0 := p.api.now()
	i := 0
	for j := 0; j < pairs; j++ {
		if err := p.api.record(p.start[j]); err != nil {
			return backend.WindowTiming{}, p.abort(fmt.Errorf("window call %d: %w", i+1, err))
		}
		for c := 0; c < k && i < calls; c++ {
			if err := enqueue(i); err != nil {
				return backend.WindowTiming{}, p.abort(fmt.Errorf("window call %d: %w", i+1, err))
			}
			i++
			sizes[j]++
		}
		if err := p.api.record(p.stop[j]); err != nil {
			return backend.WindowTiming{}, p.abort(fmt.Errorf("window call %d: %w", i, err))
		}
	}
	if err := p.api.sync(p.stop[pairs-1]); err != nil {
		return backend.WindowTiming{}, err
	}
	wall := p.api.now().Sub(t0).Seconds()

	w := backend.WindowTiming{Calls: calls, Wall: wall, Samples: samples, PerSample: k}
	for j := 0; j < pairs; j++ {
		t, err := p.api.elapsed(p.start[j], p.stop[j])
		if err != nil {
			return backend.WindowTiming{}, err
		}
		w.Busy += t
		samples[j] = t / float64(sizes[j])
	}
	span, err := p.api.elapsed(p.start[0], p.stop[pairs-1])
	if err != nil {
		return backend.WindowTiming{}, err
	}
	w.Span = span
	return w, nil
}

// abort waits for what was enqueued before a failed launch (best effort)
// and returns err.
func (p *pipeline[E]) abort(err error) error {
	if p.api.drain != nil {
		_ = p.api.drain()
	}
	return err
}

// The garbage collector is held off while any window runs (cuBLASLt's
// binding allocates a little per call; a collection must not stop the
// launching thread mid-window). Holds nest across GPUs run at once.
var (
	gcMu    sync.Mutex
	gcHolds int
	gcSaved int
)

// holdGC turns the collector off until the returned release is called by
// every holder.
func holdGC() (release func()) {
	gcMu.Lock()
	if gcHolds == 0 {
		gcSaved = debug.SetGCPercent(-1)
	}
	gcHolds++
	gcMu.Unlock()
	return func() {
		gcMu.Lock()
		gcHolds--
		if gcHolds == 0 {
			debug.SetGCPercent(gcSaved)
		}
		gcMu.Unlock()
	}
}
