package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// openers opens the fake devices.
func openers(ds []*fake.Device) []DeviceOpener {
	out := make([]DeviceOpener, len(ds))
	for i, d := range ds {
		out[i] = DeviceOpener{ID: d.ID, Open: func() (backend.Backend, error) { d.Touch(); return d, nil }}
	}
	return out
}

var multiCfg = Config{
	Problems: []Problem{{Label: "square", Shape: kernels.Square(16)}, {Label: "shape", Shape: kernels.GEMMShape{M: 8, N: 24, K: 16}}},
	DTypes:   []kernels.DType{kernels.FP32, kernels.FP64}, Warmup: 1, MinRepeats: 4, MaxTime: time.Hour, Seed: 5,
}

func runTask(cfg Config) DeviceTask {
	return func(ctx context.Context, b backend.Backend) ([]result.Measurement, error) { return Run(ctx, b, cfg) }
}

// rendezvous blocks each of n devices on its first call until all n have
// made one: it only returns if the devices run at the same time.
type rendezvous struct {
	mu      sync.Mutex
	arrived map[string]bool
	all     chan struct{}
	n       int
	timeout bool
}

func newRendezvous(n int) *rendezvous {
	return &rendezvous{arrived: map[string]bool{}, all: make(chan struct{}), n: n}
}

func (r *rendezvous) arrive(id string) {
	r.mu.Lock()
	if r.arrived[id] {
		r.mu.Unlock()
		return
	}
	r.arrived[id] = true
	if len(r.arrived) == r.n {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-time.After(10 * time.Second):
		r.mu.Lock()
		r.timeout = true
		r.mu.Unlock()
	}
}

func TestRunAllRunsEveryDeviceAtOnceOnItsOwnThread(t *testing.T) {
	const n = 4
	ds := fake.NewDevices(n, func(i int) *fake.Backend { return &fake.Backend{Peak: 1e9} })
	rv := newRendezvous(n)
	for _, d := range ds {
		d.OnRun = rv.arrive
	}
	prepared := 0
	res, err := RunAll(context.Background(), openers(ds), func(bs []backend.Backend) error {
		prepared = len(bs)
		return nil
	}, runTask(multiCfg))
	if err != nil {
		t.Fatal(err)
	}
	if rv.timeout {
		t.Fatal("the devices did not run at the same time (rendezvous timed out)")
	}
	if prepared != n {
		t.Errorf("prepare saw %d backends, want %d", prepared, n)
	}
	seen := map[int]string{}
	for _, d := range ds {
		if !d.Closed() {
			t.Errorf("%s not closed", d.ID)
		}
		th := d.Threads()
		if len(th) == 0 {
			continue // the platform does not report thread IDs
		}
		if len(th) != 1 {
			t.Errorf("%s ran on %d OS threads %v, want 1", d.ID, len(th), th)
		}
		for _, id := range th {
			if other, ok := seen[id]; ok {
				t.Errorf("%s and %s share OS thread %d", d.ID, other, id)
			}
			seen[id] = d.ID
		}
	}

	// Every device listed, measurements interleaved in a stable order:
	// configuration by configuration, devices in order within each.
	if len(res.Devices) != n || res.Devices[0].ID != "cuda:0" || res.Devices[3].ID != "cuda:3" {
		t.Errorf("devices %+v", res.Devices)
	}
	configs := len(multiCfg.Problems) * len(multiCfg.DTypes)
	if len(res.Measurements) != n*configs {
		t.Fatalf("%d measurements, want %d", len(res.Measurements), n*configs)
	}
	for i, m := range res.Measurements {
		want := fmt.Sprintf("cuda:%d", i%n)
		first := res.Measurements[i/n*n]
		if m.Device != want || m.Shape != first.Shape || m.DType != first.DType || m.Status != result.StatusOK {
			t.Errorf("measurement %d: %s %s %s %s, want %s %s %s ok", i, m.Device, m.DType, m.Shape, m.Status, want, first.DType, first.Shape)
		}
	}
	if len(res.Spreads) != configs {
		t.Errorf("%d spreads, want %d", len(res.Spreads), configs)
	}
	for _, s := range res.Spreads {
		if len(s.Stragglers) != 0 || s.Gap() != 0 {
			t.Errorf("identical fake devices: spread %+v", s)
		}
	}
}

