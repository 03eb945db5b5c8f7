package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/forecast"
	"github.com/flopcast/flopcast/kernels"
)

func init() {
	register("forecast", "forecast time, cost and energy of a training run on N GPUs", forecastCmd)
}

// forecastOptions are the parsed flags of "flopcast forecast".
type forecastOptions struct {
	model, modelConfig                  string
	layers, hidden, heads, kvHeads, ffn int
	vocab, seq                          int
	params, tokens                      string
	gpu, instance                       string
	gpus, nodes                         int
	from, resultsDir                    string
	allowBurst                          bool
	deviceTFLOPS                        float64
	dtype                               string
	tp, pp, dp, cp, ep, microBatch      int
	globalBatch                         int
	globalBatchTokens                   string
	virtualStages, zero                 int
	schedule, recompute                 string
	dpOverlap, tpOverlap, cpOverlap     float64
	epOverlap, ppOverlap, smReserve     float64
	nodeLimit                           int
	price, discount                     float64
	commit                              string
	pue, grid, power                    float64
	mtbf                                float64
	checkpoint                          time.Duration
	restartMinutes, detectMinutes       float64
	checkpointWrite, jitter             float64
	stepEfficiency                      float64
	catalogFile, format                 string
	explain, validate                   bool
	sweep                               string
	budget                              string
	days                                float64
	set                                 map[string]bool
}

