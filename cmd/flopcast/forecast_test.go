package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

var headline = []string{"forecast", "--model", "llama3-70b", "--tokens", "15T", "--instance", "p5.48xlarge", "--gpus", "2048"}

func TestForecastHeadline(t *testing.T) {
	dir := t.TempDir()
	o := flopcast(t, dir, headline...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	for _, want := range []string{"15T", "range", "days", "GPU-hours", "cost", "$6.88 per GPU-hour", "MFU", "MWh", "EU AI Act",
		"catalog default", "no measured h100-sxm results", "AWS-PRICE", "2026-07-28", "FLOP convention: model FLOPs"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, o.stdout)
		}
	}
}

func TestForecastJSONContract(t *testing.T) {
	o := flopcast(t, t.TempDir(), append(headline, "--format", "json")...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total_flops", "flop_convention", "tokens", "gpus", "layout", "step_seconds", "per_gpu_tflops", "mfu", "mfu_bf16", "tokens_per_second_per_gpu",
		"breakdown", "days", "days_low", "days_high", "gpu_hours", "cost_usd", "cost_usd_low", "cost_usd_high", "energy_mwh", "co2_tonnes",
		"eu_ai_act", "sources", "warnings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("json lacks %q", k)
		}
	}
	layout := doc["layout"].(map[string]any)
	for _, k := range []string{"tp", "pp", "dp", "cp", "ep", "micro_batch", "global_batch_tokens", "schedule", "virtual_stages"} {
		if _, ok := layout[k]; !ok {
			t.Errorf("layout lacks %q", k)
		}
	}
	br := doc["breakdown"].(map[string]any)
	sum := 0.0
	for _, k := range []string{"compute", "recompute", "tp_comm", "cp_comm", "ep_comm", "pp_bubble", "dp_comm_exposed", "scale_loss", "failures"} {
		v, ok := br[k].(float64)
		if !ok {
			t.Errorf("breakdown lacks %q", k)
		}
		sum += v
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("breakdown sums to %g", sum)
	}
	if doc["gpus"].(float64) != 2048 || doc["tokens"].(float64) != 15e12 {
		t.Errorf("gpus %v tokens %v", doc["gpus"], doc["tokens"])
	}
	eu := doc["eu_ai_act"].(map[string]any)
	if eu["exceeds_1e25_flops"].(bool) || !strings.Contains(eu["text"].(string), "Annex XI") {
		t.Errorf("eu_ai_act %v", eu)
	}
	if d, lo, hi := doc["days"].(float64), doc["days_low"].(float64), doc["days_high"].(float64); !(lo < d && d < hi) {
		t.Errorf("days %g not in [%g, %g]", d, lo, hi)
	}
}