func TestRunAllFlagsAStraggler(t *testing.T) {
	// cuda:2 takes 1.25 ms a call where the others take 1 ms.
	ds := fake.NewDevices(4, func(i int) *fake.Backend {
		if i == 2 {
			return &fake.Backend{Durations: []float64{1.25e-3}}
		}
		return &fake.Backend{Durations: []float64{1e-3}}
	})
	cfg := multiCfg
	cfg.DTypes = []kernels.DType{kernels.FP32}
	cfg.Problems = cfg.Problems[:1]
	res, err := RunAll(context.Background(), openers(ds), nil, runTask(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Spreads) != 1 {
		t.Fatalf("spreads %+v", res.Spreads)
	}
	s := res.Spreads[0]
	if len(s.Stragglers) != 1 || res.Measurements[s.Stragglers[0]].Device != "cuda:2" || res.Measurements[s.Slowest].Device != "cuda:2" {
		t.Fatalf("stragglers %v (slowest %d) in %+v", s.Stragglers, s.Slowest, s)
	}
	if got := s.Gap(); got < 0.199 || got > 0.201 {
		t.Errorf("gap %.4f, want 0.2 (1 ms against 1.25 ms)", got)
	}
	m := res.Measurements[s.Stragglers[0]]
	want := "straggler: 20.0% below the median of 4 devices"
	if len(m.Notes) == 0 || !strings.HasPrefix(m.Notes[len(m.Notes)-1], want) {
		t.Errorf("straggler notes %q, want one starting %q", m.Notes, want)
	}
	for _, m := range res.Measurements {
		if m.Device != "cuda:2" {
			for _, n := range m.Notes {
				if strings.Contains(n, "straggler") {
					t.Errorf("%s flagged: %q", m.Device, n)
				}
			}
		}
	}
}

func TestRunAllCancellationStopsEveryDevice(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	calls := map[string]int{}
	ds := fake.NewDevices(3, func(int) *fake.Backend { return &fake.Backend{} })
	for _, d := range ds {
		d.OnRun = func(id string) {
			mu.Lock()
			defer mu.Unlock()
			calls[id]++
			if len(calls) == 3 && calls[id] > 20 {
				cancel() // every device has started: stop them all
			}
		}
	}
	cfg := multiCfg
	cfg.MinTime, cfg.MaxTime = time.Hour, time.Hour // never ends by itself
	done := make(chan error, 1)
	var res MultiResult
	go func() {
		var err error
		res, err = RunAll(ctx, openers(ds), nil, runTask(cfg))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunAll did not stop after cancellation")
	}
	for _, d := range ds {
		if !d.Closed() {
			t.Errorf("%s not closed", d.ID)
		}
	}
	if len(res.Devices) != 3 {
		t.Errorf("devices %v", res.Devices)
	}
}

func TestRunAllOpenFailureMeasuresNothing(t *testing.T) {
	ds := fake.NewDevices(3, func(int) *fake.Backend { return &fake.Backend{} })
	ops := openers(ds)
	ops[1].Open = func() (backend.Backend, error) { return nil, errors.New("out of memory creating the context") }
	ran := false
	_, err := RunAll(context.Background(), ops, nil, func(context.Context, backend.Backend) ([]result.Measurement, error) {
		ran = true
		return nil, nil
	})
	if err == nil || err.Error() != "cuda:1: out of memory creating the context" {
		t.Errorf("err = %v", err)
	}
	if ran {
		t.Error("a device measured although cuda:1 failed to open")
	}
	if !ds[0].Closed() || !ds[2].Closed() {
		t.Error("the devices that opened were not closed")
	}
}

func TestRunAllDeviceErrorCancelsTheOthers(t *testing.T) {
	ds := fake.NewDevices(3, func(int) *fake.Backend { return &fake.Backend{} })
	broken := errors.New("unspecified launch failure")
	_, err := RunAll(context.Background(), openers(ds), nil, func(ctx context.Context, b backend.Backend) ([]result.Measurement, error) {
		if b.Device().ID == "cuda:1" {
			return nil, broken
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return nil, errors.New("not cancelled")
		}
	})
	if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), "cuda:1: ") {
		t.Errorf("err = %v, want cuda:1's error", err)
	}
}

func TestMerge(t *testing.T) {
	m := func(dev, label string) result.Measurement { return result.Measurement{Device: dev, Label: label} }
	got := Merge([][]result.Measurement{
		{m("a", "1"), m("a", "2"), m("a", "3")},
		{m("b", "1")},
		{m("c", "1"), m("c", "2")},
	})
	var s []string
	for _, x := range got {
		s = append(s, x.Device+x.Label)
	}
	if strings.Join(s, " ") != "a1 b1 c1 a2 c2 a3" {
		t.Errorf("merge order %v", s)
	}
}
