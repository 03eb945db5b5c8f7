package main

import (
	"encoding/json"
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
	for _, k := range []string{"total_flops", "flop_convention", "tokens", "gpus", "layout", "step_seconds", "per_gpu_tflops", "mfu",
		"breakdown", "days", "days_low", "days_high", "gpu_hours", "cost_usd", "cost_usd_low", "cost_usd_high", "energy_mwh", "co2_tonnes",
		"eu_ai_act", "sources", "warnings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("json lacks %q", k)
		}
	}
	layout := doc["layout"].(map[string]any)
	for _, k := range []string{"tp", "pp", "dp", "cp", "micro_batch", "global_batch_tokens"} {
		if _, ok := layout[k]; !ok {
			t.Errorf("layout lacks %q", k)
		}
	}
	br := doc["breakdown"].(map[string]any)
	sum := 0.0
	for _, k := range []string{"compute", "tp_comm", "pp_bubble", "dp_comm_exposed", "failures"} {
		sum += br[k].(float64)
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
		{append(base, "--gpus", "64", "--price", "-2"), "--price -2: must be > 0"},
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
	for _, want := range []string{"model:", "(p-1)/(v x m)", "2(t-1)/t", "interruptions per hour"} {
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
			Status: result.StatusOK, FLOPPerSecond: rate, Verified: true, Seconds: &stats.Summary{N: 3, Median: sec, P25: sec * 0.99, P75: sec * 1.01}})
	}
	if err := result.Write(path, f); err != nil {
		t.Fatal(err)
	}
}
