package forecast

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/kernels"
)

//go:embed published_runs.json
var publishedRuns []byte

// PublishedRun is one documented training run: its configuration as
// published, and the outcomes to compare the forecast with. Fields left
// empty are chosen by the layout search or take the stated defaults; no
// code looks at a run's ID.
type PublishedRun struct {
	ID     string `json:"id"`
	Series string `json:"series"`
	Source string `json:"source"`
	// The model: a custom shape, a preset name, or a parameter count.
	Model  *kernels.Model `json:"model,omitempty"`
	Preset string         `json:"preset,omitempty"`
	Params float64        `json:"params,omitempty"`
	// The hardware: a catalog instance, or a GPU with its node.
	Instance string       `json:"instance,omitempty"`
	Hardware *RunHardware `json:"hardware,omitempty"`
	GPUs     int          `json:"gpus"`
	// Seq, when set, replaces the preset's training sequence length.
	Seq int `json:"seq,omitempty"`
	// Layout as documented (zero: not published).
	TP            int      `json:"tp,omitempty"`
	PP            int      `json:"pp,omitempty"`
	CP            int      `json:"cp,omitempty"`
	EP            int      `json:"ep,omitempty"`
	MicroBatch    int      `json:"micro_batch,omitempty"`
	GlobalBatch   int      `json:"global_batch,omitempty"`
	Schedule      string   `json:"schedule,omitempty"`
	VirtualStages int      `json:"virtual_stages,omitempty"`
	Recompute     string   `json:"recompute,omitempty"`
	ZeRO          *int     `json:"zero,omitempty"`
	Kernels       *Kernels `json:"kernels,omitempty"`
	// DType is the training dtype ("fp8": linear layers in fp8).
	DType string `json:"dtype,omitempty"`
	// Fit says the row calibrates a constant (tolerance 10 %); other
	// rows only validate (20 %).
	Fit bool `json:"fit,omitempty"`
	// Unmodelled, when set, says why the row cannot be fed in; it is
	// listed, not forecast.
	Unmodelled string `json:"unmodelled,omitempty"`
	// Tokens trained on (zero: only throughput is compared).
	Tokens float64 `json:"tokens"`
	// Failures: whether the outcome includes interruptions (billed hours)
	// so the failure model applies.
	Failures bool `json:"failures,omitempty"`
	// Published maps a metric (see Metrics) to its published value; Check
	// maps the metrics the back-test must meet to their relative tolerance.
	Published map[string]float64 `json:"published"`
	Check     map[string]float64 `json:"check,omitempty"`
	Note      string             `json:"note,omitempty"`
}

// RunHardware is a GPU in a node the catalog has no instance for.
type RunHardware struct {
	GPU         string  `json:"gpu"`
	Domain      int     `json:"domain"`
	IntraGBps   float64 `json:"intra_gbps"`
	NetworkGbps float64 `json:"network_gbps"`
	// MemoryGB, when set, replaces the catalog GPU's memory.
	MemoryGB float64 `json:"memory_gb,omitempty"`
}

// Metrics describes the outcomes a published run can be compared on.
var Metrics = map[string]string{
	"tflops_megatron":           "TFLOP/s per GPU counted with Narayanan et al. eq. (3): 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)) per step, recomputation included",
	"tflops_hardware":           "TFLOP/s per GPU in hardware FLOPs (recomputation included)",
	"days":                      "days of training",
	"gpu_hours":                 "GPU-hours",
	"energy_mwh":                "energy in MWh",
	"total_flops":               "training FLOPs (model FLOPs)",
	"tflops_model":              "model TFLOP/s per GPU, full-square attention (flopcast's convention, as Megatron-Core r0.8 and NeMo 24.x count)",
	"tokens_per_second_per_gpu": "tokens per second per GPU",
	"ettr":                      "effective training time: the share of wall time not lost to failures",
}

// PublishedRuns returns the embedded back-test runs.
func PublishedRuns() ([]PublishedRun, error) {
	var doc struct {
		Runs []PublishedRun `json:"runs"`
	}
	if err := json.Unmarshal(publishedRuns, &doc); err != nil {
		return nil, err
	}
	return doc.Runs, nil
}

