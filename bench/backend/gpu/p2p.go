package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nvml"
)

// The GPU copy matrix: every ordered pair of GPUs in a node, one way and
// both ways at once, and host↔device per GPU, without NCCL. Each result
// is a Measurement with Workload "p2p", Scope "intra_node", Device the
// source GPU ("cuda:0"), Collective one of the Copy* kinds below and Label
// "SRC>DST" (GPU ordinals; "host" for the host), e.g. "0>3" or "host>2".

// Copy kinds, as Measurement.Collective names them.
const (
	CopyPeer      = "copy_peer"       // src GPU → dst GPU, one way
	CopyPeerBidir = "copy_peer_bidir" // src → dst and dst → src at once
	CopyH2D       = "copy_h2d"        // pinned host → GPU
	CopyD2H       = "copy_d2h"        // GPU → pinned host
)

// HostEnd is the label of the host end of a copy.
const HostEnd = "host"

// CopyLabel formats a copy's label, "SRC>DST"; -1 stands for the host.
func CopyLabel(src, dst int) string { return copyEnd(src) + ">" + copyEnd(dst) }

func copyEnd(d int) string {
	if d < 0 {
		return HostEnd
	}
	return strconv.Itoa(d)
}

// ParseCopyLabel reads a label made by CopyLabel; -1 is the host.
func ParseCopyLabel(label string) (src, dst int, err error) {
	a, b, ok := strings.Cut(label, ">")
	if !ok {
		return 0, 0, fmt.Errorf("copy label %q: want SRC>DST", label)
	}
	end := func(s string) (int, error) {
		if s == HostEnd {
			return -1, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("copy label %q: %q is not a GPU ordinal or %q", label, s, HostEnd)
		}
		return n, nil
	}
	if src, err = end(a); err != nil {
		return
	}
	dst, err = end(b)
	return
}

// CopyConfig sizes the copy matrix.
type CopyConfig struct {
	// Devices are the GPU ordinals (nil: every GPU).
	Devices []int
	// Bytes is the size of one copy (0: 256 MiB).
	Bytes int64
	// Warmup and Iters are the untimed and timed copies per measurement
	// (0: 2 and 10).
	Warmup, Iters int
}

// copyPairs lists the ordered pairs of distinct devices, row by row.
func copyPairs(devs []int) [][2]int {
	var out [][2]int
	for _, a := range devs {
		for _, b := range devs {
			if a != b {
				out = append(out, [2]int{a, b})
			}
		}
	}
	return out
}

// copyPattern fills b with the bytes a copy from src to dst carries: a
// pattern that differs per pair and has no short period.
func copyPattern(b []byte, src, dst int) {
	seed := uint64(src+2)<<32 | uint64(dst+2)
	for i := 0; i+8 <= len(b); i += 8 {
		v := mix(uint64(i/8) ^ seed)
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(i)
	}
}

// copyRate is the copy bandwidth in bytes/s: bytes moved per timed call
// over the median call time (both ways: twice the bytes).
func copyRate(bytes int64, bidir bool, median float64) float64 {
	if median <= 0 {
		return 0
	}
	if bidir {
		bytes *= 2
	}
	return float64(bytes) / median
}

// gpuEnd is one GPU taking part in the matrix.
type gpuEnd struct {
	ord    int
	dev    driver.Device
	ctx    *driver.Context
	stream driver.Stream
	buf    [2]driver.Ptr // a source and a destination
}