func parseForecastFlags(args []string, stderr io.Writer) (*forecastOptions, error) {
	o := &forecastOptions{}
	k := forecast.ModernKernels
	fs := flag.NewFlagSet("flopcast forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.model, "model", "", "model preset ("+strings.Join(kernels.Presets(), ", ")+")")
	fs.StringVar(&o.modelConfig, "model-config", "", "a Hugging Face config.json describing the model (instead of --model)")
	fs.IntVar(&o.layers, "layers", 0, "layers (custom model, or override the preset's)")
	fs.IntVar(&o.hidden, "hidden", 0, "hidden size")
	fs.IntVar(&o.heads, "heads", 0, "attention heads")
	fs.IntVar(&o.kvHeads, "kv-heads", 0, "key/value heads (default: heads)")
	fs.IntVar(&o.ffn, "ffn", 0, "MLP inner width (default: 4 x hidden)")
	fs.IntVar(&o.vocab, "vocab", 0, "vocabulary size")
	fs.IntVar(&o.seq, "seq", 0, "sequence length")
	fs.StringVar(&o.params, "params", "", "parameter count alone, e.g. 70B (shape estimated, with a warning)")
	fs.StringVar(&o.tokens, "tokens", "", "training tokens, e.g. 15T or 300B (default: compute-optimal, 20 per parameter)")
	fs.StringVar(&o.gpu, "gpu", "", "catalog GPU, e.g. h100-sxm (see flopcast catalog)")
	fs.StringVar(&o.instance, "instance", "", "catalog instance, e.g. p5.48xlarge")
	fs.IntVar(&o.gpus, "gpus", 0, "number of GPUs")
	fs.IntVar(&o.nodes, "nodes", 0, "number of nodes (instances), instead of --gpus")
	fs.StringVar(&o.from, "from", "", "results file whose measured GEMM throughput gives the per-device speed")
	fs.StringVar(&o.resultsDir, "results-dir", "results", "directory searched for the newest results file (by measured date) of the chosen GPU when --from is not given")
	fs.BoolVar(&o.allowBurst, "allow-burst", false, "accept GPU GEMMs timed per call (burst timing) as the sustained speed")
	fs.Float64Var(&o.deviceTFLOPS, "device-tflops", 0, "sustained dense TFLOP/s of one device on large GEMMs in the training dtype")
	fs.StringVar(&o.dtype, "dtype", "bf16", "training dtype: bf16, fp16 or fp8 (fp8: linear-layer GEMMs only)")
	fs.IntVar(&o.tp, "tp", 0, "tensor-parallel size (default: chosen)")
	fs.IntVar(&o.pp, "pp", 0, "pipeline-parallel size (default: chosen)")
	fs.IntVar(&o.dp, "dp", 0, "data-parallel size (default: chosen)")
	fs.IntVar(&o.cp, "cp", 0, "context-parallel size (default: chosen)")
	fs.IntVar(&o.ep, "ep", 0, "expert-parallel size for mixture-of-experts models (default: chosen)")
	fs.IntVar(&o.microBatch, "micro-batch", 0, "micro-batch in sequences (default: chosen)")
	fs.IntVar(&o.globalBatch, "global-batch", 0, "global batch in sequences (default: the larger of 4Mi tokens and 1,024 tokens per GPU)")
	fs.StringVar(&o.globalBatchTokens, "global-batch-tokens", "", "global batch to aim for in tokens, e.g. 16M, rounded up to fit the layout (instead of --global-batch)")
	fs.StringVar(&o.schedule, "schedule", "", "pipeline schedule: 1f1b, interleaved, zero-bubble or dualpipe (default: the better of 1f1b and interleaved)")
	fs.IntVar(&o.virtualStages, "virtual-stages", 0, "interleaved pipeline chunks per stage (default: chosen)")
	fs.StringVar(&o.recompute, "recompute", "", "activation recomputation: none, selective (element-wise ops), op (also every other matmul, torchtitan's policy) or full (default: chosen)")
	fs.IntVar(&o.zero, "zero", -1, "optimizer sharding stage 0-3, 3 = FSDP (default: chosen)")
	fs.Float64Var(&o.dpOverlap, "dp-overlap", k.GradOverlap, "fraction of data-parallel gradient/parameter communication hidden behind compute")
	fs.Float64Var(&o.tpOverlap, "tp-overlap", k.TPOverlap, "fraction of tensor-parallel communication hidden behind GEMMs (async TP)")
	fs.Float64Var(&o.cpOverlap, "cp-overlap", k.CPOverlap, "fraction of the context-parallel K/V exchange hidden behind attention")
	fs.Float64Var(&o.epOverlap, "ep-overlap", k.EPOverlap, "fraction of the expert all-to-all hidden behind compute (dualpipe hides all)")
	fs.Float64Var(&o.ppOverlap, "pp-overlap", k.PPOverlap, "fraction of pipeline point-to-point sends hidden")
	fs.Float64Var(&o.smReserve, "sm-reserve", k.SMReserve, "fraction of SMs reserved for communication kernels, e.g. 0.15 (DeepSeek-V3: 20 of 132)")
	fs.IntVar(&o.nodeLimit, "moe-node-limit", 0, "nodes one token's experts may span (node-limited routing, DeepSeek-V3: 4; default: no limit)")
	fs.Float64Var(&o.price, "price", 0, "USD per GPU-hour (default: the catalog's)")
	fs.Float64Var(&o.discount, "discount", 0, "fractional discount on the price, e.g. 0.2")
	fs.StringVar(&o.commit, "commit", "", "committed-use price where the catalog has one: 1y or 3y")
	fs.Float64Var(&o.pue, "pue", 0, fmt.Sprintf("power usage effectiveness (default %.1f)", forecast.DefaultPUE))
	fs.Float64Var(&o.grid, "grid-intensity", 0, fmt.Sprintf("grid carbon intensity in gCO2/kWh (default %.0f)", forecast.DefaultGridIntensity))
	fs.Float64Var(&o.power, "power", 0, "watts per GPU (default: measured in the results file, else TDP x 0.8)")
	fs.Float64Var(&o.mtbf, "mtbf-gpu-hours", 0, fmt.Sprintf("mean time between failures per GPU in hours (default %.0f, Llama 3)", forecast.DefaultMTBFGPUHours))
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", 0, fmt.Sprintf("time between checkpoints, e.g. 30m (default %.0fm)", forecast.DefaultCheckpointMinutes))
	fs.Float64Var(&o.restartMinutes, "restart-minutes", 0, fmt.Sprintf("minutes to restart after a failure (default %.0f)", forecast.DefaultRestartMinutes))
	fs.Float64Var(&o.detectMinutes, "detect-minutes", 0, fmt.Sprintf("minutes to detect a failure (default %.0f)", forecast.DefaultDetectMinutes))
	fs.Float64Var(&o.checkpointWrite, "checkpoint-write-minutes", 0, "minutes a synchronous checkpoint stalls training (default 0: asynchronous)")
	fs.Float64Var(&o.jitter, "jitter", forecast.DefaultJitter, "relative spread of one GPU's step time behind the scale-loss term (0 disables it)")
	fs.Float64Var(&o.stepEfficiency, "step-efficiency", 0, "fraction of kernel-level speed a whole step keeps (default: the GPU generation's fitted value)")
	fs.StringVar(&o.catalogFile, "catalog", "", "catalog file (JSON or YAML) merged over the built-in catalog")
	fs.StringVar(&o.format, "format", "table", "output: table or json")
	fs.BoolVar(&o.explain, "explain", false, "print the model's formulas with the numbers plugged in")
	fs.BoolVar(&o.validate, "validate", false, "back-test the model against published training runs")
	fs.StringVar(&o.sweep, "sweep-gpus", "", "comma-separated GPU counts to compare, e.g. 1024,2048,4096")
	fs.StringVar(&o.budget, "budget", "", "USD to spend, e.g. 38e9 or 10M: what it buys")
	fs.Float64Var(&o.days, "days", 0, "with --budget: spend it over this many days")
	set, err := parseFlags(fs, args, stderr, "usage: flopcast forecast --model M [--tokens T] (--gpu G | --instance I) (--gpus N | --nodes N) [flags]")
	if err != nil {
		return nil, err
	}
	o.set = set
	return o, nil
}

// parseCount reads a positive count with an optional K, M, B or T suffix
// (forecast.ParseCount) as bad input.
func parseCount(flagName, s string) (float64, error) {
	v, err := forecast.ParseCount(flagName, s)
	if err != nil {
		return 0, usageError("%v", err)
	}
	return v, nil
}

// Upper bounds of numeric flags: beyond them no figure the forecast
// prints stays meaningful (or finite).
const (
	maxBudgetUSD = 1e15 // a thousand trillion dollars
	maxDays      = 1e6
	maxTokens    = 1e18
)

func forecastCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseForecastFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.format != "table" && o.format != "json" {
		return usageError("--format %q: want table or json", o.format)
	}
	cat := catalog.Default()
	if o.catalogFile != "" {
		if cat, err = catalog.Load(o.catalogFile); err != nil {
			return usageError("--catalog: %v", err)
		}
	}
	if o.validate {
		return validateCmd(o, cat, stdout)
	}
	if o.set["days"] && !(o.days > 0 && o.days <= maxDays) {
		return usageError("--days %g: want a number of days above 0 and at most %g", o.days, maxDays)
	}
	var usd float64
	if o.budget != "" {
		if usd, err = parseCount("budget", o.budget); err != nil {
			return err
		}
		if usd > maxBudgetUSD {
			return usageError("--budget %s: more than $%g, beyond what the forecast can price", o.budget, maxBudgetUSD)
		}
	}
	var sweep []int
	if o.sweep != "" {
		for _, f := range strings.Split(o.sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return usageError("--sweep-gpus %q: %q is not a GPU count > 0", o.sweep, f)
			}
			if n > forecast.MaxGPUs {
				return usageError("--sweep-gpus %q: %d is more than %d GPUs, beyond any cluster this forecast describes", o.sweep, n, forecast.MaxGPUs)
			}
			sweep = append(sweep, n)
		}
	}
	in, err := o.input(cat)
	if err != nil {
		return err
	}
	switch {
	case o.budget != "":
		if o.days == 0 && in.GPUs == 0 {
			return usageError("--budget: give --days D or --gpus N")
		}
		b, err := forecast.Budget(in, usd, o.days)
		if err != nil {
			return forecastError(err)
		}
		return printBudget(stdout, o.format, b)
	case len(sweep) > 0:
		rs, err := forecast.Sweep(in, sweep)
		if err != nil {
			return forecastError(err)
		}
		return printSweep(stdout, o.format, rs)
	}
	if in.GPUs == 0 {
		return usageError("--gpus or --nodes: give the cluster size")
	}
	r, err := forecast.Forecast(in)
	if err != nil {
		return forecastError(err)
	}
	if o.format == "json" {
		return writeJSON(stdout, r)
	}
	return printForecast(stdout, r, o.explain)
}