// Check is one compared outcome of the back-test.
type Check struct {
	ID        string  `json:"id"`
	Series    string  `json:"series"`
	Metric    string  `json:"metric"`
	Published float64 `json:"published"`
	Predicted float64 `json:"predicted"`
	// Error is (predicted − published) / published.
	Error float64 `json:"error"`
	// Tolerance is the relative error the run must meet; zero: reported only.
	Tolerance float64 `json:"tolerance,omitempty"`
	Pass      bool    `json:"pass"`
	// Fit says the row calibrates a constant; Unmodelled says why a row
	// is listed without a forecast.
	Fit        bool   `json:"fit,omitempty"`
	Unmodelled string `json:"unmodelled,omitempty"`
	Layout     string `json:"layout"`
	Source     string `json:"source"`
	Note       string `json:"note,omitempty"`
}

// Backtest forecasts every published run with the catalog's figures and
// the default speed and efficiency, and compares the outcomes.
func Backtest(c *catalog.Catalog, runs []PublishedRun) ([]Check, error) {
	var out []Check
	for _, run := range runs {
		if run.Unmodelled != "" && len(run.Published) == 0 {
			out = append(out, Check{ID: run.ID, Series: run.Series, Pass: true, Source: run.Source, Unmodelled: run.Unmodelled, Note: run.Note})
			continue
		}
		in, err := run.Input(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", run.ID, err)
		}
		r, err := Forecast(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", run.ID, err)
		}
		l := r.Layout
		layout := layoutString(l)
		metrics := make([]string, 0, len(run.Published))
		for k := range run.Published {
			metrics = append(metrics, k)
		}
		sort.Strings(metrics)
		for _, metric := range metrics {
			pred, err := predicted(metric, in, r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", run.ID, err)
			}
			pub := run.Published[metric]
			ch := Check{ID: run.ID, Series: run.Series, Metric: metric, Published: pub, Predicted: pred,
				Error: (pred - pub) / pub, Tolerance: run.Check[metric], Layout: layout, Source: run.Source, Note: run.Note, Fit: run.Fit,
				Unmodelled: run.Unmodelled}
			if run.Unmodelled != "" {
				ch.Tolerance = 0 // shown, not enforced
			}
			ch.Pass = ch.Tolerance == 0 || math.Abs(ch.Error) <= ch.Tolerance
			out = append(out, ch)
		}
	}
	return out, nil
}

func predicted(metric string, in Input, r Result) (float64, error) {
	m := in.Model
	tokensPerStep := float64(r.Layout.GlobalBatch * m.Seq)
	switch metric {
	case "tflops_megatron":
		return MegatronFLOPsPerStep(m, r.Layout.GlobalBatch) / r.StepSeconds / float64(r.GPUs) / 1e12, nil
	case "tflops_hardware":
		return hardwareFLOPsPerToken(m, r.Layout.Recompute) * tokensPerStep / r.StepSeconds / float64(r.GPUs) / 1e12, nil
	case "tflops_model":
		return r.PerGPUTFLOPS, nil
	case "tokens_per_second_per_gpu":
		return r.TokensPerSecondPerGPU, nil
	case "ettr":
		return 1 - r.Breakdown.Failures, nil
	case "days":
		return r.Days, nil
	case "gpu_hours":
		return r.GPUHours, nil
	case "energy_mwh":
		return r.EnergyMWh, nil
	case "total_flops":
		return r.TotalFLOPs, nil
	}
	return 0, fmt.Errorf("unknown metric %q", metric)
}

// MegatronFLOPsPerStep is Narayanan et al. 2021 eq. (3), the FLOPs of one
// iteration of batch B sequences with full activation recomputation:
//
//	96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h))
func MegatronFLOPsPerStep(m kernels.Model, batch int) float64 {
	s, l, h, v := float64(m.Seq), float64(m.Layers), float64(m.Hidden), float64(m.Vocab)
	return 96 * float64(batch) * s * l * h * h * (1 + s/(6*h) + v/(16*l*h))
}