// MeasureCopies measures the copy matrix of cfg.Devices: host→device and
// device→host per GPU, then every ordered pair one way and both ways at
// once (cuMemcpyPeerAsync, with peer access enabled where the GPUs allow
// it; a note says when they do not and the copy is staged through the
// host). Every copy's destination is poisoned first and checked, every
// byte, after the timed calls; a wrong byte fails the measurement and
// shows no bandwidth.
func MeasureCopies(ctx context.Context, cfg CopyConfig) ([]result.Measurement, error) {
	if cfg.Bytes <= 0 {
		cfg.Bytes = 256 << 20
	}
	cfg.Bytes &^= 7
	if cfg.Iters <= 0 {
		cfg.Iters = 10
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 2
	}
	n, err := Available()
	if err != nil {
		return nil, err
	}
	devs := cfg.Devices
	if devs == nil {
		for i := 0; i < n; i++ {
			devs = append(devs, i)
		}
	}
	ends := map[int]*gpuEnd{}
	defer func() {
		for _, e := range ends {
			e.ctx.Do(func() error {
				driver.Free(e.buf[0])
				driver.Free(e.buf[1])
				return e.stream.Destroy()
			})
			e.ctx.Release()
		}
	}()
	for _, d := range devs {
		if d < 0 || d >= n {
			return nil, fmt.Errorf("copy matrix: GPU %d does not exist (%d found)", d, n)
		}
		e := &gpuEnd{ord: d}
		if e.dev, err = driver.GetDevice(d); err != nil {
			return nil, err
		}
		if e.ctx, err = e.dev.RetainPrimaryContext(); err != nil {
			return nil, err
		}
		ends[d] = e
		if err := e.ctx.Do(func() error {
			var err error
			if e.stream, err = driver.NewStream(); err != nil {
				return err
			}
			for i := range e.buf {
				if e.buf[i], err = driver.Alloc(cfg.Bytes); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	var out []result.Measurement
	host, err := driver.HostAlloc(cfg.Bytes)
	if err != nil {
		return nil, err
	}
	defer driver.HostFree(host)
	hb := unsafe.Slice((*byte)(host), cfg.Bytes)
	for _, d := range devs {
		m, err := hostCopy(ctx, ends[d], hb, host, cfg, true)
		if err != nil {
			return out, err
		}
		out = append(out, m)
		if m, err = hostCopy(ctx, ends[d], hb, host, cfg, false); err != nil {
			return out, err
		}
		out = append(out, m)
	}
	for _, p := range copyPairs(devs) {
		for _, bidir := range []bool{false, true} {
			if bidir && p[0] > p[1] {
				continue // one both-ways figure per unordered pair
			}
			if err := ctx.Err(); err != nil {
				return out, err
			}
			m, err := peerCopy(ctx, ends[p[0]], ends[p[1]], cfg, bidir)
			if err != nil {
				return out, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func newCopyMeasurement(kind string, src, dst int, cfg CopyConfig) result.Measurement {
	dev := "cuda:" + strconv.Itoa(max(src, dst))
	if src >= 0 {
		dev = "cuda:" + strconv.Itoa(src)
	}
	return result.Measurement{Workload: result.WorkloadP2P, Collective: kind, Scope: result.ScopeIntraNode,
		Label: CopyLabel(src, dst), Device: dev, DType: BandwidthDType, Bytes: cfg.Bytes, Warmup: cfg.Warmup,
		Timing: result.TimingBackToBack}
}

// finish summarises the timed samples into m, once the check passed.
func finish(m *result.Measurement, samples []float64, bidir bool, checkErr error) error {
	if checkErr != nil {
		m.Status = result.StatusFailed
		m.Notes = append(m.Notes, "check failed: "+checkErr.Error())
		return nil
	}
	sum, err := stats.Summarize(samples)
	if err != nil {
		return err
	}
	m.Status, m.Verified, m.Seconds, m.Samples, m.Noisy = result.StatusOK, true, &sum, samples, sum.Noisy()
	m.BytesPerSecond = copyRate(m.Bytes, bidir, sum.Median)
	return nil
}

// timeCopies runs warm-up copies, then Iters copies back to back on s with
// an event between each two, and returns each copy's seconds.
func timeCopies(ctx context.Context, s driver.Stream, cfg CopyConfig, copyFn func() error) ([]float64, error) {
	for i := 0; i < cfg.Warmup; i++ {
		if err := copyFn(); err != nil {
			return nil, err
		}
	}
	return timeBackToBack(s, cfg.Iters, copyFn, func() error {
		if err := s.Wait(Timeout); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// timeBackToBack issues n calls on s with an event recorded before the
// first and after each, without waiting between them, then waits with
// wait and returns each call's seconds.
func timeBackToBack(s driver.Stream, n int, call, wait func() error) ([]float64, error) {
	ev := make([]driver.Event, n+1)
	defer func() {
		for _, e := range ev {
			e.Destroy()
		}
	}()
	for i := range ev {
		e, err := driver.NewEvent()
		if err != nil {
			return nil, err
		}
		ev[i] = e
	}
	if err := ev[0].Record(s); err != nil {
		return nil, err
	}
	for i := 1; i <= n; i++ {
		if err := call(); err != nil {
			return nil, err
		}
		if err := ev[i].Record(s); err != nil {
			return nil, err
		}
	}
	if err := wait(); err != nil {
		return nil, err
	}
	secs := make([]float64, n)
	for i := range secs {
		v, err := driver.Elapsed(ev[i], ev[i+1])
		if err != nil {
			return nil, err
		}
		secs[i] = v
	}
	return secs, nil
}

// hostCopy measures host→device (toDevice) or device→host on one GPU.
func hostCopy(ctx context.Context, e *gpuEnd, hb []byte, host unsafe.Pointer, cfg CopyConfig, toDevice bool) (result.Measurement, error) {
	kind, src, dst := CopyD2H, e.ord, -1
	if toDevice {
		kind, src, dst = CopyH2D, -1, e.ord
	}
	m := newCopyMeasurement(kind, src, dst, cfg)
	want := make([]byte, cfg.Bytes)
	copyPattern(want, src, dst)
	err := e.ctx.Do(func() error {
		var copyFn func() error
		if toDevice {
			copy(hb, want)
			if err := e.stream.Memset32Async(e.buf[1], 0x7fc00000, cfg.Bytes/4); err != nil {
				return err
			}
			copyFn = func() error { return e.stream.CopyToDeviceAsync(e.buf[1], host, cfg.Bytes) }
		} else {
			if err := driver.CopyToDevice(e.buf[0], want); err != nil {
				return err
			}
			for i := range hb {
				hb[i] = 0xff
			}
			copyFn = func() error { return e.stream.CopyToHostAsync(host, e.buf[0], cfg.Bytes) }
		}
		secs, err := timeCopies(ctx, e.stream, cfg, copyFn)
		if err != nil {
			return err
		}
		var checkErr error
		if toDevice {
			checkErr = compareDevice(e.buf[1], want)
		} else if i := firstDifference(hb, want); i >= 0 {
			checkErr = fmt.Errorf("host buffer differs from the device source at byte %d", i)
		}
		return finish(&m, secs, false, checkErr)
	})
	return m, err
}

// peerCopy measures a → b (and b → a at once when bidir).
func peerCopy(ctx context.Context, a, b *gpuEnd, cfg CopyConfig, bidir bool) (result.Measurement, error) {
	kind := CopyPeer
	if bidir {
		kind = CopyPeerBidir
	}
	m := newCopyMeasurement(kind, a.ord, b.ord, cfg)
	canAB, err := driver.CanAccessPeer(a.dev, b.dev)
	if err != nil {
		return m, err
	}
	canBA, err := driver.CanAccessPeer(b.dev, a.dev)
	if err != nil {
		return m, err
	}
	if canAB && canBA {
		if err := errors.Join(a.ctx.Do(func() error { return a.ctx.EnablePeerAccess(b.ctx) }),
			b.ctx.Do(func() error { return b.ctx.EnablePeerAccess(a.ctx) })); err != nil {
			return m, err
		}
		if rank, err := driver.P2PAttribute(driver.P2PPerformanceRank, a.dev, b.dev); err == nil {
			m.Notes = append(m.Notes, fmt.Sprintf("peer access enabled (link performance rank %d)", rank))
		}
	} else {
		m.Notes = append(m.Notes, "no peer access between these GPUs: the driver stages the copy through the host")
	}
	// Sources: a.buf[0] (a→b) and b.buf[0] (b→a); destinations buf[1].
	wantAB := make([]byte, cfg.Bytes)
	copyPattern(wantAB, a.ord, b.ord)
	var wantBA []byte
	if err := a.ctx.Do(func() error { return driver.CopyToDevice(a.buf[0], wantAB) }); err != nil {
		return m, err
	}
	if err := b.ctx.Do(func() error { return b.stream.Memset32Async(b.buf[1], 0x7fc00000, cfg.Bytes/4) }); err != nil {
		return m, err
	}
	if bidir {
		wantBA = make([]byte, cfg.Bytes)
		copyPattern(wantBA, b.ord, a.ord)
		if err := b.ctx.Do(func() error { return driver.CopyToDevice(b.buf[0], wantBA) }); err != nil {
			return m, err
		}
		if err := a.ctx.Do(func() error { return a.stream.Memset32Async(a.buf[1], 0x7fc00000, cfg.Bytes/4) }); err != nil {
			return m, err
		}
	}
	if err := b.ctx.Do(func() error { return b.stream.Wait(Timeout) }); err != nil {
		return m, err
	}
	copyAB := func() error { return a.stream.CopyPeerAsync(b.buf[1], b.ctx, a.buf[0], a.ctx, cfg.Bytes) }
	var secs []float64
	if !bidir {
		err = a.ctx.Do(func() error {
			var err error
			secs, err = timeCopies(ctx, a.stream, cfg, copyAB)
			return err
		})
	} else {
		secs, err = timeBidir(ctx, a, b, cfg, copyAB, func() error {
			return b.stream.CopyPeerAsync(a.buf[1], a.ctx, b.buf[0], b.ctx, cfg.Bytes)
		})
	}
	if err != nil {
		return m, err
	}
	checkErr := b.ctx.Do(func() error { return compareDevice(b.buf[1], wantAB) })
	if checkErr == nil && bidir {
		checkErr = a.ctx.Do(func() error { return compareDevice(a.buf[1], wantBA) })
	}
	if bidir {
		m.Notes = append(m.Notes, "both ways at once: each direction timed over the whole window on its own GPU; every sample is the slower direction's average per copy")
	}
	return m, finish(&m, secs, bidir, checkErr)
}

// timeBidir runs both directions at once, each on its source GPU's
// stream, Iters copies each, and returns per copy the slower direction's
// average time (events of two GPUs cannot be compared with each other, so
// each direction is timed on its own stream over the whole window).
func timeBidir(ctx context.Context, a, b *gpuEnd, cfg CopyConfig, copyAB, copyBA func() error) ([]float64, error) {
	type win struct {
		start, stop driver.Event
	}
	var wa, wb win
	mk := func(e *gpuEnd, w *win) error {
		return e.ctx.Do(func() error {
			var err error
			if w.start, err = driver.NewEvent(); err != nil {
				return err
			}
			w.stop, err = driver.NewEvent()
			return err
		})
	}
	if err := errors.Join(mk(a, &wa), mk(b, &wb)); err != nil {
		return nil, err
	}
	defer a.ctx.Do(func() error { return errors.Join(wa.start.Destroy(), wa.stop.Destroy()) })
	defer b.ctx.Do(func() error { return errors.Join(wb.start.Destroy(), wb.stop.Destroy()) })
	for i := 0; i < cfg.Warmup; i++ {
		if err := errors.Join(a.ctx.Do(copyAB), b.ctx.Do(copyBA)); err != nil {
			return nil, err
		}
	}
	if err := errors.Join(a.ctx.Do(func() error { return wa.start.Record(a.stream) }), b.ctx.Do(func() error { return wb.start.Record(b.stream) })); err != nil {
		return nil, err
	}
	for i := 0; i < cfg.Iters; i++ {
		if err := errors.Join(a.ctx.Do(copyAB), b.ctx.Do(copyBA)); err != nil {
			return nil, err
		}
	}
	if err := errors.Join(a.ctx.Do(func() error { return wa.stop.Record(a.stream) }), b.ctx.Do(func() error { return wb.stop.Record(b.stream) })); err != nil {
		return nil, err
	}
	if err := errors.Join(a.ctx.Do(func() error { return a.stream.Wait(Timeout) }), b.ctx.Do(func() error { return b.stream.Wait(Timeout) })); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ta, tb float64
	if err := errors.Join(
		a.ctx.Do(func() error { var err error; ta, err = driver.Elapsed(wa.start, wa.stop); return err }),
		b.ctx.Do(func() error { var err error; tb, err = driver.Elapsed(wb.start, wb.stop); return err })); err != nil {
		return nil, err
	}
	per := max(ta, tb) / float64(cfg.Iters)
	secs := make([]float64, cfg.Iters)
	for i := range secs {
		secs[i] = per
	}
	return secs, nil
}

// HealthLabel is the label of a GPU's NVML health measurement (workload
// "health").
const HealthLabel = "nvml health"

// healthMeasurement turns one GPU's health findings into a measurement:
// status failed when a finding fails the GPU (the fleet verdict then fails
// its node, naming the finding), every finding that is not plainly ok in
// the notes.
func healthMeasurement(device string, fs []nvml.Finding) result.Measurement {
	m := result.Measurement{Workload: "health", Label: HealthLabel, Device: device, DType: BandwidthDType, Status: result.StatusOK}
	for _, f := range fs {
		if f.Level == nvml.HealthOK && f.Message == "" {
			continue
		}
		note := fmt.Sprintf("%s %s: %g %s", f.Level, f.Check, f.Measured, f.Unit)
		if f.Level != nvml.HealthOK {
			note += fmt.Sprintf(" (limit %g)", f.Threshold)
		}
		if f.Message != "" {
			note += ": " + f.Message
		}
		m.Notes = append(m.Notes, strings.TrimSpace(note))
	}
	if nvml.Worst(fs) == nvml.HealthFail {
		m.Status = result.StatusFailed
		// The verdict quotes the last note: failing findings go last.
		slices.SortStableFunc(m.Notes, func(a, b string) int {
			fa, fb := strings.HasPrefix(a, nvml.HealthFail), strings.HasPrefix(b, nvml.HealthFail)
			switch {
			case fa == fb:
				return 0
			case fb:
				return -1
			}
			return 1
		})
	}
	return m
}

// NodeChecks measures what a node's GPUs show without NCCL: the copy
// matrix (MeasureCopies) and each GPU's NVML health (ECC, remapped rows,
// PCIe, NVLink; see nvml.Classify), one measurement per GPU. Without NVML
// the health measurements are skipped with the reason.
func NodeChecks(ctx context.Context, cfg CopyConfig, limits nvml.HealthLimits) ([]result.Measurement, error) {
	out, err := MeasureCopies(ctx, cfg)
	if err != nil {
		return out, err
	}
	n, err := driver.DeviceCount()
	if err != nil {
		return out, err
	}
	for d := 0; d < n; d++ {
		if cfg.Devices != nil && !slices.Contains(cfg.Devices, d) {
			continue
		}
		id := "cuda:" + strconv.Itoa(d)
		dev, err := driver.GetDevice(d)
		if err != nil {
			return out, err
		}
		uuid, err := dev.UUID()
		if err != nil {
			return out, err
		}
		mon, err := nvml.Open(uuid)
		if err != nil {
			out = append(out, result.Measurement{Workload: "health", Label: HealthLabel, Device: id, DType: BandwidthDType,
				Status: result.StatusSkipped, Notes: []string{"NVML health not read: " + err.Error()}})
			continue
		}
		out = append(out, healthMeasurement(id, nvml.Classify(mon.Health(), limits)))
	}
	return out, nil
}
