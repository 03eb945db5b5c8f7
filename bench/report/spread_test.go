package report

import (
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

// multiFixture is a run over three GPUs: a bf16 GEMM where cuda:1 is a
// straggler (700 against 800 TFLOP/s), and a device-to-device copy on
// each, 3.0, 3.1 and 3.2 TB/s of a 3.35 TB/s datasheet figure.
func multiFixture() *result.File {
	s := kernels.Square(8192)
	sum := stats.Summary{Median: 1e-3}
	rel := 1e-3
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}}
	for i, tf := range []float64{800, 700, 790} {
		dev := []string{"cuda:0", "cuda:1", "cuda:2"}[i]
		f.Devices = append(f.Devices, result.Device{ID: dev, Kind: "gpu", Name: "GPU"})
		f.Measurements = append(f.Measurements, result.Measurement{Workload: "gemm", Label: "square", Device: dev, DType: "bf16",
			Shape: s, FLOPs: s.FLOPs(), Status: result.StatusOK, Seconds: &sum, FLOPPerSecond: tf * 1e12,
			PeakFLOPPerSecond: 989e12, Verified: true, RelError: &rel})
	}
	for i, tb := range []float64{3.0, 3.1, 3.2} {
		dev := []string{"cuda:0", "cuda:1", "cuda:2"}[i]
		f.Measurements = append(f.Measurements, result.Measurement{Workload: "bandwidth", Label: "d2d_copy", Device: dev, DType: "bytes",
			Bytes: 2 << 30, Status: result.StatusOK, Seconds: &sum, BytesPerSecond: tb * 1e12, PeakBytesPerSecond: 3.35e12, Verified: true})
	}
	return f
}

func TestSpreads(t *testing.T) {
	f := multiFixture()
	sp := Spreads(f.Measurements)
	if len(sp) != 2 {
		t.Fatalf("%d spreads, want 2", len(sp))
	}
	g := sp[0]
	if g.Devices != 3 || f.Measurements[g.Fastest].Device != "cuda:0" || f.Measurements[g.Slowest].Device != "cuda:1" ||
		g.MedianRate != 790e12 || g.First != 0 || g.Last != 2 {
		t.Errorf("gemm spread %+v", g)
	}
	if got := g.Gap(); got < 0.1249 || got > 0.1251 {
		t.Errorf("gap %g, want 0.125", got)
	}
	if len(g.Stragglers) != 1 || f.Measurements[g.Stragglers[0]].Device != "cuda:1" {
		t.Errorf("stragglers %v, want cuda:1 (11%% below the 790 median)", g.Stragglers)
	}
	// The median of three is 3.1 TB/s and 3.0 is 3.2% below it: no
	// straggler, although the gap to the fastest is 6.25%.
	if b := sp[1]; len(b.Stragglers) != 0 || b.MedianRate != 3.1e12 {
		t.Errorf("bandwidth spread %+v", b)
	}

	// A configuration on one device, a failed one, and the same device
	// twice make no spread.
	one := f.Measurements[:1]
	if len(Spreads(one)) != 0 {
		t.Error("one device has a spread")
	}
	twice := []result.Measurement{f.Measurements[0], f.Measurements[0]}
	if len(Spreads(twice)) != 0 {
		t.Error("one device measured twice has a spread")
	}
	failed := append([]result.Measurement(nil), f.Measurements[:2]...)
	failed[1].Status = result.StatusFailed
	if len(Spreads(failed)) != 0 {
		t.Error("a failed measurement counted in a spread")
	}
}

func TestTableShowsSpreadsAndBandwidth(t *testing.T) {
	var b strings.Builder
	if err := Render(&b, multiFixture(), Table); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	find := func(parts ...string) string {
		for _, l := range lines {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return l
			}
		}
		t.Errorf("no table line with %q in:\n%s", parts, out)
		return ""
	}
	find("3 devices", "bf16", "8192x8192x8192", "slowest cuda:1", "gap 12.5%", "700.0–800.0 TFLOP/s", "STRAGGLER cuda:1")
	find("3 devices", "d2d_copy", "2048 MiB moved", "slowest cuda:0", "gap 6.2%", "3000–3200 GB/s", "no straggler")
	find("cuda:2", "d2d_copy", "3200.0 GB/s", "96%")
	find("cuda:1", "bf16", "700.0 TFLOP/s", "71%")
	// The spread line follows the group's last device.
	for i, l := range lines {
		if strings.Contains(l, "3 devices") && !strings.Contains(lines[i-1], "cuda:2") {
			t.Errorf("spread line %q does not follow cuda:2's line %q", l, lines[i-1])
		}
	}
}