func TestForecastBadInput(t *testing.T) {
	dir := t.TempDir()
	cpuFile := filepath.Join(dir, "cpu.json")
	writeResults(t, cpuFile, "cpu", "Intel(R) Xeon(R) CPU", "fp32")
	base := []string{"forecast", "--model", "llama3-70b", "--instance", "p5.48xlarge"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"forecast", "--model", "llama3-70x", "--gpu", "h100-sxm", "--gpus", "8"}, "close: llama3-70b"},
		{[]string{"forecast", "--model", "llama3-70b", "--gpu", "h100-sxn", "--gpus", "8"}, "close: h100-sxm"},
		{[]string{"forecast", "--model", "llama3-70b", "--instance", "p5.48xl", "--gpus", "8"}, "close: p5.48xlarge"},
		{append(base, "--gpus", "0"), "--gpus 0: must be > 0"},
		{append(base, "--gpus", "64", "--tokens", "-5"), "--tokens -5: must be > 0"},
		{append(base, "--gpus", "64", "--tokens", "0"), "--tokens 0: must be > 0"},
		{append(base, "--gpus", "64", "--tokens", "lots"), "--tokens \"lots\": not a number"},
		{append(base, "--gpus", "64", "--price", "-2"), "--price -2: want a price per GPU-hour"},
		{append(base, "--gpus", "64", "--tp", "8", "--pp", "2", "--dp", "3"), "= 48, not the 64 GPUs"},
		{append(base, "--gpus", "64", "--tp", "16"), "--tp 16: larger than the 8 GPUs"},
		{append(base, "--gpus", "64", "--recompute", "most"), "--recompute \"most\""},
		{append(base, "--gpus", "64", "--commit", "5y"), "--commit \"5y\""},
		{[]string{"forecast", "--model", "llama3-405b", "--instance", "p5.48xlarge", "--gpus", "8"}, "no layout fits"},
		{append(base, "--gpus", "64", "--from", cpuFile), "not a h100-sxm"},
		{append(base, "--gpus", "64", "--catalog", filepath.Join(dir, "missing.yaml")), "--catalog"},
		{append(base, "--gpus", "64", "--sweep-gpus", "64,x"), "--sweep-gpus"},
		{append(base, "--budget", "-1", "--days", "30"), "--budget -1: must be > 0"},
		{[]string{"forecast", "--gpu", "h100-sxm", "--gpus", "8"}, "--model"},
	}
	for _, c := range cases {
		o := flopcast(t, dir, c.args...)
		if o.code != 2 || !strings.Contains(o.stderr, c.want) || strings.Count(strings.TrimSpace(o.stderr), "\n") > 0 || o.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 and one line containing %q", c.args, o.code, o.stderr, len(o.stdout), c.want)
		}
	}
}

func TestForecastUsesMeasuredGPUResults(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "results"), 0o755)
	writeResults(t, filepath.Join(dir, "results", "h100.json"), "cuda:0", "NVIDIA H100 80GB HBM3", "bf16")
	o := flopcast(t, dir, headline...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	if !strings.Contains(o.stdout, "measured: 3 bf16 GEMM shapes") || !strings.Contains(o.stdout, "results/h100.json") || strings.Contains(o.stdout, "catalog default") {
		t.Errorf("measured results not used:\n%s", o.stdout)
	}
	// A slower measured device gives a longer run than the catalog default.
	def := flopcast(t, t.TempDir(), append(headline, "--format", "json")...)
	meas := flopcast(t, dir, append(headline, "--format", "json")...)
	var a, b struct{ Days float64 }
	json.Unmarshal([]byte(def.stdout), &a)
	json.Unmarshal([]byte(meas.stdout), &b)
	if !(b.Days > a.Days) {
		t.Errorf("measured 300-600 TFLOP/s gives %g days, catalog MAMF %g", b.Days, a.Days)
	}
	// --device-tflops takes precedence over a results file found by search.
	o = flopcast(t, dir, append(headline, "--device-tflops", "700")...)
	if o.code != 0 || !strings.Contains(o.stdout, "--device-tflops: 700.0") {
		t.Errorf("--device-tflops not used: %s %s", o.stdout, o.stderr)
	}
}

