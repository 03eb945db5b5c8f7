package gpu

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda/nvml"
)

func TestCopyLabels(t *testing.T) {
	for _, c := range [][2]int{{0, 3}, {7, 1}, {-1, 2}, {5, -1}} {
		l := CopyLabel(c[0], c[1])
		s, d, err := ParseCopyLabel(l)
		if err != nil || s != c[0] || d != c[1] {
			t.Errorf("ParseCopyLabel(%q) = %d, %d, %v; want %d, %d", l, s, d, err, c[0], c[1])
		}
	}
	if CopyLabel(-1, 2) != "host>2" || CopyLabel(0, 3) != "0>3" {
		t.Errorf("labels %q %q", CopyLabel(-1, 2), CopyLabel(0, 3))
	}
	for _, bad := range []string{"", "0-3", "a>1", "1>-2", ">"} {
		if _, _, err := ParseCopyLabel(bad); err == nil {
			t.Errorf("ParseCopyLabel(%q) accepted", bad)
		}
	}
}

func TestCopyPairsAndRate(t *testing.T) {
	got := copyPairs([]int{0, 1, 2})
	want := [][2]int{{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("copyPairs = %v, want %v", got, want)
	}
	if len(copyPairs([]int{4})) != 0 {
		t.Error("one GPU has pairs")
	}
	// 256 MiB in 5 ms: 53.7 GB/s one way, twice that both ways.
	if r := copyRate(256<<20, false, 0.005); r < 53.68e9 || r > 53.69e9 {
		t.Errorf("one-way rate %v", r)
	}
	if r := copyRate(256<<20, true, 0.005); r < 107.37e9 || r > 107.38e9 {
		t.Errorf("both-ways rate %v", r)
	}
	if copyRate(1, false, 0) != 0 {
		t.Error("zero time gives a rate")
	}
}

// TestCopyPatternIsPerPair: different pairs carry different bytes, and a
// shifted copy would not match.
func TestCopyPatternIsPerPair(t *testing.T) {
	a, b, c := make([]byte, 4099), make([]byte, 4099), make([]byte, 4099)
	copyPattern(a, 0, 1)
	copyPattern(b, 1, 0)
	copyPattern(c, 0, 1)
	if bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Error("pattern is not a function of the pair")
	}
	if bytes.Equal(a[8:], c[:len(c)-8]) || bytes.Equal(a[64:], c[:len(c)-64]) {
		t.Error("pattern has a short period")
	}
}

// TestCopyMatrixOnGPU (GPU): host↔device on every GPU and, with two or
// more, every pair; each verified with a positive bandwidth. A single GPU
// shows no peer figures.
func TestCopyMatrixOnGPU(t *testing.T) {
	n, err := Available()
	if err != nil || n == 0 {
		t.Skipf("needs an NVIDIA GPU: %s", NoDriverReason(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ms, err := MeasureCopies(ctx, CopyConfig{Bytes: 64 << 20, Iters: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := 2*n + n*(n-1) + n*(n-1)/2
	if len(ms) != want {
		t.Errorf("%d measurements for %d GPUs, want %d", len(ms), n, want)
	}
	for _, m := range ms {
		if m.Status != result.StatusOK || !m.Verified || m.BytesPerSecond <= 0 || m.Workload != result.WorkloadP2P {
			t.Errorf("%s %s: status %s verified %v %.1f GB/s %v", m.Collective, m.Label, m.Status, m.Verified, m.BytesPerSecond/1e9, m.Notes)
		}
		t.Logf("%s %s: %.1f GB/s %v", m.Collective, m.Label, m.BytesPerSecond/1e9, m.Notes)
	}
}

// TestHealthMeasurement: a failing finding fails the measurement and is
// its last note (the one the fleet verdict quotes); warnings are noted;
// plain ok findings are left out.
func TestHealthMeasurement(t *testing.T) {
	fs := []nvml.Finding{
		{Level: nvml.HealthOK, Check: "ecc_uncorrected_volatile", Unit: "errors"},
		{Level: nvml.HealthFail, Check: "row_remap_pending", Measured: 1, Message: "a row remap waits for a GPU reset"},
		{Level: nvml.HealthWarn, Check: "pcie_replays", Measured: 12, Unit: "replays", Message: "PCIe link-level retransmissions"},
	}
	m := healthMeasurement("cuda:3", fs)
	if m.Status != result.StatusFailed || m.Device != "cuda:3" || m.Workload != "health" || len(m.Notes) != 2 {
		t.Fatalf("%+v", m)
	}
	if !strings.HasPrefix(m.Notes[1], "fail row_remap_pending: 1") || !strings.HasPrefix(m.Notes[0], "warn pcie_replays: 12 replays (limit 0)") {
		t.Errorf("notes %q", m.Notes)
	}
	ok := healthMeasurement("cuda:0", fs[:1])
	if ok.Status != result.StatusOK || len(ok.Notes) != 0 {
		t.Errorf("healthy GPU: %+v", ok)
	}
	if f := (result.File{Measurements: []result.Measurement{m, ok}}); f.Validate() != nil {
		t.Errorf("health measurements do not validate: %v", f.Validate())
	}
}
