package gpu

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nvrtc"
	"github.com/flopcast/flopcast/kernels"
	kcuda "github.com/flopcast/flopcast/kernels/cuda"
)

// BandwidthDType is the dtype name bandwidth measurements carry: they move
// bytes, not numbers.
const BandwidthDType = "bytes"

// BandwidthConfig sizes the bandwidth measurement.
type BandwidthConfig struct {
	// DeviceBytes is the size of each of the two device buffers (0: 1 GiB,
	// or a quarter of free memory when less). It is kept far above the L2.
	DeviceBytes int64
	// HostBytes is the pinned host buffer (0: 256 MiB).
	HostBytes int64
	// Warmup and Repeats are the least untimed and timed calls per
	// measurement.
	Warmup, Repeats int
	// WarmupTime and MinTime are the least back-to-back warm-up and timed
	// window, in device time (0: calls only); the window stops short at
	// maxBandwidthWindow.
	WarmupTime, MinTime time.Duration
}

// maxBandwidthWindow bounds a bandwidth window's planned length.
const maxBandwidthWindow = 4 * time.Second

// bandwidthCalls is how many calls of est seconds make at least least
// calls and minTime, within maxBandwidthWindow.
func bandwidthCalls(least int, minTime time.Duration, est float64) int {
	n := max(least, 1)
	if est > 0 && minTime > 0 {
		n = max(n, int(math.Ceil(min(minTime, maxBandwidthWindow).Seconds()/est-1e-9)))
	}
	return n
}

// bandwidthSize picks the device buffer size: the request or 1 GiB,
// capped at a quarter of free memory, at least 8 times the L2, a multiple
// of 16 MiB.
func bandwidthSize(want, free, l2 int64) int64 {
	if want <= 0 {
		want = 1 << 30
	}
	s := min(want, free/4)
	s = max(s, 8*l2)
	return max(16<<20, s&^(16<<20-1))
}

