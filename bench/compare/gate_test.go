package compare

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

func TestMannWhitney(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		// Exact, no ties: complete separation of 3 and 3 is 2/C(6,3).
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, 0.1},
		{[]float64{6, 5, 4}, []float64{3, 2, 1}, 0.1},
		// 5 and 5 fully separated: 2/C(10,5) = 2/252.
		{[]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252},
		// Interleaved: U = 4.5 of 9 is the centre; p = 1.
		{[]float64{1, 3, 5}, []float64{2, 4, 6}, 0.7},
		// Identical samples (all ties): no evidence.
		{[]float64{1, 1, 1}, []float64{1, 1, 1}, 1},
		{nil, []float64{1}, 1},
	} {
		if got := MannWhitney(c.x, c.y); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("MannWhitney(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	// With ties, the normal approximation, worked by hand: mid-ranks of x
	// sum to 20.5, so U = 5.5 against a mean of 12.5; the tie term is
	// 24+6+24 = 54, the variance 25/12·(11 − 54/90) = 21.667; z = (7 −
	// 0.5)/4.6547 = 1.3964 and p = erfc(z/√2) = 0.1626.
	if got := MannWhitney([]float64{1, 2, 2, 3, 4}, []float64{2, 3, 4, 4, 5}); math.Abs(got-0.1626) > 5e-4 {
		t.Errorf("tied MannWhitney = %v, want 0.1626", got)
	}
}

func loadOne(t *testing.T, path string) []Input {
	t.Helper()
	in, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestGate(t *testing.T) {
	find := func(g *GateResult, dtype string) Change {
		for _, c := range g.Changes {
			if strings.Contains(c.Measurement, " "+dtype+" ") {
				return c
			}
		}
		t.Fatalf("no change for %s in %+v", dtype, g.Changes)
		return Change{}
	}
	cases := []struct {
		name, old, new   string
		regressions      int
		fp32, bf16       Verdict
		fp32Speed, fp32P float64 // NaN: not checked
	}{
		// fp32 10% slower with 1% spread: 10 samples fully separated.
		{"slowdown", "fixture-base", "fixture-slow", 1, Regressed, Unchanged, -0.1, 2 / 184756.0},
		// 7% slower, beyond the threshold, but within ±40% noise.
		{"noise", "fixture-noisy-base", "fixture-noisy", 0, WithinNoise, WithinNoise, 1/1.07 - 1, math.NaN()},
		// The baseline throttled: never used, reported as such.
		{"throttled", "fixture-throttled-base", "fixture-slow", 0, BaselineNotUsed, BaselineNotUsed, math.NaN(), math.NaN()},
		// Swapped: the new run is faster.
		{"improved", "fixture-slow", "fixture-base", 0, Improved, Unchanged, 1/0.9 - 1, math.NaN()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Gate(loadOne(t, "testdata/gate/"+c.old+".json"), loadOne(t, "testdata/gate/"+c.new+".json"), GateOptions{Threshold: 0.05})
			if err != nil {
				t.Fatal(err)
			}
			if g.Regressions != c.regressions {
				t.Errorf("regressions %d, want %d", g.Regressions, c.regressions)
			}
			f32, b16 := find(g, "fp32"), find(g, "bf16")
			if f32.Verdict != c.fp32 || b16.Verdict != c.bf16 {
				t.Errorf("verdicts fp32 %q (%s), bf16 %q (%s); want %q, %q", f32.Verdict, f32.Reason, b16.Verdict, b16.Reason, c.fp32, c.bf16)
			}
			if !math.IsNaN(c.fp32Speed) && math.Abs(f32.Speed-c.fp32Speed) > 1e-9 {
				t.Errorf("fp32 speed change %v, want %v", f32.Speed, c.fp32Speed)
			}
			if !math.IsNaN(c.fp32P) && math.Abs(f32.P-c.fp32P) > 1e-12 {
				t.Errorf("fp32 p %v, want %v", f32.P, c.fp32P)
			}
			if c.name == "noise" && !(f32.P > 0.05) {
				t.Errorf("noise p = %v, want > 0.05", f32.P)
			}
			if c.name == "throttled" && (f32.Reason != "baseline throttled" || b16.Reason != "baseline throttled") {
				t.Errorf("throttled reasons %q, %q", f32.Reason, b16.Reason)
			}
			var b bytes.Buffer
			if err := RenderGate(&b, g, FormatTable); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), string(c.fp32)) {
				t.Errorf("table does not say %q:\n%s", c.fp32, b.String())
			}
		})
	}
}