// forecastError turns a forecast's refusal into bad input (exit 2).
func forecastError(err error) error {
	return usageError("%v", err)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// modelOf builds the model from --model, --model-config, --params or the
// shape flags (forecast.ModelRequest).
func (o *forecastOptions) modelOf(in *forecast.Input) (kernels.Model, error) {
	req := forecast.ModelRequest{Preset: o.model, ConfigFile: o.modelConfig, Params: o.params,
		Layers: o.layers, Hidden: o.hidden, Heads: o.heads, KVHeads: o.kvHeads, FFN: o.ffn, Vocab: o.vocab, Seq: o.seq,
		Set: o.set, Reference: o.budget != ""}
	m, err := req.Resolve(in)
	if err != nil {
		return m, usageError("%v", err)
	}
	return m, nil
}

// input checks the flags and builds the forecast input.
func (o *forecastOptions) input(cat *catalog.Catalog) (forecast.Input, error) {
	var pre forecast.Input
	m, err := o.modelOf(&pre)
	if err != nil {
		return pre, err
	}
	req := forecast.Request{Model: m, GPU: o.gpu, Instance: o.instance, GPUs: o.gpus, Nodes: o.nodes, Commit: o.commit,
		Price: o.price, PriceSet: o.set["price"], Discount: o.discount, DiscountSet: o.set["discount"],
		From: o.from, ResultsDir: o.resultsDir, DeviceTFLOPS: o.deviceTFLOPS, AllowBurst: o.allowBurst, PowerW: o.power}
	if o.tokens != "" {
		t, err := parseCount("tokens", o.tokens)
		if err != nil {
			return pre, err
		}
		if t > maxTokens {
			return pre, usageError("--tokens %s: more than %g tokens, beyond what the forecast describes", o.tokens, maxTokens)
		}
		req.Tokens = t
	}
	dt, err := kernels.ParseDTypes(o.dtype)
	if err != nil || len(dt) != 1 || (dt[0] != kernels.BF16 && dt[0] != kernels.FP16 && dt[0] != kernels.FP8E4M3) {
		return pre, usageError("--dtype %q: want bf16, fp16 or fp8", o.dtype)
	}
	req.DType = dt[0]
	if o.set["gpus"] && o.gpus <= 0 {
		return pre, usageError("--gpus %d: must be > 0", o.gpus)
	}
	if o.set["nodes"] && o.nodes <= 0 {
		return pre, usageError("--nodes %d: must be > 0", o.nodes)
	}
	if o.set["device-tflops"] && !(o.deviceTFLOPS > 0) {
		return pre, usageError("--device-tflops %g: must be > 0", o.deviceTFLOPS)
	}
	if o.set["power"] && !(o.power > 0 && o.power <= 1e5) {
		return pre, usageError("--power %g: want watts per GPU above 0 and at most 100000", o.power)
	}
	in, err := req.Resolve(cat)
	if err != nil {
		return in, usageError("%v", err)
	}
	in.Warnings = append(pre.Warnings, in.Warnings...)
	in.Sources = append(pre.Sources, in.Sources...)
	// Layout.
	for _, f := range []struct {
		name string
		v    int
	}{{"tp", o.tp}, {"pp", o.pp}, {"dp", o.dp}, {"cp", o.cp}, {"ep", o.ep}, {"micro-batch", o.microBatch}, {"global-batch", o.globalBatch}, {"virtual-stages", o.virtualStages}} {
		if o.set[f.name] && f.v <= 0 {
			return in, usageError("--%s %d: must be > 0", f.name, f.v)
		}
		if o.set[f.name] && f.v > 1<<24 {
			return in, usageError("--%s %d: more than %d", f.name, f.v, 1<<24)
		}
	}
	if o.set["global-batch"] && float64(o.globalBatch)*float64(m.Seq) > 1<<36 {
		return in, usageError("--global-batch %d: %d sequences x %d tokens is more than %d tokens per step", o.globalBatch, o.globalBatch, m.Seq, int64(1)<<36)
	}
	in.Layout = forecast.Layout{TP: o.tp, PP: o.pp, DP: o.dp, CP: o.cp, EP: o.ep, MicroBatch: o.microBatch, GlobalBatch: o.globalBatch, VirtualStages: o.virtualStages}
	if o.globalBatchTokens != "" {
		if o.set["global-batch"] {
			return in, usageError("--global-batch-tokens: give it or --global-batch, not both")
		}
		t, err := parseCount("global-batch-tokens", o.globalBatchTokens)
		if err != nil {
			return in, err
		}
		if t > 1<<36 {
			return in, usageError("--global-batch-tokens %s: more than %d tokens per step", o.globalBatchTokens, int64(1)<<36)
		}
		in.BatchTokens = int(t)
	}
	if o.set["schedule"] {
		if !slices.Contains(forecast.Schedules, o.schedule) {
			return in, usageError("--schedule %q: want 1f1b, interleaved, zero-bubble or dualpipe", o.schedule)
		}
		in.Layout.Schedule = o.schedule
	}
	if o.set["ep"] && !m.IsMoE() && o.ep > 1 {
		return in, usageError("--ep %d: %s is not a mixture-of-experts model", o.ep, m.Name)
	}
	if o.set["recompute"] {
		if !slices.Contains(forecast.Recomputes, o.recompute) {
			return in, usageError("--recompute %q: want none, selective, op or full", o.recompute)
		}
		in.Layout.Recompute = o.recompute
	}
	if o.set["zero"] {
		if o.zero < 0 || o.zero > 3 {
			return in, usageError("--zero %d: want 0, 1, 2 or 3", o.zero)
		}
		in.Layout.ZeRO, in.FixZeRO = o.zero, true
	}
	if l := in.Layout; in.GPUs > 0 && l.TP > 0 && l.PP > 0 && l.DP > 0 && l.TP*l.PP*l.DP*max(l.CP, 1) != in.GPUs {
		return in, usageError("--tp %d x --pp %d x --dp %d x --cp %d = %d, not the %d GPUs", l.TP, l.PP, l.DP, max(l.CP, 1), l.TP*l.PP*l.DP*max(l.CP, 1), in.GPUs)
	}
	if in.Layout.TP > in.Hardware.Domain && in.Hardware.Instance != "" {
		return in, usageError("--tp %d: larger than the %d GPUs sharing a %s node's NVLink (tensor parallelism stays inside a node)", in.Layout.TP, in.Hardware.Domain, in.Hardware.Instance)
	}
	// Kernels and overlap.
	in.Kernels = forecast.ModernKernels
	for _, f := range []struct {
		name string
		v    float64
		dst  *float64
	}{{"dp-overlap", o.dpOverlap, &in.Kernels.GradOverlap}, {"tp-overlap", o.tpOverlap, &in.Kernels.TPOverlap}, {"cp-overlap", o.cpOverlap, &in.Kernels.CPOverlap},
		{"ep-overlap", o.epOverlap, &in.Kernels.EPOverlap}, {"pp-overlap", o.ppOverlap, &in.Kernels.PPOverlap}} {
		if !(f.v >= 0 && f.v <= 1) {
			return in, usageError("--%s %g: want a fraction in [0, 1]", f.name, f.v)
		}
		*f.dst = f.v
	}
	if !(o.smReserve >= 0 && o.smReserve < 0.9) {
		return in, usageError("--sm-reserve %g: want a fraction in [0, 0.9)", o.smReserve)
	}
	in.Kernels.SMReserve = o.smReserve
	if o.set["moe-node-limit"] && (o.nodeLimit <= 0 || o.nodeLimit > 1<<20) {
		return in, usageError("--moe-node-limit %d: want a number of nodes > 0", o.nodeLimit)
	}
	in.MoENodeLimit = o.nodeLimit
	// Energy and failures.
	for _, f := range []struct {
		name  string
		v     float64
		limit float64
	}{{"pue", o.pue, 10}, {"grid-intensity", o.grid, 1e4}, {"mtbf-gpu-hours", o.mtbf, 1e12}, {"restart-minutes", o.restartMinutes, 1e6}, {"detect-minutes", o.detectMinutes, 1e6}} {
		if o.set[f.name] && !(f.v > 0 && f.v <= f.limit) {
			return in, usageError("--%s %g: want a number above 0 and at most %g", f.name, f.v, f.limit)
		}
	}
	if o.set["pue"] && o.pue < 1 {
		return in, usageError("--pue %g: must be >= 1", o.pue)
	}
	if o.set["checkpoint-interval"] && (o.checkpoint <= 0 || o.checkpoint > 365*24*time.Hour) {
		return in, usageError("--checkpoint-interval %v: want a duration above 0 and at most a year", o.checkpoint)
	}
	if o.set["checkpoint-write-minutes"] && !(o.checkpointWrite >= 0 && o.checkpointWrite <= 1e6) {
		return in, usageError("--checkpoint-write-minutes %g: want minutes >= 0", o.checkpointWrite)
	}
	if !(o.jitter >= 0 && o.jitter <= 0.5) {
		return in, usageError("--jitter %g: want a fraction in [0, 0.5]", o.jitter)
	}
	in.Jitter = o.jitter
	if o.jitter == 0 {
		in.Jitter = -1 // disabled
	}
	if o.set["step-efficiency"] {
		if !(o.stepEfficiency > 0.01 && o.stepEfficiency <= 1) {
			return in, usageError("--step-efficiency %g: want a fraction in (0.01, 1]", o.stepEfficiency)
		}
		in.StepEfficiency = o.stepEfficiency
	}
	in.CheckpointWriteMinutes = o.checkpointWrite
	in.PUE, in.GridIntensity, in.MTBFGPUHours, in.RestartMinutes, in.DetectMinutes = o.pue, o.grid, o.mtbf, o.restartMinutes, o.detectMinutes
	in.CheckpointMinutes = o.checkpoint.Minutes()
	return in, nil
}

func newKVTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{tw.AlignLeft, tw.AlignLeft}}))
}

