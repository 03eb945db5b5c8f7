package result

import (
	"bytes"
	"strings"
	"testing"
)

func TestTimingMode(t *testing.T) {
	cases := []struct {
		m     Measurement
		mode  string
		burst bool
	}{
		{Measurement{Device: "cuda:0"}, TimingPerCall, true},                               // the old GPU loop
		{Measurement{Device: "cuda:1", Timing: TimingBackToBack}, TimingBackToBack, false}, // sustained
		{Measurement{Device: "cpu"}, TimingBackToBack, false},                              // CPU calls are back to back
		{Measurement{Device: "cuda:0", Timing: TimingPerCall}, TimingPerCall, true},
		{Measurement{Device: "fake"}, TimingBackToBack, false},
	}
	for _, c := range cases {
		if got := c.m.TimingMode(); got != c.mode || c.m.BurstTiming() != c.burst {
			t.Errorf("%s timing %q: mode %q burst %v; want %q %v", c.m.Device, c.m.Timing, got, c.m.BurstTiming(), c.mode, c.burst)
		}
	}
}

// TestWindowFieldsRoundTrip reads a measurement with the sustained-timing
// fields and a peer carrying its own duty cycle and window (as the device
// check stores the PyTorch peer), by their JSON names.
func TestWindowFieldsRoundTrip(t *testing.T) {
	doc := `{"schema_version": 1, "tool": {"name": "flopcast", "version": "0.1.0", "commit": "abc"},
 "created": "2026-11-30T10:00:00Z", "host": {"hostname": "h", "os": "linux", "arch": "amd64", "cores": 16},
 "devices": [{"id": "cuda:0", "kind": "gpu", "name": "NVIDIA H200"}],
 "environment": {"gomaxprocs": 16, "threads": 16, "blas": ""},
 "measurements": [{"workload": "gemm", "device": "cuda:0", "dtype": "bf16", "shape": {"m": 8192, "n": 8192, "k": 8192},
  "flops": 1.099511627776e12, "status": "skipped", "flop_per_second": 0, "verified": false, "rel_error": null, "seed": 1,
  "timing": "back-to-back", "duty_cycle": 0.998, "flop_per_second_per_ghz": 5.1e14, "flop_per_joule": 1.14e12,
  "window": {"seconds": 1.02, "sm_clock_mhz": {"mean": 1560, "min": 1530, "max": 1980},
   "mem_clock_mhz": {"mean": 3201, "min": 3201, "max": 3201}, "power_w": {"mean": 695, "min": 420, "max": 701},
   "temp_c": {"mean": 61, "min": 55, "max": 64}, "at_power_cap_fraction": 0.96, "throttled_fraction": 0,
   "energy_j": 709.2, "samples": 52},
  "peer": {"name": "torch.matmul", "version": "2.11.0", "seconds": 0.0014, "flop_per_second": 7.85e14,
   "duty_cycle": 0.997, "window": {"seconds": 1.01, "sm_clock_mhz": {"mean": 1555, "min": 1525, "max": 1600},
   "at_power_cap_fraction": 1, "throttled_fraction": 0, "samples": 51}}}]}`
	f, err := Decode(strings.NewReader(doc), "sustained.json")
	if err != nil {
		t.Fatal(err)
	}
	m := f.Measurements[0]
	w := m.Window
	if m.Timing != TimingBackToBack || m.DutyCycle != 0.998 || m.FLOPPerSecondPerGHz != 5.1e14 || m.FLOPPerJoule != 1.14e12 || w == nil {
		t.Fatalf("measurement %+v", m)
	}
	if w.Seconds != 1.02 || *w.SMClockMHz != (Range{1560, 1530, 1980}) || w.MemClockMHz.Mean != 3201 || w.PowerW.Max != 701 ||
		w.TempC.Min != 55 || w.AtPowerCapFraction != 0.96 || w.EnergyJ != 709.2 || w.Samples != 52 {
		t.Errorf("window %+v", w)
	}
	p := m.Peer
	if p.DutyCycle != 0.997 || p.Window == nil || p.Window.SMClockMHz.Mean != 1555 || p.Window.AtPowerCapFraction != 1 || p.Window.PowerW != nil {
		t.Errorf("peer %+v window %+v", p, p.Window)
	}
	// Written back, the fields keep their names.
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"timing": "back-to-back"`, `"duty_cycle": 0.998`, `"sm_clock_mhz"`, `"at_power_cap_fraction": 0.96`, `"energy_j": 709.2`, `"flop_per_second_per_ghz"`, `"flop_per_joule"`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("encoded file lacks %s", key)
		}
	}
	// A measurement without them writes none of them.
	b.Reset()
	f.Measurements[0] = Measurement{Workload: "gemm", Device: "cpu", DType: "fp32", Status: StatusSkipped}
	if err := Encode(&b, f); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"timing"`, `"duty_cycle"`, `"window"`, `"flop_per_joule"`} {
		if strings.Contains(b.String(), key) {
			t.Errorf("empty measurement writes %s", key)
		}
	}
}
