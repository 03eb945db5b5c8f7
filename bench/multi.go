package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
)

// DeviceOpener opens one device of a multi-device run. Open is called on
// the goroutine that then uses the backend for the whole run, locked to
// its own OS thread, so a GPU's context is created and used on one thread.
type DeviceOpener struct {
	// ID names the device in errors before it is open, e.g. "cuda:3".
	ID   string
	Open func() (backend.Backend, error)
}

// DeviceTask is what every device of a multi-device run measures once all
// are open; it is called once per device, concurrently, each on its
// device's thread. It returns an error only for cancellation or a device
// that stopped working.
type DeviceTask func(ctx context.Context, b backend.Backend) ([]result.Measurement, error)

// MultiResult is the outcome of RunAll.
type MultiResult struct {
	// Devices describes every device, in opener order.
	Devices []result.Device
	// Measurements are every device's measurements merged: the i-th
	// measurement of each device in opener order, then the (i+1)-th, so a
	// configuration's measurements sit together.
	Measurements []result.Measurement
	// Spreads compare the devices on every configuration they all ran.
	Spreads []report.Spread
}

// RunAll opens every device, each on its own goroutine locked to its own
// OS thread, waits until all are open, calls prepare (when set) with the
// open backends on the calling goroutine, then starts task on every
// device at once. A device that fails to open aborts the run before
// anything is measured. A task that fails (not by cancellation) cancels
// the others; RunAll then returns the measurements finished so far with
// that error, as it does with ctx's error when ctx is cancelled. Every
// backend is closed on its own thread before RunAll returns.
//
// Measurements a straggler made carry a note naming the device it fell
// behind (see report.StragglerThreshold).
func RunAll(ctx context.Context, openers []DeviceOpener, prepare func([]backend.Backend) error, task DeviceTask) (MultiResult, error) {
	var res MultiResult
	if len(openers) == 0 {
		return res, errors.New("no devices to run on")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	type opened struct {
		i   int
		b   backend.Backend
		err error
	}
	n := len(openers)
	openedCh := make(chan opened, n)
	start := make(chan bool) // closed with true to measure, false to abort
	var proceed bool
	per := make([][]result.Measurement, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, op := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The goroutine ends locked, so its thread ends with it and no
			// other goroutine ever runs on a thread a GPU context was
			// current on.
			runtime.LockOSThread()
			b, err := op.Open()
			if err == nil && b == nil {
				err = errors.New("no backend")
			}
			openedCh <- opened{i, b, err}
			if err != nil {
				return
			}
			defer b.Close()
			<-start
			if !proceed {
				return
			}
			per[i], errs[i] = task(runCtx, b)
			if errs[i] != nil && runCtx.Err() == nil {
				cancel() // one device broke: stop the others
			}
		}()
	}

	backends := make([]backend.Backend, n)
	var openErr error
	for range n {
		o := <-openedCh
		if o.err != nil {
			if openErr == nil {
				openErr = fmt.Errorf("%s: %w", openers[o.i].ID, o.err)
			}
			continue
		}
		backends[o.i] = o.b
	}
	if openErr == nil && prepare != nil {
		openErr = prepare(backends)
	}
	if openErr == nil {
		openErr = ctx.Err()
	}
	proceed = openErr == nil
	close(start)
	wg.Wait()
	if openErr != nil {
		return res, openErr
	}

	for _, b := range backends {
		res.Devices = append(res.Devices, b.Device())
	}
	res.Measurements = Merge(per)
	res.Spreads = FlagStragglers(res.Measurements)

	if err := ctx.Err(); err != nil {
		return res, err
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return res, fmt.Errorf("%s: %w", res.Devices[i].ID, err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Merge interleaves per-device measurement lists: the first measurement
// of every device in order, then the second, and so on; a shorter list
// (a device stopped early) simply ends.
func Merge(per [][]result.Measurement) []result.Measurement {
	longest := 0
	for _, ms := range per {
		longest = max(longest, len(ms))
	}
	var out []result.Measurement
	for i := 0; i < longest; i++ {
		for _, ms := range per {
			if i < len(ms) {
				out = append(out, ms[i])
			}
		}
	}
	return out
}

// FlagStragglers computes the spreads of ms and notes, on every
// straggler's measurement, how far it fell behind the median device and
// which device was fastest.
func FlagStragglers(ms []result.Measurement) []report.Spread {
	spreads := report.Spreads(ms)
	for _, s := range spreads {
		unit, scale := "TFLOP/s", 1e12
		if ms[s.Fastest].Workload == "bandwidth" {
			unit, scale = "GB/s", 1e9
		}
		for _, i := range s.Stragglers {
			r := ms[i].FLOPPerSecond
			if ms[i].Workload == "bandwidth" {
				r = ms[i].BytesPerSecond
			}
			ms[i].Notes = append(ms[i].Notes, fmt.Sprintf("straggler: %.1f%% below the median of %d devices (%.4g %s; fastest %s %.4g %s)",
				100*(1-r/s.MedianRate), s.Devices, s.MedianRate/scale, unit, ms[s.Fastest].Device, s.FastestRate/scale, unit))
		}
	}
	return spreads
}
