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
	megatron, fits, validated, shown, unmodelled := 0, 0, 0, 0, 0
	series := map[string][]Check{}
	for _, c := range checks {
		t.Logf("%-34s %-26s published %10.4g predicted %10.4g error %+6.1f%%  %s %s", c.ID, c.Metric, c.Published, c.Predicted, 100*c.Error, c.Layout, c.Unmodelled)
		if c.Unmodelled != "" {
			// Listed with its reason, never silently dropped.
			if len(c.Unmodelled) < 40 {
				t.Errorf("%s: reason %q says too little", c.ID, c.Unmodelled)
			}
			if c.Metric == "" {
				unmodelled++
			} else {
				shown++
			}
			continue
		}
		// Rows that fit a constant must be within 10 %, every other row
		// within 20 %, whatever the data file says.
		tol := 0.20
		if c.Fit {
			tol = 0.10
			fits++
		} else {
			validated++
		}
		if math.IsNaN(c.Error) || math.Abs(c.Error) > tol {
			t.Errorf("%s %s: predicted %.4g vs published %.4g: error %+.1f%% beyond %.0f%%", c.ID, c.Metric, c.Predicted, c.Published, 100*c.Error, 100*tol)
		}
		if c.Tolerance != tol {
			t.Errorf("%s %s: data file tolerance %g, want %g (fit %v)", c.ID, c.Metric, c.Tolerance, tol, c.Fit)
		}
		if strings.HasPrefix(c.Series, "megatron-") && c.Metric == "tflops_megatron" {
			megatron++
		}
		if strings.HasPrefix(c.Series, "megatron-strong") {
			series[c.Series+"/"+c.Metric] = append(series[c.Series+"/"+c.Metric], c)
		}
	}
	t.Logf("%d fitting checks (within 10 %%), %d validating (within 20 %%), %d shown outside the model, %d rows not modelled", fits, validated, shown, unmodelled)
	if megatron != 16 {
		t.Fatalf("%d Megatron weak/strong throughput rows, want 16", megatron)
	}
	// Every modern row of shared/reference/published-runs-modern.md is
	// listed: MC1-10, NM1-6, MB1-5, LS1-5, TT1-6, LF1-4, R1-3.
	ids := map[string]bool{}
	for _, c := range checks {
		ids[strings.SplitN(c.ID, "-", 2)[0]] = true
	}
	for _, want := range []string{"mc1", "mc2", "mc3", "mc4", "mc5", "mc6", "mc7", "mc8", "mc9", "mc10", "nm1", "nm2", "nm3", "nm4", "nm5", "nm6",
		"mb1", "mb2", "mb3", "mb4", "mb5", "ls1", "ls2", "ls3", "ls4", "ls5", "ls1", "tt1", "tt2", "tt3", "tt4", "tt5", "tt6", "lf1", "lf2", "lf3", "lf4", "r1", "r2", "r3"} {
		if !ids[want] {
			t.Errorf("modern reference row %s missing from the back-test", want)
		}
	}
	if fits < 19 || validated < 40 {
		t.Errorf("%d fitting and %d validating checks: rows were dropped", fits, validated)
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
	if sum := b.Compute + b.Recompute + b.TPComm + b.CPComm + b.EPComm + b.PPBubble + b.DPCommExposed + b.ScaleLoss + b.Failures; math.Abs(sum-1) > 1e-9 {
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
	in.CheckpointMinutes, in.RestartMinutes, in.DetectMinutes = 60, 25, 5
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	// 0.1 per hour x (30 + 25 + 5) min = 0.1 of the wall time.
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
	in.Hardware.InterGBps, in.Hardware.IntraGBps = 1e9, 1e9 // make point-to-point sends free
	in.GPUs = 8
	in.MTBFGPUHours = -1
	in.Layout = Layout{TP: 1, PP: 8, DP: 1, CP: 1, MicroBatch: 1, GlobalBatch: 32, Recompute: "full"}
	for _, c := range []struct {
		sched string
		v     int
		want  float64
	}{{"1f1b", 1, 7.0 / 32}, {"interleaved", 2, 7.0 / 64}, {"interleaved", 4, 7.0 / 128}, {"zero-bubble", 1, 7.0 / 3 / 32}, {"dualpipe", 2, 3.0 / 6 / 32}} {
		in.Layout.Schedule, in.Layout.VirtualStages = c.sched, c.v
		r, err := Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Layout.Schedule != c.sched || r.Layout.VirtualStages != c.v {
			t.Fatalf("layout %+v, want schedule %s v %d", r.Layout, c.sched, c.v)
		}
		// bubble / per-micro-batch work = stages of bubble / m, optimizer
		// time aside.
		b := r.Breakdown
		got := b.PPBubble / (b.Compute + b.Recompute + b.TPComm)
		want, v := c.want, c.v
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

func TestAbsurdClusterRefused(t *testing.T) {
	in := h100Input(t)
	in.GPUs = 2305843009213693952
	if _, err := Forecast(in); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("2^61 GPUs: %v", err)
	}
	in = h100Input(t)
	in.Speed.Large = 1e-288
	if _, err := Forecast(in); err == nil {
		t.Error("a speed of 1e-288 FLOP/s accepted")
	}
}

// TestDevicesBalanceOutputLayer: 16 layers of cost 1 and an output layer
// of cost 3 on 4 stages: the last stage takes fewer layers, so the
// slowest stage costs 5, not the 4 + 3 of an even split.
func TestDevicesBalanceOutputLayer(t *testing.T) {
	one := cost{compute: 1}
	out := cost{compute: 3}
	if got := devices(one, cost{}, out, 16, 0, 4, 1, "1f1b").total(); math.Abs(got-5) > 1e-9 {
		t.Errorf("slowest stage %g, want 5", got)
	}
	// 126 layers on 16 stages (Llama 3 405B): uneven stages, no output
	// layer: 8 layers on the slowest.
	if got := devices(one, cost{}, cost{}, 126, 0, 16, 1, "1f1b").total(); got != 8 {
		t.Errorf("126 layers on 16 stages: slowest %g, want 8", got)
	}
	// Interleaved with v = 4: 64 chunks, a device holds 4 of about 2.
	if got := devices(one, cost{}, cost{}, 126, 0, 16, 4, "interleaved").total(); got < 126.0/16 || got > 9 {
		t.Errorf("interleaved slowest device %g", got)
	}
}

// TestInterleavingAnyLayersAndMicroBatches: 126 layers on 16 stages with
// 24 micro-batches (neither divides) still interleave, and the bubble
// shrinks about as 1/v.
func TestInterleavingAnyLayersAndMicroBatches(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-405b")
	in.GPUs = 1024
	in.MTBFGPUHours = -1
	in.Layout = Layout{TP: 8, PP: 16, MicroBatch: 1, GlobalBatch: 8 * 24, Recompute: "full", Schedule: "1f1b"}
	plain, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Layout.Schedule = "interleaved"
	inter, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	v := inter.Layout.VirtualStages
	if v < 2 {
		t.Fatalf("virtual stages %d for 126 layers on 16 stages", v)
	}
	ratio := inter.Breakdown.PPBubble / plain.Breakdown.PPBubble
	if ratio > 1.5/float64(v) || ratio < 0.5/float64(v) {
		t.Errorf("bubble interleaved/1f1b = %.3f with v = %d, want about 1/v", ratio, v)
	}
	if !(inter.Days < plain.Days) {
		t.Errorf("interleaved %.1f days, 1f1b %.1f", inter.Days, plain.Days)
	}
}

// TestGlobalBatchGrowsWithCluster: 4Mi tokens on a small cluster, 1,024
// tokens per GPU on a large one, and more GPUs never take more days for
// Llama 3 405B between 8,192 and 16,384 H100s.
func TestGlobalBatchGrowsWithCluster(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-405b")
	in.Tokens = 15e12
	rs, err := Sweep(in, []int{8192, 16384})
	if err != nil {
		t.Fatal(err)
	}
	if got := rs[1].Layout.GlobalBatchTokens; got < 16384*MinTokensPerGPU {
		t.Errorf("16,384 GPUs: global batch %d tokens, want >= %d", got, 16384*MinTokensPerGPU)
	}
	if rs[1].Days >= rs[0].Days {
		t.Errorf("16,384 GPUs %.1f days, 8,192 GPUs %.1f", rs[1].Days, rs[0].Days)
	}
	in.GPUs = 64
	in.Model, _ = kernels.LookupModel("llama3-8b")
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.GlobalBatchTokens > 2*DefaultGlobalBatchTokens {
		t.Errorf("64 GPUs: global batch %d tokens", r.Layout.GlobalBatchTokens)
	}
}

// TestFP8LinearOnly: fp8 speeds up the linear layers only, so the run is
// faster than bf16 but by less than the GEMM-rate ratio; MFU is given
// against both peaks.
func TestFP8LinearOnly(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-70b")
	in.GPUs = 512
	in.Layout = Layout{TP: 8, PP: 4, MicroBatch: 1, Schedule: "interleaved", VirtualStages: 5, Recompute: "none", ZeRO: 1}
	bf, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	in.DType = kernels.FP8E4M3
	in.LinearSpeed, err = CatalogSpeed(in.Hardware.GPU, kernels.FP8E4M3)
	if err != nil {
		t.Fatal(err)
	}
	f8, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	rates := in.LinearSpeed.Large / in.Speed.Large
	gain := f8.TokensPerSecondPerGPU / bf.TokensPerSecondPerGPU
	if gain <= 1.1 || gain >= rates {
		t.Errorf("fp8 gain %.2f, want between 1.1 and the GEMM-rate ratio %.2f", gain, rates)
	}
	if math.Abs(f8.MFUBF16/f8.MFU-2) > 0.01 || bf.MFU != bf.MFUBF16 {
		t.Errorf("mfu %.3f (bf16 %.3f), bf16 run %.3f/%.3f", f8.MFU, f8.MFUBF16, bf.MFU, bf.MFUBF16)
	}
}

// TestExpertParallelAllToAll: DeepSeek-V3's all-to-all costs more when the
// experts span nodes than inside one, node-limited routing caps the
// network share, and DualPipe hides it.
func TestExpertParallelAllToAll(t *testing.T) {
	c := catalog.Default()
	g, _ := c.GPU("h800")
	h, _, _ := GPUHardware(c, g)
	sp, _ := CatalogSpeed(g, kernels.BF16)
	m, _ := kernels.LookupModel("deepseek-v3")
	in := Input{Model: m, Tokens: 1e12, GPUs: 2048, Hardware: h, Speed: sp, Kernels: ModernKernels, MTBFGPUHours: -1}
	ep := func(n, limit int, sched string) Result {
		t.Helper()
		in.Layout = Layout{TP: 1, PP: 16, EP: n, MicroBatch: 1, Schedule: sched, Recompute: "full", ZeRO: 1}
		in.MoENodeLimit = limit
		r, err := Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	intra, inter, limited, hidden := ep(8, 0, "1f1b"), ep(64, 0, "1f1b"), ep(64, 4, "1f1b"), ep(64, 4, "dualpipe")
	if !(inter.Breakdown.EPComm > intra.Breakdown.EPComm && limited.Breakdown.EPComm < inter.Breakdown.EPComm && hidden.Breakdown.EPComm == 0) {
		t.Errorf("ep comm: ep8 %.3f, ep64 %.3f, node-limited %.3f, dualpipe %.3f", intra.Breakdown.EPComm, inter.Breakdown.EPComm, limited.Breakdown.EPComm, hidden.Breakdown.EPComm)
	}
	// Experts shard over EP: more EP, less memory.
	if !(inter.MemoryPerGPUGB < intra.MemoryPerGPUGB) {
		t.Errorf("memory ep64 %.1f GB, ep8 %.1f GB", inter.MemoryPerGPUGB, intra.MemoryPerGPUGB)
	}
	// The h800 has no instance: its cluster network is Hopper's 400 Gb/s.
	if h.InterGBps != 50 {
		t.Errorf("h800 network %g GB/s per GPU, want 50", h.InterGBps)
	}
}

// TestCheckpointWrite: a synchronous checkpoint costs its write time per
// interval (Kokolis et al.'s closed form).
func TestCheckpointWrite(t *testing.T) {
	in := h100Input(t)
	in.GPUs = 1024
	in.MTBFGPUHours = 1e12 // failures negligible
	in.CheckpointMinutes, in.CheckpointWriteMinutes = 15, 1.5
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 - 1/1.1; math.Abs(r.Breakdown.Failures-want) > 1e-6 {
		t.Errorf("lost %.5f, want %.5f", r.Breakdown.Failures, want)
	}
}

// TestMemoryConstraintSaid: when memory forces recomputation, the result
// says so.
func TestMemoryConstraintSaid(t *testing.T) {
	in := h100Input(t)
	in.Model, _ = kernels.LookupModel("llama3-405b")
	in.GPUs = 128
	r, err := Forecast(in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Layout.Recompute != "none" && !strings.Contains(strings.Join(r.Constraints, " "), "recomputation") {
		t.Errorf("recompute %s without a constraint note: %v", r.Layout.Recompute, r.Constraints)
	}
	if len(r.Constraints) == 0 {
		t.Errorf("405B on 128 80 GB GPUs: no memory constraint stated (layout %s)", layoutString(r.Layout))
	}
}

// TestSweepSaysWhyMoreDays: going from one node to two over a slow
// network takes longer; the larger run says so and names the cause.
func TestSweepSaysWhyMoreDays(t *testing.T) {
	in := h100Input(t)
	in.Hardware.InterGBps = 0.05
	in.Layout = Layout{TP: 1, PP: 1, MicroBatch: 1, GlobalBatch: 16, Recompute: "op", ZeRO: 3}
	in.FixZeRO = true
	rs, err := Sweep(in, []int{8, 16})
	if err != nil {
		t.Fatal(err)
	}
	if rs[1].Days <= rs[0].Days {
		t.Fatalf("16 GPUs %.2f days, 8 GPUs %.2f: the case no longer slows down", rs[1].Days, rs[0].Days)
	}
	w := strings.Join(rs[1].Warnings, "\n")
	if !strings.Contains(w, "more GPUs, more days") || !strings.Contains(w, "data-parallel communication") {
		t.Errorf("no reason given: %s", w)
	}
	if strings.Contains(strings.Join(rs[0].Warnings, "\n"), "more GPUs, more days") {
		t.Error("the smaller run carries the warning")
	}
}

// TestRequestResolve: the library resolves a run asked for by names, and
// its refusals name the flag at fault.
func TestRequestResolve(t *testing.T) {
	c := catalog.Default()
	m, _ := kernels.LookupModel("llama3-8b")
	in, err := Request{Model: m, Tokens: 1e12, Instance: "p5.48xlarge", Nodes: 8, ResultsDir: t.TempDir()}.Resolve(c)
	if err != nil {
		t.Fatal(err)
	}
	in.Kernels = ModernKernels
	if in.GPUs != 64 || in.Hardware.GPU.Name != "h100-sxm" || in.Speed.Basis != "catalog-mamf" {
		t.Fatalf("resolved %d GPUs of %s at %s", in.GPUs, in.Hardware.GPU.Name, in.Speed.Basis)
	}
	if _, err := Forecast(in); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct {
		r    Request
		want string
	}{
		{Request{Model: m, GPU: "h100-sxm", GPUs: MaxGPUs + 1}, "--gpus"},
		{Request{Model: m, Instance: "p5.48xlarge", Nodes: 1 << 40}, "--nodes"},
		{Request{Model: m, GPU: "h100-sxm", GPUs: 8, PriceSet: true, Price: math.Inf(1)}, "--price"},
		{Request{Model: m, GPU: "h100-sxm", GPUs: 8, DiscountSet: true, Discount: math.NaN()}, "--discount"},
		{Request{Model: m, GPU: "h100-sxm", GPUs: 8, DeviceTFLOPS: 1e-300}, "--device-tflops"},
		{Request{Model: m, GPUs: 8}, "--gpu or --instance"},
	} {
		if _, err := c2.r.Resolve(c); err == nil || !strings.Contains(err.Error(), c2.want) {
			t.Errorf("%+v: %v, want an error naming %s", c2.r, err, c2.want)
		}
	}
}
