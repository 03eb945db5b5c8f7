package main

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/hw"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
)

// runAllDevices is "flopcast run --device all": every GPU measures the
// same suite at the same time, each on its own OS thread and context, and
// one results file holds every device's measurements; the table adds a
// line per configuration with the spread between the fastest and slowest
// GPU and names the stragglers.
func runAllDevices(ctx context.Context, o *runOptions, suite bench.Suite, format report.Format, args []string, stdout, stderr io.Writer) error {
	gpus, err := hw.OpenAll(o.device)
	if err != nil {
		return usageError("--device: %v", err)
	}
	if n := hw.LoaderNotice(); n != "" && !o.quiet {
		io.WriteString(stderr, n+"\n")
	}
	openers := make([]bench.DeviceOpener, len(gpus))
	for i, g := range gpus {
		openers[i] = bench.DeviceOpener{ID: g.ID, Open: g.Open}
	}
	seed := o.runSeed()
	var (
		fitted bench.Suite
		file   *result.File
		rec    atomic.Pointer[bench.Recorder]
		first  string
	)
	// prepare runs once every GPU is open, before any measures: the suite
	// must fit each of them, and the file and its path are set up.
	prepare := func(bs []backend.Backend) error {
		for i, b := range bs {
			s, err := o.fit(suite, b)
			if err != nil {
				return err
			}
			if i == 0 {
				fitted = s
			}
		}
		first = bs[0].Device().ID
		file = bench.NewFile(result.Tool{Version: version, Commit: buildCommit()}, bs[0], o.runThreads(), fitted.Name, append([]string{"flopcast", "run"}, args...))
		for _, b := range bs[1:] {
			file.Devices = append(file.Devices, b.Device())
		}
		named := *file
		named.Devices = []result.Device{{ID: "all"}}
		r, err := o.recorder(file, &named)
		rec.Store(r)
		return err
	}
	task := func(ctx context.Context, b backend.Backend) ([]result.Measurement, error) {
		progress := io.Discard // one progress bar: the first GPU's
		if b.Device().ID == first {
			progress = stderr
		}
		cfg := o.config(fitted, seed, progress)
		cfg.Done = func(m result.Measurement) { rec.Load().Add(m) }
		return o.measure(ctx, b, fitted, cfg)
	}
	res, aborted, runErr := abortable(ctx, func() (bench.MultiResult, error) {
		return bench.RunAll(ctx, openers, prepare, task)
	})
	if aborted { // a second interrupt: stop now
		r := rec.Load()
		if r == nil {
			return withCode(exitInterrupted, errors.New("interrupted twice before measuring"))
		}
		return o.finish(ctx, r, r.File(), format, r.Measurements(), true, context.Canceled, stdout, stderr)
	}
	if file == nil || rec.Load() == nil { // a GPU did not open, or the suite does not fit one
		var ee *exitError
		switch {
		case ctx.Err() != nil:
			return withCode(exitInterrupted, ctx.Err())
		case errors.As(runErr, &ee):
			return runErr
		}
		return withCode(exitFailure, runErr)
	}
	if len(res.Devices) > 0 {
		file.Devices = res.Devices
	}
	return o.finish(ctx, rec.Load(), file, format, res.Measurements, false, runErr, stdout, stderr)
}