func TestGateNewestUsableBaseline(t *testing.T) {
	// Two baselines of one machine: the newer one throttled, so the older
	// one is used.
	old := gateFile("fixture-gate", 50, 600, 0.01)
	thr := gateThrottledBase()
	thr.Created = old.Created.Add(24 * 3600e9)
	cur := gateFile("fixture-gate", 45, 600, 0.01)
	g, err := Gate([]Input{{"old.json", old}, {"thr.json", thr}}, []Input{{"new.json", cur}}, GateOptions{Threshold: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if g.Regressions != 1 || g.Changes[0].Verdict != Regressed {
		t.Errorf("gate %+v", g.Changes)
	}
}

func TestGateNothingInCommon(t *testing.T) {
	a := gateFile("host-a", 50, 600, 0.01)
	c := gateFile("host-c", 50, 600, 0.01)
	c.Measurements[0].DType, c.Measurements[1].DType = "fp64", "fp8e4m3"
	if _, err := Gate([]Input{{"a", a}}, []Input{{"c", c}}, GateOptions{Threshold: 0.05}); !errors.Is(err, ErrNothingInCommon) {
		t.Errorf("gate a vs c: %v, want nothing in common", err)
	}
}

// TestGateDifferentMachines: a GPU baseline and a CPU run are refused,
// naming the fields that differ, unless allowed; allowed, they still have
// nothing in common here.
func TestGateDifferentMachines(t *testing.T) {
	a := gateFile("host-a", 50, 600, 0.01)
	b := fixtureCPU()
	_, err := Gate([]Input{{"a", a}}, []Input{{"b", b}}, GateOptions{Threshold: 0.05})
	if !errors.Is(err, ErrDifferentMachines) || !strings.Contains(err.Error(), `device "NVIDIA H100 80GB HBM3" ≠ "Fixture CPU (not measured)"`) ||
		!strings.Contains(err.Error(), "--allow-different-machines") || strings.Contains(err.Error(), "\n") {
		t.Errorf("gate GPU vs CPU: %v", err)
	}
	_, err = Gate([]Input{{"a", a}}, []Input{{"b", b}}, GateOptions{Threshold: 0.05, AllowDifferentMachines: true})
	if !errors.Is(err, ErrNothingInCommon) {
		t.Errorf("allowed GPU vs CPU: %v, want nothing in common", err)
	}
	// Another GPU model, allowed: compared, with the difference named.
	h := gateFile("host-h", 50, 600, 0.01)
	h.Devices[0].Name = "NVIDIA H200"
	g, err := Gate([]Input{{"a", a}}, []Input{{"h", h}}, GateOptions{Threshold: 0.05, AllowDifferentMachines: true})
	if err != nil || len(g.Differences) != 1 || g.Failed() {
		t.Fatalf("allowed H100 vs H200: %+v, %v", g, err)
	}
	var buf bytes.Buffer
	RenderGate(&buf, g, FormatMarkdown)
	if !strings.Contains(buf.String(), "machine types differ (allowed): device") {
		t.Errorf("the gate does not say the machines differ:\n%s", buf.String())
	}
}

// TestGateCannotPassOnNothing: a new run whose every measurement is
// skipped, failed or unverified, or a partial one, fails the gate and says
// why; baseline measurements absent from the new run are listed.
func TestGateCannotPassOnNothing(t *testing.T) {
	base := gateFile("fixture-gate", 50, 600, 0.01)
	for _, c := range []struct {
		name    string
		mutate  func(f *result.File)
		problem string
		missing int
	}{
		{"all skipped", func(f *result.File) {
			for i := range f.Measurements {
				f.Measurements[i].Status, f.Measurements[i].Verified, f.Measurements[i].FLOPPerSecond = result.StatusSkipped, false, 0
			}
		}, "no usable measurement (2 skipped, 0 failed, 0 unverified)", 2},
		{"all unverified", func(f *result.File) {
			for i := range f.Measurements {
				f.Measurements[i].Verified = false
			}
		}, "no usable measurement (0 skipped, 0 failed, 2 unverified)", 2},
		{"partial", func(f *result.File) {
			f.Partial = true
			f.Measurements = f.Measurements[:1]
		}, "new.json is partial", 1},
	} {
		cur := gateFile("fixture-gate", 50, 600, 0.01)
		c.mutate(cur)
		g, err := Gate([]Input{{"base.json", base}}, []Input{{"new.json", cur}}, GateOptions{Threshold: 0.05})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !g.Failed() || len(g.Problems) != 1 || !strings.Contains(g.Problems[0], c.problem) || len(g.Missing) != c.missing {
			t.Errorf("%s: failed %v, problems %q, missing %q", c.name, g.Failed(), g.Problems, g.Missing)
		}
	}
	// The same files, nothing wrong: the gate passes.
	g, err := Gate([]Input{{"base.json", base}}, []Input{{"new.json", gateFile("fixture-gate", 50, 600, 0.01)}}, GateOptions{Threshold: 0.05})
	if err != nil || g.Failed() || len(g.Missing) != 0 {
		t.Errorf("identical runs: %+v, %v", g, err)
	}
}

func TestParseThreshold(t *testing.T) {
	for in, want := range map[string]float64{"5%": 0.05, "5": 0.05, "0.5%": 0.005, "0": 0} {
		if got, err := ParseThreshold(in); err != nil || math.Abs(got-want) > 1e-15 {
			t.Errorf("ParseThreshold(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "-1%", "100%", "NaN"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("ParseThreshold(%q) accepted", bad)
		}
	}
}

// TestGateUsesAPowerCappedBaseline: a GPU at its power limit (NVML's
// sw_power_cap, the normal state of a loaded H100 or H200) is not a
// slowed-down baseline, in the new form of the state and in the old one
// that set Throttled for it; a thermal slowdown still is.
func TestGateUsesAPowerCappedBaseline(t *testing.T) {
	for _, c := range []struct {
		name  string
		state result.State
		used  bool
	}{
		{"power cap", result.State{Time: fixtureTime, PowerCapped: true, Reasons: []string{"sw_power_cap"}}, true},
		{"power cap, old file", result.State{Time: fixtureTime, Throttled: true, Reasons: []string{"sw_power_cap", "mem_clock_3201_mhz"}}, true},
		{"thermal", result.State{Time: fixtureTime, Throttled: true, PowerCapped: true, Reasons: []string{"sw_power_cap", "sw_thermal_slowdown"}}, false},
	} {
		base := gateFile("fixture-gate", 50, 600, 0.01)
		for i := range base.Measurements {
			st := c.state
			base.Measurements[i].StateAfter = &st
		}
		cur := gateFile("fixture-gate", 45, 600, 0.01)
		g, err := Gate([]Input{{"base.json", base}}, []Input{{"new.json", cur}}, GateOptions{Threshold: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		if used := g.Changes[0].Verdict != BaselineNotUsed; used != c.used {
			t.Errorf("%s: baseline used %v, want %v (%+v)", c.name, used, c.used, g.Changes[0])
		}
	}
}
