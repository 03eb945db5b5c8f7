package bench

import (
	"context"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
)

// Noter is a GEMM that has something to record about how it ran (e.g. the
// GPU's chosen cuBLASLt algorithm); the runner appends its notes to the
// measurement.
type Noter interface {
	Notes() []string
}

// BandwidthMeter is a backend that measures its memory bandwidth
// (workload "bandwidth").
type BandwidthMeter interface {
	MeasureBandwidth(ctx context.Context, warmup, repeats int) ([]result.Measurement, error)
}

// RunBandwidth runs b's bandwidth measurements when it has them; other
// backends return nothing.
func RunBandwidth(ctx context.Context, b backend.Backend, warmup, repeats int) ([]result.Measurement, error) {
	bm, ok := b.(BandwidthMeter)
	if !ok {
		return nil, nil
	}
	return bm.MeasureBandwidth(ctx, warmup, repeats)
}