// Bandwidth measures memory bandwidth four ways: a device-to-device copy
// (cuMemcpyDtoDAsync), the NVRTC-compiled 16-byte-vector copy kernel
// (both count bytes read plus written), and host-to-device and
// device-to-host copies over pinned memory. Every copy is checked once,
// every byte of its destination (poisoned first) against its source.
func (bk *Backend) Bandwidth(ctx context.Context, cfg BandwidthConfig) ([]result.Measurement, error) {
	if cfg.Repeats < 1 {
		cfg.Repeats = 20
	}
	if cfg.Warmup < 0 {
		cfg.Warmup = 0
	}
	if cfg.HostBytes <= 0 {
		cfg.HostBytes = 256 << 20
	}
	size := bandwidthSize(cfg.DeviceBytes, bk.MemoryAvailable(), bk.l2)
	var out []result.Measurement
	err := bk.ctx.Do(func() error {
		src, err := driver.Alloc(size)
		if err != nil {
			return err
		}
		defer driver.Free(src)
		dst, err := driver.Alloc(size)
		if err != nil {
			return err
		}
		defer driver.Free(dst)
		host, err := driver.HostAlloc(cfg.HostBytes)
		if err != nil {
			return err
		}
		defer driver.HostFree(host)
		hb := unsafe.Slice((*byte)(host), cfg.HostBytes)
		r := kernels.NewRand(0x62616e64)
		for i := 0; i < len(hb); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < len(hb); j++ {
				hb[i+j] = byte(v >> (8 * j))
			}
		}
		// Fill src with random bytes from the pinned buffer.
		for off := int64(0); off < size; off += cfg.HostBytes {
			if err := bk.stream.CopyToDeviceAsync(src.Add(off), host, min(cfg.HostBytes, size-off)); err != nil {
				return err
			}
		}
		if err := bk.stream.Wait(Timeout); err != nil {
			return err
		}

		d2d := func() error { return bk.stream.CopyAsync(dst, src, size) }
		m, err := bk.timeOp(ctx, "d2d_copy", 2*size, cfg, d2d, func() error { return bk.checkCopy(src, dst, size) }, bk.poisonFn(dst, size))
		if err != nil {
			return err
		}
		out = append(out, m)

		if launch, why := bk.copyKernel(src, dst, size); launch != nil {
			m, err = bk.timeOp(ctx, "copy_kernel", 2*size, cfg, launch, func() error { return bk.checkCopy(src, dst, size) }, bk.poisonFn(dst, size))
			if err != nil {
				return err
			}
			out = append(out, m)
		} else {
			out = append(out, result.Measurement{Workload: "bandwidth", Label: "copy_kernel", DType: BandwidthDType,
				Bytes: 2 * size, Status: result.StatusSkipped, Notes: []string{why}})
		}

		// The host copies are checked byte for byte too: host to device
		// against the pinned pattern, device to host after the pinned
		// buffer was overwritten, against a copy of the pattern (src
		// begins with it).
		pattern := bytes.Clone(hb)
		h2d := func() error { return bk.stream.CopyToDeviceAsync(dst, host, cfg.HostBytes) }
		checkH2D := func() error { return compareDevice(dst, pattern) }
		if m, err = bk.timeOp(ctx, "h2d_pinned", cfg.HostBytes, cfg, h2d, checkH2D, bk.poisonFn(dst, size)); err != nil {
			return err
		}
		out = append(out, m)
		d2h := func() error { return bk.stream.CopyToHostAsync(host, src, cfg.HostBytes) }
		poisonHost := func() error {
			for i := range hb {
				hb[i] = 0xA5
			}
			return nil
		}
		checkD2H := func() error {
			if i := firstDifference(hb, pattern); i >= 0 {
				return fmt.Errorf("host buffer differs from the device source at byte %d", i)
			}
			return nil
		}
		if m, err = bk.timeOp(ctx, "d2h_pinned", cfg.HostBytes, cfg, d2h, checkD2H, poisonHost); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	for i := range out {
		out[i].Device = bk.info.ID
		if bk.hasPeak && out[i].Status == result.StatusOK && (out[i].Label == "d2d_copy" || out[i].Label == "copy_kernel") {
			out[i].PeakBytesPerSecond = bk.peak.MemoryTBps * 1e12
			out[i].Notes = append(out[i].Notes, fmt.Sprintf("%.0f GB/s, %.1f%% of the %.2f TB/s datasheet figure (%s)",
				out[i].BytesPerSecond/1e9, 100*out[i].BytesPerSecond/out[i].PeakBytesPerSecond, bk.peak.MemoryTBps, bk.peak.Model))
		} else if out[i].Status == result.StatusOK {
			out[i].Notes = append(out[i].Notes, fmt.Sprintf("%.1f GB/s", out[i].BytesPerSecond/1e9))
		}
	}
	return out, err
}

// poisonFn returns a function that fills buf with the NaN pattern.
func (bk *Backend) poisonFn(buf driver.Ptr, size int64) func() error {
	return func() error { return bk.stream.Memset32Async(buf, kernels.PoisonBits32, size/4) }
}

// timeOp measures one operation: poison (untimed), one call checked,
// warm-up, then the poisoned destination filled again by a window of
// back-to-back timed calls (one event pair each, one blocking wait) with
// NVML sampling through it, and the result checked again.
func (bk *Backend) timeOp(ctx context.Context, label string, moved int64, cfg BandwidthConfig, op, check, poison func() error) (result.Measurement, error) {
	m := result.Measurement{Workload: "bandwidth", Label: label, DType: BandwidthDType, Bytes: moved, Warmup: cfg.Warmup}
	poisonAndWait := func() error {
		if poison == nil {
			return nil
		}
		if err := poison(); err != nil {
			return err
		}
		return bk.stream.Wait(Timeout)
	}
	if err := poisonAndWait(); err != nil {
		return m, err
	}
	first, err := bk.pipe.run(1, func(int) error { return op() })
	if err != nil {
		return m, err
	}
	est := first.Samples[0]
	if check != nil {
		if err := check(); err != nil {
			m.Status = result.StatusFailed
			m.Notes = append(m.Notes, "check failed: "+err.Error())
			return m, nil
		}
		m.Verified = true
	}
	if warm := bandwidthCalls(cfg.Warmup, cfg.WarmupTime, est); cfg.Warmup > 0 || cfg.WarmupTime > 0 {
		w, err := bk.pipe.run(warm, func(int) error { return op() })
		if err != nil {
			return m, err
		}
		if len(w.Samples) > 0 {
			est = w.Samples[len(w.Samples)/2]
		}
	}
	if err := ctx.Err(); err != nil {
		return m, err
	}
	// Poisoned again, so the check after timing sees what the timed calls
	// wrote.
	if err := poisonAndWait(); err != nil {
		return m, err
	}
	before := bk.State()
	stop := bk.SampleWindow()
	w, err := bk.pipe.run(bandwidthCalls(cfg.Repeats, cfg.MinTime, est), func(int) error { return op() })
	win, werr := stop()
	if err != nil {
		return m, err
	}
	after := bk.State()
	if check != nil {
		if err := check(); err != nil {
			m.Status = result.StatusFailed
			m.Verified = false
			m.Notes = append(m.Notes, "check after timing failed: "+err.Error())
			return m, nil
		}
	}
	m.StateBefore, m.StateAfter = &before, &after
	sum, err := stats.Summarize(w.Samples)
	if err != nil {
		return m, err
	}
	m.Status, m.Seconds, m.Samples, m.Noisy = result.StatusOK, &sum, w.Samples, sum.Noisy()
	m.Timing, m.DutyCycle = result.TimingBackToBack, w.DutyCycle()
	if win != nil {
		win.Seconds = w.Wall
	} else {
		win = &result.Window{Seconds: w.Wall}
		if werr != nil {
			m.Notes = append(m.Notes, "window state: "+werr.Error())
		}
	}
	m.Window = win
	if sum.Median > 0 {
		m.BytesPerSecond = float64(moved) / sum.Median
	}
	m.Notes = append(m.Notes, result.StateNotes(before, after)...)
	return m, nil
}

// checkCopy compares dst with src, every byte, 64 MiB at a time.
func (bk *Backend) checkCopy(src, dst driver.Ptr, size int64) error {
	a, b := make([]byte, checkChunk), make([]byte, checkChunk)
	for off := int64(0); off < size; off += checkChunk {
		n := min(checkChunk, size-off)
		if err := driver.CopyToHost(a[:n], src.Add(off)); err != nil {
			return err
		}
		if err := driver.CopyToHost(b[:n], dst.Add(off)); err != nil {
			return err
		}
		if i := firstDifference(a[:n], b[:n]); i >= 0 {
			return fmt.Errorf("destination differs from source at byte %d", off+int64(i))
		}
	}
	return nil
}

// checkChunk is how much of a device buffer is downloaded at a time to be
// compared.
const checkChunk = 64 << 20

// compareDevice downloads len(want) bytes from dev and compares them with
// want, every byte.
func compareDevice(dev driver.Ptr, want []byte) error {
	buf := make([]byte, min(checkChunk, len(want)))
	for off := 0; off < len(want); off += len(buf) {
		n := min(len(buf), len(want)-off)
		if err := driver.CopyToHost(buf[:n], dev.Add(int64(off))); err != nil {
			return err
		}
		if i := firstDifference(buf[:n], want[off:off+n]); i >= 0 {
			return fmt.Errorf("device buffer differs from the host source at byte %d", off+i)
		}
	}
	return nil
}

// firstDifference returns the index of the first byte where a and b
// differ, or -1 when they are equal (they have the same length).
func firstDifference(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// copyKernel compiles the copy kernel for this GPU and returns its launch,
// or nil and why it cannot run.
func (bk *Backend) copyKernel(src, dst driver.Ptr, size int64) (func() error, string) {
	major, minor := bk.cc/10, bk.cc%10
	out, err := nvrtc.Compile(kcuda.CopySource, kcuda.CopySourceName, major, minor)
	if err != nil {
		return nil, "copy kernel not compiled: " + err.Error()
	}
	mod, err := driver.LoadModule(out.Image)
	if err != nil {
		return nil, "copy kernel not loaded: " + err.Error()
	}
	f, err := mod.Function(kcuda.Copy16Kernel)
	if err != nil {
		return nil, err.Error()
	}
	grid, block := launchDims(uint64(size/16), bk.info.Cores)
	args := copyArgs(src, dst, size)
	return func() error { return f.Launch(grid, block, 0, bk.stream, args...) }, ""
}

// copyArgs are flopcast_copy16's arguments for size bytes, in its
// parameter types: const uint4 *src, uint4 *dst, unsigned long long n
// (16-byte vectors).
func copyArgs(src, dst driver.Ptr, size int64) []any { return []any{src, dst, uint64(size / 16)} }

// launchDims picks a grid-stride launch for n elements: 256-thread blocks,
// at most 32 blocks per multiprocessor.
func launchDims(n uint64, sms int) (grid, block driver.Dim3) {
	const threads = 256
	blocks := (n + threads - 1) / threads
	blocks = min(blocks, uint64(max(sms, 1)*32))
	return driver.Dim3{X: uint32(max(blocks, 1)), Y: 1, Z: 1}, driver.Dim3{X: threads, Y: 1, Z: 1}
}

// MeasureBandwidth implements bench.BandwidthMeter with the default
// buffer sizes and sustained windows: at least 1 s of back-to-back
// warm-up and a timed window of at least 1 s.
func (bk *Backend) MeasureBandwidth(ctx context.Context, warmup, repeats int) ([]result.Measurement, error) {
	return bk.Bandwidth(ctx, BandwidthConfig{Warmup: warmup, Repeats: repeats, WarmupTime: time.Second, MinTime: time.Second})
}