func TestForecastModes(t *testing.T) {
	dir := t.TempDir()
	o := flopcast(t, dir, "forecast", "--model", "llama3-405b", "--tokens", "15T", "--instance", "p5.48xlarge", "--sweep-gpus", "4096,8192")
	if o.code != 0 || !strings.Contains(o.stdout, "4096") || !strings.Contains(o.stdout, "8192") || !strings.Contains(o.stdout, "days range") {
		t.Errorf("sweep: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
	o = flopcast(t, dir, "forecast", "--budget", "38e9", "--days", "2555", "--instance", "u-p6e-gb200x72")
	for _, want := range []string{"GPU-hours", "compute-optimal model", "llama3-405b", "runs the budget buys", "Article 51(2)", "capacity-block"} {
		if o.code != 0 || !strings.Contains(o.stdout, want) {
			t.Errorf("budget lacks %q (exit %d):\n%s%s", want, o.code, o.stdout, o.stderr)
		}
	}
	o = flopcast(t, dir, "forecast", "--model", "llama3-8b", "--gpu", "h100-sxm", "--gpus", "64", "--explain")
	for _, want := range []string{"model:", "(p-1)/v interleaved", "2(t-1)/t", "interruptions per hour", "tp overlap", "K/V ring", "all-to-all", "scale loss"} {
		if o.code != 0 || !strings.Contains(o.stdout, want) {
			t.Errorf("explain lacks %q:\n%s", want, o.stdout)
		}
	}
	o = flopcast(t, dir, "forecast", "--validate")
	if o.code != 0 || !strings.Contains(o.stdout, "megatron-strong-529.6b-2240") || strings.Contains(o.stdout, "FAIL") {
		t.Errorf("validate: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
	o = flopcast(t, dir, "forecast", "--params", "30B", "--gpu", "a100-80gb", "--nodes", "16")
	if o.code != 0 || !strings.Contains(o.stdout, "--params alone") || !strings.Contains(o.stdout, "128 x a100-80gb") {
		t.Errorf("params: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
}

func TestCatalogCommand(t *testing.T) {
	dir := t.TempDir()
	o := flopcast(t, dir, "catalog")
	for _, want := range []string{"h100-sxm", "p5.48xlarge", "55.0400", "2026-07-28", "AWS-PRICE", "u-p6e-gb200x72", "sources:"} {
		if o.code != 0 || !strings.Contains(o.stdout, want) {
			t.Errorf("catalog lacks %q", want)
		}
	}
	user := filepath.Join(dir, "mine.json")
	os.WriteFile(user, []byte(`{"instances": [{"name": "my-h100", "provider": "onprem", "gpu": "h100-sxm", "gpus": 8, "intra_gbps": 900, "network_gbps": 3200, "sources": ["ME"], "prices": [{"kind": "on-demand", "usd_per_hour": 16, "date": "2027-01-01", "source": "ME"}]}], "sources": [{"key": "ME", "text": "our lease", "date": "2027-01-01"}]}`), 0o644)
	o = flopcast(t, dir, "forecast", "--catalog", user, "--model", "llama3-8b", "--instance", "my-h100", "--gpus", "64", "--format", "json")
	var r struct {
		PricePerGPUHour float64 `json:"price_per_gpu_hour"`
	}
	if err := json.Unmarshal([]byte(o.stdout), &r); err != nil || r.PricePerGPUHour != 2 {
		t.Errorf("user catalog price: %v %+v %s", err, r, o.stderr)
	}
}

// writeResults writes a results file with three verified GEMM measurements
// on one device.
func writeResults(t *testing.T, path, id, name, dtype string) {
	t.Helper()
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName, Version: "test"}, Created: time.Unix(0, 0).UTC(),
		Devices: []result.Device{{ID: id, Kind: map[bool]string{true: "cpu", false: "gpu"}[id == "cpu"], Name: name}}}
	for i, n := range []int{1024, 4096, 16384} {
		s := kernels.Square(n)
		rate := []float64{300e12, 500e12, 600e12}[i]
		sec := s.FLOPs() / rate
		f.Measurements = append(f.Measurements, result.Measurement{Workload: "gemm", Device: id, DType: dtype, Shape: s, FLOPs: s.FLOPs(),
			Status: result.StatusOK, FLOPPerSecond: rate, Verified: true, Seconds: &stats.Summary{N: 3, Median: sec, P25: sec * 0.99, P75: sec * 1.01},
			Timing: result.TimingBackToBack})
	}
	if err := result.Write(path, f); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes a results file of measurements on one GPU.
func writeGPUFile(t *testing.T, path, name string, created time.Time, ms ...result.Measurement) {
	t.Helper()
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName, Version: "test"}, Created: created,
		Devices: []result.Device{{ID: "cuda:0", Kind: "gpu", Name: name}}}
	f.Measurements = ms
	if err := result.Write(path, f); err != nil {
		t.Fatal(err)
	}
}

// gemm is a verified bf16 GEMM measurement of n³ at tflops, timed as
// given ("" is per-call: an old GPU file).
func gemm(n int, tflops float64, timing string) result.Measurement {
	s := kernels.Square(n)
	sec := s.FLOPs() / (tflops * 1e12)
	return result.Measurement{Workload: "gemm", Device: "cuda:0", DType: "bf16", Shape: s, FLOPs: s.FLOPs(), Status: result.StatusOK,
		FLOPPerSecond: tflops * 1e12, Verified: true, Timing: timing, Seconds: &stats.Summary{N: 3, Median: sec, P25: sec * 0.99, P75: sec * 1.01}}
}

// TestForecastRefusesAbsurdInput: every value a new user might type that
// once gave a panic, NaN, Inf, a negative time or was ignored silently is
// refused with one line naming the flag, exit 2.
func TestForecastRefusesAbsurdInput(t *testing.T) {
	dir := t.TempDir()
	zero := gemm(4096, 500, result.TimingBackToBack)
	zero.FLOPs = 0
	writeGPUFile(t, filepath.Join(dir, "zero.json"), "NVIDIA H100 80GB HBM3", time.Unix(0, 0).UTC(), gemm(1024, 300, result.TimingBackToBack), zero)
	writeGPUFile(t, filepath.Join(dir, "fast.json"), "NVIDIA H100 80GB HBM3", time.Unix(0, 0).UTC(), gemm(4096, 8320, result.TimingBackToBack))
	writeGPUFile(t, filepath.Join(dir, "burst.json"), "NVIDIA H100 80GB HBM3", time.Unix(0, 0).UTC(), gemm(4096, 600, ""))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "mamba", "hidden_size": 4096}`), 0o644)
	base := []string{"forecast", "--model", "llama3-70b", "--instance", "p5.48xlarge"}
	huge := "2305843009213693952"
	cases := []struct {
		args []string
		want string
	}{
		{append(base, "--gpus", huge), "--gpus " + huge + ": more than"},
		{append(base, "--nodes", huge), "--nodes " + huge + ": more than"},
		{append(base, "--sweep-gpus", "1024,"+huge), "--sweep-gpus"},
		{append(base, "--gpus", "64", "--discount", "NaN"), "--discount NaN: want a fraction"},
		{append(base, "--gpus", "64", "--price", "1e308"), "--price 1e+308: want a price"},
		{append(base, "--budget", "1e6", "--days", "30", "--price", "1e-300"), "--price 1e-300: want a price"},
		{append(base, "--budget", "1e15", "--days", "1e-6"), "more than 1e+09"},
		{append(base, "--gpus", "64", "--device-tflops", "1e-300"), "--device-tflops 1e-300: below 1 GFLOP/s"},
		{append(base, "--budget", "1e308", "--days", "30"), "--budget 1e308: more than"},
		{append(base, "--budget", "1e308", "--days", "30", "--format", "json"), "--budget 1e308: more than"},
		{append(base, "--gpus", "64", "--global-batch", "9223372036854775807"), "--global-batch 9223372036854775807"},
		{append(base, "--gpus", "64", "--layers", "9223372036854775807"), "--layers 9223372036854775807: more than"},
		{append(base, "--budget", "1e6", "--days", "NaN"), "--days NaN"},
		{append(base, "--gpus", "64", "--params", "7B"), "--model, --model-config and --params: give one"},
		{append(base, "--gpus", "64", "--tokens", "1e30"), "--tokens 1e30: more than"},
		{append(base, "--gpus", "64", "--from", filepath.Join(dir, "zero.json")), "flops: 0"},
		{append(base, "--gpus", "64", "--from", filepath.Join(dir, "fast.json")), "impossible"},
		{append(base, "--gpus", "64", "--from", filepath.Join(dir, "burst.json")), "burst timing"},
		{append(base, "--gpus", "64", "--schedule", "gpipe"), "--schedule \"gpipe\""},
		{append(base, "--gpus", "64", "--ep", "8"), "--ep 8: llama3-70b is not a mixture-of-experts model"},
		{append(base, "--gpus", "64", "--sm-reserve", "2"), "--sm-reserve 2"},
		{append(base, "--gpus", "64", "--tp-overlap", "NaN"), "--tp-overlap NaN"},
		{append(base, "--gpus", "64", "--pue", "Inf"), "--pue +Inf"},
		{append(base, "--gpus", "64", "--grid-intensity", "1e308"), "--grid-intensity 1e+308"},
		{append(base, "--gpus", "64", "--step-efficiency", "NaN"), "--step-efficiency NaN"},
		{append(base, "--gpus", "64", "--jitter", "-1"), "--jitter -1"},
		{append(base, "--gpus", "64", "--checkpoint-write-minutes", "Inf"), "--checkpoint-write-minutes +Inf"},
		{[]string{"forecast", "--model-config", filepath.Join(dir, "config.json"), "--gpu", "h100-sxm", "--gpus", "8"}, "--model-config"},
		{[]string{"forecast", "--model-config", filepath.Join(dir, "missing.json"), "--gpu", "h100-sxm", "--gpus", "8"}, "--model-config"},
		{[]string{"forecast", "--model", "deepseek-v3", "--gpu", "h800", "--gpus", "2048", "--ep", "3"}, "ep 3"},
		{[]string{"forecast", "--model", "llama3-8b", "--gpu", "h100-sxm", "--gpus", "48", "--pp", "3", "--schedule", "dualpipe"}, "dualpipe needs an even pp"},
	}
	for _, c := range cases {
		o := flopcast(t, dir, c.args...)
		if o.code != 2 || !strings.Contains(o.stderr, c.want) || strings.Count(strings.TrimSpace(o.stderr), "\n") > 0 || o.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 and one line containing %q", c.args, o.code, o.stderr, len(o.stdout), c.want)
		}
		for _, bad := range []string{"NaN", "Inf", "panic"} {
			if strings.Contains(o.stdout, bad) {
				t.Errorf("%v: output has %s", c.args, bad)
			}
		}
	}
}

// TestForecastResultsSelection: the automatic search takes the newest file
// by its measured date, not its name, passes over burst-timed files with
// a warning, and --allow-burst accepts them; power sampled through the
// timed windows is used.
func TestForecastResultsSelection(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "results")
	os.MkdirAll(res, 0o755)
	older, newer := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	slow := gemm(8192, 400, result.TimingBackToBack)
	slow.Window = &result.Window{Seconds: 2, PowerW: &result.Range{Mean: 612, Min: 600, Max: 650}, Samples: 40}
	writeGPUFile(t, filepath.Join(res, "a-newer.json"), "NVIDIA H100 80GB HBM3", newer, gemm(1024, 300, result.TimingBackToBack), slow)
	writeGPUFile(t, filepath.Join(res, "z-older.json"), "NVIDIA H100 80GB HBM3", older, gemm(1024, 300, result.TimingBackToBack), gemm(8192, 700, result.TimingBackToBack))
	writeGPUFile(t, filepath.Join(res, "zz-burst.json"), "NVIDIA H100 80GB HBM3", newer.Add(time.Hour), gemm(8192, 800, ""))
	args := []string{"forecast", "--model", "llama3-8b", "--instance", "p5.48xlarge", "--gpus", "64"}
	o := flopcast(t, dir, args...)
	if o.code != 0 || !strings.Contains(o.stdout, "results/a-newer.json") || !strings.Contains(o.stdout, "best 400.0 TFLOP/s") {
		t.Errorf("newest by date not used: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
	if !strings.Contains(o.stdout, "zz-burst.json not used: burst timing") {
		t.Errorf("burst file not reported:\n%s", o.stdout)
	}
	if !strings.Contains(o.stdout, "612 W per GPU, the median of the measurements' mean power over their timed windows") {
		t.Errorf("window power not used:\n%s", o.stdout)
	}
	o = flopcast(t, dir, append(args, "--from", filepath.Join(res, "zz-burst.json"), "--allow-burst")...)
	if o.code != 0 || !strings.Contains(o.stdout, "best 800.0 TFLOP/s") {
		t.Errorf("--allow-burst: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
}

// TestForecastModernRuns: a config.json model, the schedules, expert
// parallelism and fp8, and the figures the JSON must carry.
func TestForecastModernRuns(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "Mini-8B", "config.json")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(`{"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
		"intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 8192, "hidden_act": "silu"}`), 0o644)
	o := flopcast(t, dir, "forecast", "--model-config", cfg, "--gpu", "h100-sxm", "--gpus", "64", "--tokens", "1T", "--format", "json")
	var r struct {
		Model     string  `json:"model"`
		TokensSec float64 `json:"tokens_per_second_per_gpu"`
		MFU       float64 `json:"mfu"`
	}
	if o.code != 0 || json.Unmarshal([]byte(o.stdout), &r) != nil || r.TokensSec <= 0 || r.MFU <= 0.2 || r.MFU >= 0.8 {
		t.Errorf("--model-config: exit %d %+v %s", o.code, r, o.stderr)
	}
	// DeepSeek-V3's published layout: PP16 DualPipe, EP64, fp8.
	o = flopcast(t, dir, "forecast", "--model", "deepseek-v3", "--tokens", "14.8T", "--gpu", "h800", "--gpus", "2048", "--dtype", "fp8",
		"--schedule", "dualpipe", "--pp", "16", "--tp", "1", "--ep", "64", "--moe-node-limit", "4", "--format", "json")
	var d struct {
		Layout struct {
			EP            int    `json:"ep"`
			Schedule      string `json:"schedule"`
			VirtualStages int    `json:"virtual_stages"`
		} `json:"layout"`
		Breakdown map[string]float64 `json:"breakdown"`
		MFU       float64            `json:"mfu"`
		MFUBF16   float64            `json:"mfu_bf16"`
		Days      float64            `json:"days"`
		Sources   []string           `json:"sources"`
	}
	if o.code != 0 || json.Unmarshal([]byte(o.stdout), &d) != nil {
		t.Fatalf("deepseek: exit %d %s", o.code, o.stderr)
	}
	if d.Layout.EP != 64 || d.Layout.Schedule != "dualpipe" || d.Layout.VirtualStages != 2 || d.MFUBF16 < 1.9*d.MFU || d.Days < 20 || d.Days > 200 {
		t.Errorf("deepseek forecast %+v", d)
	}
	if !strings.Contains(strings.Join(d.Sources, "\n"), "network 400 Gbit/s per GPU, the catalog's cluster network for a h800") {
		t.Errorf("h800 network default not from the catalog: %v", d.Sources)
	}
	// More GPUs never report more days without saying why.
	o = flopcast(t, dir, "forecast", "--model", "llama3-8b", "--gpu", "h100-sxm", "--tokens", "1T", "--global-batch", "64", "--tp", "8", "--pp", "1", "--sweep-gpus", "64,512")
	if o.code != 0 {
		t.Fatalf("sweep: exit %d %s", o.code, o.stderr)
	}
	if strings.Contains(o.stdout, "more GPUs, more days") != slowerInSweep(o.stdout) {
		t.Errorf("a sweep with more days for more GPUs must say why, and only then:\n%s", o.stdout)
	}
}

// slowerInSweep reports whether a later (larger) row of a sweep table
// takes more days than an earlier one.
func slowerInSweep(table string) bool {
	var days []float64
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "│")
		if len(cells) < 12 {
			continue
		}
		var d float64
		if _, err := fmt.Sscanf(strings.TrimSpace(cells[11]), "%g", &d); err == nil {
			days = append(days, d)
		}
	}
	for i := 1; i < len(days); i++ {
		if days[i] > days[i-1] {
			return true
		}
	}
	return false
}