// Input turns the run's documented configuration into a forecast input.
func (run PublishedRun) Input(c *catalog.Catalog) (Input, error) {
	var in Input
	switch {
	case run.Model != nil:
		in.Model = *run.Model
	case run.Preset != "":
		m, err := kernels.LookupModel(run.Preset)
		if err != nil {
			return in, err
		}
		in.Model = m
	case run.Params > 0:
		m, _ := ModelFromParams(run.Params, 0, 0)
		in.Model = m
	default:
		return in, fmt.Errorf("no model")
	}
	if run.Seq > 0 {
		in.Model.Seq = run.Seq
	}
	switch {
	case run.Instance != "":
		inst, err := c.Instance(run.Instance)
		if err != nil {
			return in, err
		}
		if in.Hardware, in.Sources, in.Warnings, err = InstanceHardware(c, inst, ""); err != nil {
			return in, err
		}
	case run.Hardware != nil:
		g, err := c.GPU(run.Hardware.GPU)
		if err != nil {
			return in, err
		}
		if run.Hardware.MemoryGB > 0 {
			g.MemoryGB = run.Hardware.MemoryGB
		}
		in.Hardware = Hardware{GPU: g, Domain: run.Hardware.Domain, IntraGBps: run.Hardware.IntraGBps,
			InterGBps: run.Hardware.NetworkGbps / 8 / float64(run.Hardware.Domain)}
	default:
		return in, fmt.Errorf("no hardware")
	}
	sp, err := CatalogSpeed(in.Hardware.GPU, kernels.BF16)
	if err != nil {
		return in, err
	}
	in.Speed = sp
	in.DType = kernels.BF16
	if run.DType == "fp8" {
		in.DType = kernels.FP8E4M3
		if in.LinearSpeed, err = CatalogSpeed(in.Hardware.GPU, kernels.FP8E4M3); err != nil {
			return in, err
		}
	}
	in.GPUs = run.GPUs
	in.Tokens = run.Tokens
	if in.Tokens == 0 {
		in.Tokens = 1e9 // throughput only; any positive count
	}
	in.Layout = Layout{TP: run.TP, PP: run.PP, CP: run.CP, EP: run.EP, MicroBatch: run.MicroBatch, GlobalBatch: run.GlobalBatch,
		Schedule: run.Schedule, VirtualStages: run.VirtualStages, Recompute: run.Recompute}
	if run.ZeRO != nil {
		in.Layout.ZeRO, in.FixZeRO = *run.ZeRO, true
	}
	in.Kernels = ModernKernels
	if run.Kernels != nil {
		in.Kernels = *run.Kernels
	}
	if !run.Failures {
		in.MTBFGPUHours = -1
	}
	return in, nil
}

// ModelFromParams estimates a Llama-style shape for a parameter count:
// P ≈ 12·layers·hidden² with hidden ≈ 128·layers (the aspect ratio of
// GPT-3 175B and Llama 3 405B), hidden a multiple of 1,024 (so the head
// count of hidden/128 splits 8 ways), gated MLP of width 8/3·hidden. seq and vocab default to 2,048 and
// 32,000 (stated assumptions).
func ModelFromParams(params float64, seq, vocab int) (kernels.Model, string) {
	if seq <= 0 {
		seq = 2048
	}
	if vocab <= 0 {
		vocab = 32000
	}
	h := math.Cbrt(128 * params / 12)
	hidden := max(1024, int(math.Round(h/1024))*1024)
	layers := max(1, int(math.Round(params/(12*float64(hidden)*float64(hidden)))))
	heads := hidden / 128
	ffn := int(math.Round(8.0/3.0*float64(hidden)/256)) * 256
	m := kernels.Model{Name: fmt.Sprintf("params-%.3gB", params/1e9), Arch: kernels.Llama, Layers: layers, Hidden: hidden,
		Heads: heads, KVHeads: heads, FFN: ffn, Vocab: vocab, Seq: seq, Batch: 1, Source: "estimated from the parameter count"}
	return m, fmt.Sprintf("model shape estimated from %.3g parameters: %d layers, hidden %d, %d heads, ffn %d, seq %d, vocab %d; attention and vocabulary terms are estimates", params, layers, hidden, heads, ffn, seq, vocab)
}

// FormatChecks renders the back-test as aligned text lines.
func FormatChecks(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if c.Unmodelled != "" && c.Metric == "" {
			out = append(out, c.ID+" not modelled: "+c.Unmodelled)
			continue
		}
		tol := "report"
		if c.Tolerance > 0 {
			tol = fmt.Sprintf("±%.0f%%", 100*c.Tolerance)
		}
		out = append(out, strings.Join([]string{c.ID, c.Metric, fmt.Sprintf("%.4g", c.Published), fmt.Sprintf("%.4g", c.Predicted), fmt.Sprintf("%+.1f%%", 100*c.Error), tol}, " "))
	}
	return out
}
