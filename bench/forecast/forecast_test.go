package forecast

import (
	"errors"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

func TestBacktestPublishedRuns(t *testing.T) {
	runs, err := PublishedRuns()
	if err != nil {
		t.Fatal(err)
	}
	checks, err := Backtest(catalog.Default(), runs)
	if err != nil {
		t.Fatal(err)
	}
	megatron := 0
	series := map[string][]Check{}
	for _, c := range checks {
		t.Logf("%-28s %-16s published %10.4g predicted %10.4g error %+6.1f%%  %s", c.ID, c.Metric, c.Published, c.Predicted, 100*c.Error, c.Layout)
		if strings.HasPrefix(c.Series, "megatron-") && c.Metric == "tflops_megatron" {
			megatron++
			if math.Abs(c.Error) > 0.15 {
				t.Errorf("%s: predicted %.1f TFLOP/s vs published %.1f: error %+.1f%% beyond 15%%", c.ID, c.Predicted, c.Published, 100*c.Error)
			}
		}
		if !c.Pass {
			t.Errorf("%s %s: error %+.1f%% beyond its tolerance %.0f%%", c.ID, c.Metric, 100*c.Error, 100*c.Tolerance)
		}
		if strings.HasPrefix(c.Series, "megatron-strong") {
			series[c.Series+"/"+c.Metric] = append(series[c.Series+"/"+c.Metric], c)
		}
	}
	if megatron != 16 {
		t.Fatalf("%d Megatron weak/strong throughput rows, want 16", megatron)
	}
	if len(series) != 4 {
		t.Fatalf("strong-scaling series %v, want two models x (tflops, days)", len(series))
	}
	// Within each strong-scaling series (rows in GPU order), the predicted
	// order must match the published order.
	for name, cs := range series {
		for i := 1; i < len(cs); i++ {
			pubDown := cs[i].Published < cs[i-1].Published
			predDown := cs[i].Predicted < cs[i-1].Predicted
			if pubDown != predDown {
				t.Errorf("%s: %s -> %s published %.4g -> %.4g but predicted %.4g -> %.4g", name, cs[i-1].ID, cs[i].ID, cs[i-1].Published, cs[i].Published, cs[i-1].Predicted, cs[i].Predicted)
			}
		}
	}
}

func TestMegatronEq3(t *testing.T) {
	// GPT-3 175B shape, batch 1536: 96·B·s·l·h²·(1 + s/(6h) + V/(16lh)).
	m := kernels.Model{Layers: 96, Hidden: 12288, Seq: 2048, Vocab: 51200}
	got := MegatronFLOPsPerStep(m, 1536)
	want := 96 * 1536.0 * 2048 * 96 * 12288 * 12288 * (1 + 2048.0/(6*12288) + 51200.0/(16*96*12288))
	if math.Abs(got-want)/want > 1e-12 {
		t.Fatalf("eq3 %g, want %g", got, want)
	}
}

// h100Input is a llama3-8b run on p5.48xlarge-like hardware.
func h100Input(t *testing.T) Input {
	t.Helper()
	c := catalog.Default()
	inst, err := c.Instance("p5.48xlarge")
	if err != nil {
		t.Fatal(err)
	}
	h, src, _, err := InstanceHardware(c, inst, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := CatalogSpeed(h.GPU, kernels.BF16)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := kernels.LookupModel("llama3-8b")
	return Input{Model: m, Tokens: 1e12, GPUs: 64, Hardware: h, Speed: sp, Kernels: ModernKernels, Sources: src}
}

func TestForecastArithmetic(t *testing.T) {
	in := h100Input(t)
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	m := in.Model
	if want := m.TrainingFLOPsPerToken(false) * 1e12; math.Abs(r.TotalFLOPs-want) > 1e-9*want {
		t.Errorf("total_flops %g, want %g", r.TotalFLOPs, want)
	}
	if r.Layout.TP*r.Layout.PP*r.Layout.DP*r.Layout.CP != 64 {
		t.Errorf("layout %+v does not use 64 GPUs", r.Layout)
	}
	if r.Layout.GlobalBatchTokens != r.Layout.GlobalBatch*m.Seq {
		t.Errorf("global_batch_tokens %d != %d x %d", r.Layout.GlobalBatchTokens, r.Layout.GlobalBatch, m.Seq)
	}
	if got := r.Days * 24 * 64; math.Abs(got-r.GPUHours) > 1e-6*r.GPUHours {
		t.Errorf("gpu_hours %g, days x 24 x GPUs %g", r.GPUHours, got)
	}
	if want := r.GPUHours * 55.04 / 8; math.Abs(r.CostUSD-want) > 1e-6*want {
		t.Errorf("cost %g, want GPU-hours x $6.88 = %g", r.CostUSD, want)
	}
	b := r.Breakdown
	if sum := b.Compute + b.TPComm + b.PPBubble + b.DPCommExposed + b.Failures; math.Abs(sum-1) > 1e-9 {
		t.Errorf("breakdown sums to %g: %+v", sum, b)
	}
	if !(r.DaysLow < r.Days && r.Days < r.DaysHigh && r.CostUSDLow < r.CostUSD && r.CostUSD < r.CostUSDHigh) {
		t.Errorf("range does not bracket the point: days %g [%g, %g], cost %g [%g, %g]", r.Days, r.DaysLow, r.DaysHigh, r.CostUSD, r.CostUSDLow, r.CostUSDHigh)
	}
	// Per-GPU model FLOP/s times the failure-free time gives the total.
	ideal := r.Days * 86400 * (1 - b.Failures)
	if got := r.PerGPUTFLOPS * 1e12 * 64 * ideal; math.Abs(got-r.TotalFLOPs) > 1e-6*r.TotalFLOPs {
		t.Errorf("per_gpu_tflops x GPUs x time = %g, want %g", got, r.TotalFLOPs)
	}
	if r.MFU <= 0.2 || r.MFU >= 0.8 {
		t.Errorf("mfu %.3f outside any plausible range", r.MFU)
	}
	// Energy: GPU-hours x 700 W x 0.8 x PUE 1.2.
	if want := r.GPUHours * 560 * 1.2 / 1e6; math.Abs(r.EnergyMWh-want) > 1e-9*want {
		t.Errorf("energy %g MWh, want %g", r.EnergyMWh, want)
	}
	if want := r.EnergyMWh * DefaultGridIntensity / 1000; math.Abs(r.CO2Tonnes-want) > 1e-9*want {
		t.Errorf("co2 %g t, want %g", r.CO2Tonnes, want)
	}
	if r.EUAIAct.Exceeds1e25FLOPs {
		t.Errorf("llama3-8b on 1T tokens flagged above 1e25: %s", r.EUAIAct.Text)
	}
}

func TestFailureFraction(t *testing.T) {
	in := h100Input(t)
	in.GPUs = 1024
	in.MTBFGPUHours = 10240 // one interruption every 10 h
	in.CheckpointMinutes, in.RestartMinutes = 60, 30
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 per hour x (30 + 30) min = 0.1 of the wall time.
	if math.Abs(r.Breakdown.Failures-0.1) > 1e-12 {
		t.Errorf("failures %g, want 0.1", r.Breakdown.Failures)
	}
	in.MTBFGPUHours = -1
	r2, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Breakdown.Failures != 0 || math.Abs(r2.Days/r.Days-0.9) > 1e-9 {
		t.Errorf("without failures days %g, want 0.9 x %g", r2.Days, r.Days)
	}
}

func TestPipelineBubble(t *testing.T) {
	in := h100Input(t)
	in.Hardware.InterGBps = 1e9 // make point-to-point sends free
	in.GPUs = 8
	in.MTBFGPUHours = -1
	in.Layout = Layout{TP: 1, PP: 8, DP: 1, CP: 1, MicroBatch: 1, GlobalBatch: 32, Recompute: "full"}
	for _, v := range []int{1, 2, 4} {
		in.Layout.VirtualStages = v
		r, err := Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		// bubble / (compute + tp) = (p−1)/(v·m), optimizer time aside.
		got := r.Breakdown.PPBubble / (r.Breakdown.Compute + r.Breakdown.TPComm)
		want := 7.0 / float64(v*32)
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("v=%d: bubble ratio %.4f, want (p-1)/(v·m) = %.4f", v, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Input)
		want string
	}{
		{"tokens", func(in *Input) { in.Tokens = -1 }, "tokens"},
		{"gpus", func(in *Input) { in.GPUs = 0 }, "gpus"},
		{"product", func(in *Input) { in.Layout = Layout{TP: 8, PP: 2, DP: 3} }, "not the 64 GPUs"},
		{"tp beyond node", func(in *Input) { in.Layout = Layout{TP: 16} }, "larger than the 8 GPUs"},
		{"recompute", func(in *Input) { in.Layout = Layout{Recompute: "some"} }, "recompute"},
		{"no fit", func(in *Input) { in.Model, _ = kernels.LookupModel("llama3-405b"); in.GPUs = 8 }, "no layout fits"},
	}
	for _, c := range cases {
		in := h100Input(t)
		c.edit(&in)
		_, err := Forecast(in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-405b")
	in.GPUs = 8
	if _, err := Forecast(in); !errors.Is(err, ErrNoLayout) {
		t.Errorf("405B on 8 GPUs: %v, want ErrNoLayout", err)
	}
}

func TestLayoutSearchKeepsTPInNode(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-70b")
	in.GPUs = 256
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.TP > 8 {
		t.Errorf("tp %d beyond the 8-GPU node", r.Layout.TP)
	}
	if r.MemoryPerGPUGB > 0.9*80 {
		t.Errorf("layout needs %.1f GB, more than 90%% of 80 GB", r.MemoryPerGPUGB)
	}
	// Fixing a slower layout cannot beat the search's choice.
	in.Layout = Layout{TP: 8, PP: 8, VirtualStages: 1, MicroBatch: 1, Recompute: "full"}
	r2, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if r2.StepSeconds < r.StepSeconds*(1-1e-9) && r2.Layout.GlobalBatch == r.Layout.GlobalBatch {
		t.Errorf("fixed layout step %g beats the chosen %g", r2.StepSeconds, r.StepSeconds)
	}
}

func TestEUAIActThreshold(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-405b")
	in.GPUs = 16384
	in.Tokens = 15.6e12
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if !r.EUAIAct.Exceeds1e25FLOPs || r.TotalFLOPs <= 1e25 {
		t.Fatalf("405B x 15.6T = %g FLOPs not flagged", r.TotalFLOPs)
	}
	for _, want := range []string{"Article 51(2)", "Annex XI", "MWh", "days"} {
		if !strings.Contains(r.EUAIAct.Text, want) {
			t.Errorf("EU AI Act text lacks %q: %s", want, r.EUAIAct.Text)
		}
	}
}

func TestMeasuredSpeedInterpolates(t *testing.T) {
	g, _ := catalog.Default().GPU("h100-sxm")
	mk := func(n int, tflops float64) result.Measurement {
		s := kernels.Square(n)
		sec := s.FLOPs() / (tflops * 1e12)
		return result.Measurement{Workload: "gemm", DType: "bf16", Status: "ok", Shape: s, FLOPs: s.FLOPs(), FLOPPerSecond: tflops * 1e12,
			Seconds: &stats.Summary{Median: sec, P25: sec * 0.98, P75: sec * 1.02}}
	}
	f := &result.File{Measurements: []result.Measurement{mk(1024, 400), mk(4096, 700), {Workload: "gemm", DType: "fp32", Status: "ok", FLOPs: 1, FLOPPerSecond: 1}}}
	sp, err := MeasuredSpeed(f, kernels.BF16, g)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Basis != "measured" || len(sp.Curve) != 2 || sp.Large != 700e12 {
		t.Fatalf("speed %+v", sp)
	}
	// 2048³ is halfway between 1024³ and 4096³ in log FLOPs.
	if got := sp.rate(kernels.Square(2048), 2); math.Abs(got-550e12) > 1e9 {
		t.Errorf("rate at 2048 %g, want 550e12", got)
	}
	if got := sp.rate(kernels.Square(64), 2); got != 400e12 {
		t.Errorf("below the curve %g, want the smallest point's 400e12", got)
	}
	if !(sp.Lo < 1 && sp.Hi > 1) {
		t.Errorf("spread lo %g hi %g", sp.Lo, sp.Hi)
	}
	if _, err := MeasuredSpeed(f, kernels.FP8E4M3, g); err == nil {
		t.Error("no fp8 measurements accepted")
	}
}

func TestBudget(t *testing.T) {
	in := h100Input(t)
	b, err := Budget(in, 1e8, 30)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1e8 / 6.88; math.Abs(b.GPUHours-want) > 1e-6*want {
		t.Errorf("gpu hours %g, want %g", b.GPUHours, want)
	}
	if b.GPUs%64 != 0 || float64(b.GPUs) > b.GPUHours/(30*24) {
		t.Errorf("gpus %d for %g GPU-hours over 30 days", b.GPUs, b.GPUHours)
	}
	if want := math.Sqrt(b.TotalFLOPs / 120); math.Abs(b.OptimalParams-want) > 1e-9*want || b.OptimalTokens != 20*b.OptimalParams {
		t.Errorf("optimal N %g D %g", b.OptimalParams, b.OptimalTokens)
	}
	names := []string{}
	for _, p := range b.Presets {
		names = append(names, p.Name)
		if math.Abs(p.Runs*p.FLOPs-b.TotalFLOPs) > 1e-9*b.TotalFLOPs {
			t.Errorf("%s: runs x flops != total", p.Name)
		}
	}
	if !sort.StringsAreSorted([]string{"llama3-405b"}) || !strings.Contains(strings.Join(names, ","), "llama3-405b") || strings.Contains(strings.Join(names, ","), "tiny") {
		t.Errorf("presets %v", names)
	}
	if _, err := Budget(in, -5, 30); err == nil {
		t.Error("negative budget accepted")
	}
}

func TestModelFromParams(t *testing.T) {
	for _, p := range []float64{7e9, 70e9, 180e9, 1e12} {
		m, note := ModelFromParams(p, 0, 0)
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		total, _ := m.Params()
		if math.Abs(total-p)/p > 0.15 {
			t.Errorf("%g params: estimated shape has %g", p, total)
		}
		if m.Heads%8 != 0 || !strings.Contains(note, "estimate") {
			t.Errorf("%g: heads %d, note %q", p, m.Heads, note)
		}
	}
}