func money(v float64) string {
	switch {
	case v == 0:
		return "n/a"
	case v >= 1e9:
		return fmt.Sprintf("$%.2fB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("$%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("$%.1fk", v/1e3)
	}
	return fmt.Sprintf("$%.2f", v)
}

func count(v float64) string {
	switch {
	case v >= 1e12:
		return fmt.Sprintf("%.3gT", v/1e12)
	case v >= 1e9:
		return fmt.Sprintf("%.3gB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	}
	return fmt.Sprintf("%.4g", v)
}

func printForecast(w io.Writer, r forecast.Result, explain bool) error {
	l := r.Layout
	hwName := r.GPU
	if r.Instance != "" {
		hwName = r.Instance + " (" + r.GPU + ")"
	}
	b := r.Breakdown
	rows := [][]string{
		{"model", fmt.Sprintf("%s: %s parameters (%s active)", r.Model, count(r.Params), count(r.ActiveParams))},
		{"tokens", count(r.Tokens)},
		{"training compute", fmt.Sprintf("%.3g FLOPs (model FLOPs; %.3g hardware FLOPs with recomputation)", r.TotalFLOPs, r.HardwareFLOPs)},
		{"hardware", fmt.Sprintf("%d x %s, %s", r.GPUs, hwName, r.DType)},
		{"per-device speed", r.Speed},
		{"layout", fmt.Sprintf("tp %d, pp %d, dp %d, cp %d, ep %d; micro-batch %d, global batch %d seq (%s tokens); schedule %s, virtual stages %d; recompute %s; ZeRO-%d; %.1f GB/GPU", l.TP, l.PP, l.DP, l.CP, l.EP, l.MicroBatch, l.GlobalBatch, count(float64(l.GlobalBatchTokens)), l.Schedule, l.VirtualStages, l.Recompute, l.ZeRO, r.MemoryPerGPUGB)},
		{"step", fmt.Sprintf("%.3f s; %s steps; step efficiency %.2f", r.StepSeconds, count(r.Steps), r.StepEfficiency)},
		{"per-GPU throughput", throughputLine(r)},
		{"time split", splitLine(b)},
		{"days", fmt.Sprintf("%.1f (range %.1f - %.1f)", r.Days, r.DaysLow, r.DaysHigh)},
		{"GPU-hours", count(r.GPUHours)},
		{"cost", fmt.Sprintf("%s (range %s - %s) at $%.4g per GPU-hour", money(r.CostUSD), money(r.CostUSDLow), money(r.CostUSDHigh), r.PricePerGPUHour)},
		{"energy", fmt.Sprintf("%.4g MWh at %.0f W per GPU; %.4g t CO2", r.EnergyMWh, r.PowerWPerGPU, r.CO2Tonnes)},
		{"EU AI Act", euLine(r.EUAIAct)},
	}
	t := newKVTable(w)
	t.Header([]string{"forecast", "value"})
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n"+r.EUAIAct.Text)
	fmt.Fprintln(w, "FLOP convention: "+r.FLOPConvention)
	for _, c := range r.Constraints {
		fmt.Fprintln(w, "constraint: "+c)
	}
	if explain {
		fmt.Fprintln(w, "\nmodel:")
		for _, line := range r.Explain {
			fmt.Fprintln(w, "  "+line)
		}
	}
	printSourcesAndWarnings(w, r.Sources, r.Warnings)
	return nil
}

// throughputLine is tokens/s and model FLOP/s per GPU with the MFU.
func throughputLine(r forecast.Result) string {
	s := fmt.Sprintf("%.0f tokens/s, %.1f TFLOP/s model FLOPs, MFU %.1f %%", r.TokensPerSecondPerGPU, r.PerGPUTFLOPS, 100*r.MFU)
	if r.DType != "bf16" && r.MFUBF16 > 0 {
		s += fmt.Sprintf(" of the %s peak, %.1f %% of the bf16 peak", r.DType, 100*r.MFUBF16)
	}
	return s
}

// splitLine is the time split, causes under 0.05 % left out.
func splitLine(b forecast.Breakdown) string {
	var parts []string
	for _, p := range []struct {
		name string
		v    float64
	}{{"compute", b.Compute}, {"recompute", b.Recompute}, {"tp comm", b.TPComm}, {"cp comm", b.CPComm}, {"ep comm", b.EPComm}, {"pp bubble", b.PPBubble},
		{"dp comm exposed", b.DPCommExposed}, {"scale loss", b.ScaleLoss}, {"failures", b.Failures}} {
		if p.v >= 0.0005 || p.name == "compute" {
			parts = append(parts, fmt.Sprintf("%s %.1f %%", p.name, 100*p.v))
		}
	}
	return strings.Join(parts, ", ")
}

// printSourcesAndWarnings lists where every default came from and what to
// be wary of, under the forecast's or the budget's table.
func printSourcesAndWarnings(w io.Writer, sources, warnings []string) {
	fmt.Fprintln(w, "\nsources:")
	for _, s := range sources {
		fmt.Fprintln(w, "  "+s)
	}
	if len(warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, s := range warnings {
			fmt.Fprintln(w, "  "+s)
		}
	}
}

func euLine(e forecast.EUAIAct) string {
	if e.Exceeds1e25FLOPs {
		return "exceeds 10^25 FLOPs: presumed systemic risk (Art. 51(2))"
	}
	return "below 10^25 FLOPs (Art. 51(2))"
}

func printSweep(w io.Writer, format string, rs []forecast.Result) error {
	if format == "json" {
		return writeJSON(w, rs)
	}
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header([]string{"GPUs", "layout", "batch tokens", "step s", "tok/s/GPU", "TFLOP/s/GPU", "MFU", "bubble", "dp exposed", "failures", "days", "days range", "GPU-hours", "cost", "cost range"})
	for _, r := range rs {
		l := r.Layout
		lay := fmt.Sprintf("tp%d pp%d dp%d cp%d", l.TP, l.PP, l.DP, l.CP)
		if l.EP > 1 {
			lay += fmt.Sprintf(" ep%d", l.EP)
		}
		if l.PP > 1 {
			lay += fmt.Sprintf(" %s v%d", l.Schedule, l.VirtualStages)
		}
		if err := t.Append([]string{
			strconv.Itoa(r.GPUs), lay, count(float64(l.GlobalBatchTokens)),
			fmt.Sprintf("%.3f", r.StepSeconds), fmt.Sprintf("%.0f", r.TokensPerSecondPerGPU), fmt.Sprintf("%.1f", r.PerGPUTFLOPS), fmt.Sprintf("%.1f%%", 100*r.MFU),
			fmt.Sprintf("%.1f%%", 100*r.Breakdown.PPBubble), fmt.Sprintf("%.1f%%", 100*r.Breakdown.DPCommExposed), fmt.Sprintf("%.1f%%", 100*r.Breakdown.Failures),
			fmt.Sprintf("%.1f", r.Days), fmt.Sprintf("%.1f-%.1f", r.DaysLow, r.DaysHigh), count(r.GPUHours),
			money(r.CostUSD), money(r.CostUSDLow) + "-" + money(r.CostUSDHigh),
		}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(rs) > 0 {
		fmt.Fprintf(w, "\n%s on %s; %s\n", rs[0].Model, rs[0].GPU, rs[0].Speed)
		seen := map[string]bool{}
		for _, r := range rs {
			for _, s := range r.Warnings {
				if !seen[s] {
					seen[s] = true
					fmt.Fprintf(w, "warning (%d GPUs): %s\n", r.GPUs, s)
				}
			}
		}
	}
	return nil
}

func printBudget(w io.Writer, format string, b forecast.BudgetResult) error {
	if format == "json" {
		return writeJSON(w, b)
	}
	fmt.Fprintf(w, "budget %s at $%.4g per GPU-hour = %s GPU-hours: %d GPUs for %.0f days\n", money(b.BudgetUSD), b.PricePerGPUHour, count(b.GPUHours), b.GPUs, b.Days)
	fmt.Fprintf(w, "sustained %.1f TFLOP/s per GPU (model FLOPs, %s, net of failures) -> %.3g FLOPs in all\n", b.PerGPUTFLOPS, b.ReferenceModel, b.TotalFLOPs)
	fmt.Fprintf(w, "compute-optimal model for all of it: %s parameters on %s tokens (20 tokens per parameter)\n\n", count(b.OptimalParams), count(b.OptimalTokens))
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header([]string{"preset", "active params", "tokens (20/param)", "FLOPs", "runs the budget buys"})
	for _, p := range b.Presets {
		if err := t.Append([]string{p.Name, count(p.Params), count(p.Tokens), fmt.Sprintf("%.3g", p.FLOPs), fmt.Sprintf("%.4g", p.Runs)}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nEU AI Act: "+b.EUAIAct.Text)
	printSourcesAndWarnings(w, b.Sources, b.Warnings)
	return nil
}

func validateCmd(o *forecastOptions, cat *catalog.Catalog, w io.Writer) error {
	runs, err := forecast.PublishedRuns()
	if err != nil {
		return err
	}
	checks, err := forecast.Backtest(cat, runs)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(w, checks)
	}
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header([]string{"run", "metric", "published", "predicted", "error", "role", "layout"})
	failed := 0
	var reasons []string
	for _, c := range checks {
		role := "validate ±20%"
		if c.Fit {
			role = "fit ±10%"
		}
		pub, pred, errs := fmt.Sprintf("%.4g", c.Published), fmt.Sprintf("%.4g", c.Predicted), fmt.Sprintf("%+.1f%%", 100*c.Error)
		switch {
		case c.Unmodelled != "" && c.Metric == "":
			role, pub, pred, errs = "not modelled", "", "", ""
			reasons = append(reasons, c.ID+": "+c.Unmodelled)
		case c.Unmodelled != "":
			role = "outside the model"
			reasons = append(reasons, c.ID+": "+c.Unmodelled)
		case !c.Pass:
			role += " FAIL"
			failed++
		}
		if err := t.Append([]string{c.ID, c.Metric, pub, pred, errs, role, c.Layout}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nspeed: catalog default (MAMF) for every run; Megatron-LM 2021 rows compare the paper's own FLOP count (eq. 3, recomputation included), the modern rows tokens/s per GPU where published and model TFLOP/s (full-square attention) otherwise; failures modelled only where the published figure is billed hours or effective training time.")
	fmt.Fprintln(w, "fit: the row calibrates a constant (A100 step efficiency: Megatron-LM Table 1; Hopper: Megatron-Core r0.8; failure defaults: Llama 3's effective training time); validate: out of sample.")
	if len(reasons) > 0 {
		fmt.Fprintln(w, "\nrows outside the model or not modelled, and why:")
		for _, r := range reasons {
			fmt.Fprintln(w, "  "+r)
		}
	}
	if failed > 0 {
		return withCode(exitFailure, fmt.Errorf("validate: %d rows outside their tolerance", failed))
	}
	return nil
}
