package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/forecast"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func init() {
	register("forecast", "forecast time, cost and energy of a training run on N GPUs", forecastCmd)
}

// forecastOptions are the parsed flags of "flopcast forecast".
type forecastOptions struct {
	model                                   string
	layers, hidden, heads, kvHeads, ffn     int
	vocab, seq                              int
	params, tokens                          string
	gpu, instance                           string
	gpus, nodes                             int
	from, resultsDir                        string
	deviceTFLOPS                            float64
	dtype                                   string
	tp, pp, dp, cp, microBatch, globalBatch int
	globalBatchTokens                       string
	virtualStages, zero                     int
	recompute                               string
	price, discount                         float64
	commit                                  string
	pue, grid, power                        float64
	mtbf                                    float64
	checkpoint                              time.Duration
	restartMinutes                          float64
	catalogFile, format                     string
	explain, validate                       bool
	sweep                                   string
	budget                                  string
	days                                    float64
	set                                     map[string]bool
}

func parseForecastFlags(args []string, stderr io.Writer) (*forecastOptions, error) {
	o := &forecastOptions{}
	fs := flag.NewFlagSet("flopcast forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.model, "model", "", "model preset ("+strings.Join(kernels.Presets(), ", ")+")")
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
	fs.StringVar(&o.resultsDir, "results-dir", "results", "directory searched for a results file of the chosen GPU when --from is not given")
	fs.Float64Var(&o.deviceTFLOPS, "device-tflops", 0, "sustained dense TFLOP/s of one device on large GEMMs in the training dtype")
	fs.StringVar(&o.dtype, "dtype", "bf16", "training dtype: bf16, fp16 or fp8")
	fs.IntVar(&o.tp, "tp", 0, "tensor-parallel size (default: chosen)")
	fs.IntVar(&o.pp, "pp", 0, "pipeline-parallel size (default: chosen)")
	fs.IntVar(&o.dp, "dp", 0, "data-parallel size (default: chosen)")
	fs.IntVar(&o.cp, "cp", 0, "context-parallel size (default: chosen)")
	fs.IntVar(&o.microBatch, "micro-batch", 0, "micro-batch in sequences (default: chosen)")
	fs.IntVar(&o.globalBatch, "global-batch", 0, "global batch in sequences (default: 4Mi tokens, raised to fit the data-parallel size)")
	fs.StringVar(&o.globalBatchTokens, "global-batch-tokens", "", "global batch to aim for in tokens, e.g. 16M, rounded up to fit the layout (instead of --global-batch)")
	fs.IntVar(&o.virtualStages, "virtual-stages", 0, "interleaved pipeline chunks per stage (default: chosen)")
	fs.StringVar(&o.recompute, "recompute", "", "activation recomputation: none, selective or full (default: chosen)")
	fs.IntVar(&o.zero, "zero", -1, "optimizer sharding stage 0-3 (default: chosen)")
	fs.Float64Var(&o.price, "price", 0, "USD per GPU-hour (default: the catalog's)")
	fs.Float64Var(&o.discount, "discount", 0, "fractional discount on the price, e.g. 0.2")
	fs.StringVar(&o.commit, "commit", "", "committed-use price where the catalog has one: 1y or 3y")
	fs.Float64Var(&o.pue, "pue", 0, fmt.Sprintf("power usage effectiveness (default %.1f)", forecast.DefaultPUE))
	fs.Float64Var(&o.grid, "grid-intensity", 0, fmt.Sprintf("grid carbon intensity in gCO2/kWh (default %.0f)", forecast.DefaultGridIntensity))
	fs.Float64Var(&o.power, "power", 0, "watts per GPU (default: measured in the results file, else TDP x 0.8)")
	fs.Float64Var(&o.mtbf, "mtbf-gpu-hours", 0, fmt.Sprintf("mean time between failures per GPU in hours (default %.0f, Llama 3)", forecast.DefaultMTBFGPUHours))
	fs.DurationVar(&o.checkpoint, "checkpoint-interval", 0, "time between checkpoints, e.g. 30m (default 30m)")
	fs.Float64Var(&o.restartMinutes, "restart-minutes", 0, "minutes to restart after a failure (default 10)")
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

// parseCount reads a positive count with an optional K, M, B or T suffix.
func parseCount(flagName, s string) (float64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1e3, t[:n-1]
		case 'M':
			mult, t = 1e6, t[:n-1]
		case 'B', 'G':
			mult, t = 1e9, t[:n-1]
		case 'T':
			mult, t = 1e12, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, usageError("--%s %q: not a number (suffixes K, M, B, T accepted)", flagName, s)
	}
	v *= mult
	if v <= 0 {
		return 0, usageError("--%s %s: must be > 0", flagName, s)
	}
	return v, nil
}

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
	in, err := o.input(cat)
	if err != nil {
		return err
	}
	switch {
	case o.budget != "":
		usd, err := parseCount("budget", o.budget)
		if err != nil {
			return err
		}
		if o.set["days"] && o.days <= 0 {
			return usageError("--days %g: must be > 0", o.days)
		}
		if o.days == 0 && in.GPUs == 0 {
			return usageError("--budget: give --days D or --gpus N")
		}
		b, err := forecast.Budget(in, usd, o.days)
		if err != nil {
			return forecastError(err)
		}
		return printBudget(stdout, o.format, b)
	case o.sweep != "":
		var gpus []int
		for _, f := range strings.Split(o.sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return usageError("--sweep-gpus %q: %q is not a GPU count > 0", o.sweep, f)
			}
			gpus = append(gpus, n)
		}
		rs, err := forecast.Sweep(in, gpus)
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

// input checks the flags and builds the forecast input.
func (o *forecastOptions) input(cat *catalog.Catalog) (forecast.Input, error) {
	var in forecast.Input
	// Model.
	var m kernels.Model
	switch {
	case o.model != "":
		p, err := kernels.LookupModel(o.model)
		if err != nil {
			return in, usageError("--model: %v", err)
		}
		m = p
	case o.params != "":
		n, err := parseCount("params", o.params)
		if err != nil {
			return in, err
		}
		est, note := forecast.ModelFromParams(n, o.seq, o.vocab)
		m = est
		in.Warnings = append(in.Warnings, "--params alone: "+note)
	case o.set["layers"] || o.set["hidden"]:
		m = kernels.Model{Name: "custom", Arch: kernels.Llama, Vocab: 32000, Seq: 4096, Batch: 1}
		if !o.set["vocab"] || !o.set["seq"] {
			in.Warnings = append(in.Warnings, "custom model: vocabulary 32,000 and sequence 4,096 assumed where --vocab or --seq is not given")
		}
	default:
		if o.budget != "" {
			m, _ = kernels.LookupModel("llama3-405b")
			in.Sources = append(in.Sources, "no --model: llama3-405b is the reference for the per-GPU speed")
		} else {
			return in, usageError("--model: give a preset (%s), --params, or --layers/--hidden/--heads", strings.Join(kernels.Presets(), ", "))
		}
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"layers", o.layers, &m.Layers}, {"hidden", o.hidden, &m.Hidden}, {"heads", o.heads, &m.Heads}, {"kv-heads", o.kvHeads, &m.KVHeads},
		{"ffn", o.ffn, &m.FFN}, {"vocab", o.vocab, &m.Vocab}, {"seq", o.seq, &m.Seq}} {
		if o.set[f.name] {
			if f.v <= 0 {
				return in, usageError("--%s %d: must be > 0", f.name, f.v)
			}
			*f.dst = f.v
			if o.model != "" {
				m.TotalParams, m.ActiveParams = 0, 0 // published counts no longer describe the shape
			}
		}
	}
	if m.Name == "custom" {
		if m.KVHeads == 0 {
			m.KVHeads = m.Heads
		}
		if m.FFN == 0 {
			m.FFN = 4 * m.Hidden
		}
	}
	if err := m.Validate(); err != nil {
		return in, usageError("--model: %v", err)
	}
	in.Model = m
	if o.tokens != "" {
		t, err := parseCount("tokens", o.tokens)
		if err != nil {
			return in, err
		}
		in.Tokens = t
	}
	dt, err := kernels.ParseDTypes(o.dtype)
	if err != nil || len(dt) != 1 || (dt[0] != kernels.BF16 && dt[0] != kernels.FP16 && dt[0] != kernels.FP8E4M3) {
		return in, usageError("--dtype %q: want bf16, fp16 or fp8", o.dtype)
	}
	in.DType = dt[0]
	// Hardware.
	if err := o.hardware(cat, &in); err != nil {
		return in, err
	}
	// Speed.
	if err := o.speed(cat, &in); err != nil {
		return in, err
	}
	// Layout.
	for _, f := range []struct {
		name string
		v    int
	}{{"tp", o.tp}, {"pp", o.pp}, {"dp", o.dp}, {"cp", o.cp}, {"micro-batch", o.microBatch}, {"global-batch", o.globalBatch}, {"virtual-stages", o.virtualStages}} {
		if o.set[f.name] && f.v <= 0 {
			return in, usageError("--%s %d: must be > 0", f.name, f.v)
		}
	}
	in.Layout = forecast.Layout{TP: o.tp, PP: o.pp, DP: o.dp, CP: o.cp, MicroBatch: o.microBatch, GlobalBatch: o.globalBatch, VirtualStages: o.virtualStages}
	if o.globalBatchTokens != "" {
		if o.set["global-batch"] {
			return in, usageError("--global-batch-tokens: give it or --global-batch, not both")
		}
		t, err := parseCount("global-batch-tokens", o.globalBatchTokens)
		if err != nil {
			return in, err
		}
		in.BatchTokens = int(math.Min(t, 1<<40))
	}
	if o.set["recompute"] {
		switch o.recompute {
		case "none", "selective", "full":
			in.Layout.Recompute = o.recompute
		default:
			return in, usageError("--recompute %q: want none, selective or full", o.recompute)
		}
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
	// Energy and failures.
	for _, f := range []struct {
		name string
		v    float64
	}{{"pue", o.pue}, {"grid-intensity", o.grid}, {"power", o.power}, {"mtbf-gpu-hours", o.mtbf}, {"restart-minutes", o.restartMinutes}} {
		if o.set[f.name] && (f.v <= 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0)) {
			return in, usageError("--%s %g: must be > 0", f.name, f.v)
		}
	}
	if o.set["pue"] && o.pue < 1 {
		return in, usageError("--pue %g: must be >= 1", o.pue)
	}
	if o.set["checkpoint-interval"] && o.checkpoint <= 0 {
		return in, usageError("--checkpoint-interval %v: must be > 0", o.checkpoint)
	}
	in.PUE, in.GridIntensity, in.MTBFGPUHours, in.RestartMinutes = o.pue, o.grid, o.mtbf, o.restartMinutes
	in.CheckpointMinutes = o.checkpoint.Minutes()
	if o.set["power"] {
		in.PowerW, in.PowerSource = o.power, fmt.Sprintf("power: --power %.0f W per GPU", o.power)
	}
	in.Kernels = forecast.ModernKernels
	return in, nil
}

// hardware resolves --gpu/--instance, the cluster size and the price.
func (o *forecastOptions) hardware(cat *catalog.Catalog, in *forecast.Input) error {
	if o.gpu == "" && o.instance == "" {
		return usageError("--gpu or --instance: give the hardware (see flopcast catalog)")
	}
	kind := ""
	if o.commit != "" {
		if o.commit != "1y" && o.commit != "3y" {
			return usageError("--commit %q: want 1y or 3y", o.commit)
		}
		if o.instance == "" {
			return usageError("--commit %s: needs --instance (commitment prices belong to an instance type)", o.commit)
		}
		kind = o.commit
	}
	var hw forecast.Hardware
	var src, warn []string
	perNode := 8
	if o.instance != "" {
		inst, err := cat.Instance(o.instance)
		if err != nil {
			return usageError("--instance: %v", err)
		}
		if hw, src, warn, err = forecast.InstanceHardware(cat, inst, kind); err != nil {
			return usageError("--commit: %v", err)
		}
		if o.gpu != "" {
			g, err := cat.GPU(o.gpu)
			if err != nil {
				return usageError("--gpu: %v", err)
			}
			if g.Name != hw.GPU.Name {
				return usageError("--gpu %s: the %s has %s GPUs", o.gpu, inst.Name, hw.GPU.Name)
			}
		}
		perNode = inst.GPUs
	} else {
		g, err := cat.GPU(o.gpu)
		if err != nil {
			return usageError("--gpu: %v", err)
		}
		hw, src, warn = forecast.GPUHardware(cat, g)
	}
	if o.set["gpus"] && o.gpus <= 0 {
		return usageError("--gpus %d: must be > 0", o.gpus)
	}
	if o.set["nodes"] {
		if o.nodes <= 0 {
			return usageError("--nodes %d: must be > 0", o.nodes)
		}
		if o.set["gpus"] && o.gpus != o.nodes*perNode {
			return usageError("--nodes %d x %d GPUs per node = %d, not --gpus %d", o.nodes, perNode, o.nodes*perNode, o.gpus)
		}
		o.gpus = o.nodes * perNode
	}
	in.GPUs = o.gpus
	if o.set["price"] {
		if o.price <= 0 || math.IsNaN(o.price) || math.IsInf(o.price, 0) {
			return usageError("--price %g: must be > 0", o.price)
		}
		hw.PricePerGPUHour = o.price
		src = append(src, fmt.Sprintf("price: --price $%.4g per GPU-hour", o.price))
	}
	if o.set["discount"] {
		if o.discount < 0 || o.discount >= 1 {
			return usageError("--discount %g: want a fraction in [0, 1)", o.discount)
		}
		hw.PricePerGPUHour *= 1 - o.discount
		src = append(src, fmt.Sprintf("discount %.0f %% applied: $%.4g per GPU-hour", 100*o.discount, hw.PricePerGPUHour))
	}
	in.Hardware = hw
	in.Sources = append(in.Sources, src...)
	in.Warnings = append(in.Warnings, warn...)
	return nil
}

// speed picks the per-device speed: --from, then a results file of this
// GPU under --results-dir, then --device-tflops, then the catalog.
func (o *forecastOptions) speed(cat *catalog.Catalog, in *forecast.Input) error {
	g := in.Hardware.GPU
	if o.set["device-tflops"] {
		if o.deviceTFLOPS <= 0 || math.IsNaN(o.deviceTFLOPS) || math.IsInf(o.deviceTFLOPS, 0) {
			return usageError("--device-tflops %g: must be > 0", o.deviceTFLOPS)
		}
		if peak := g.PeakTFLOPS[in.DType.String()]; peak > 0 && o.deviceTFLOPS > peak {
			return usageError("--device-tflops %g: above the %s dense %s peak of %g", o.deviceTFLOPS, g.Name, in.DType, peak)
		}
	}
	if o.from != "" {
		f, err := result.Read(o.from)
		if err != nil {
			return usageError("--from: %v", err)
		}
		name, ok := deviceOf(f)
		if !ok {
			return usageError("--from %s: no verified GEMM measurements", o.from)
		}
		matched, isGPU := cat.MatchDevice(name)
		if !isGPU || matched.Name != g.Name {
			return usageError("--from %s: measured on %q, not a %s; pass the matching --gpu/--instance, or --device-tflops", o.from, name, g.Name)
		}
		return o.useFile(f, o.from, in)
	}
	if !o.set["device-tflops"] {
		if path, f := findResults(o.resultsDir, cat, g.Name); f != nil {
			return o.useFile(f, path, in)
		}
	}
	if o.set["device-tflops"] {
		in.Speed = forecast.FixedSpeed(o.deviceTFLOPS, g)
		return nil
	}
	sp, err := forecast.CatalogSpeed(g, in.DType)
	if err != nil {
		return usageError("--dtype: %v", err)
	}
	in.Speed = sp
	in.Warnings = append(in.Warnings, fmt.Sprintf("no measured %s results (no --from, none for %s under %s/): using the catalog default speed", g.Name, g.Name, o.resultsDir))
	return nil
}

func (o *forecastOptions) useFile(f *result.File, path string, in *forecast.Input) error {
	sp, err := forecast.MeasuredSpeed(f, in.DType, in.Hardware.GPU)
	if err != nil {
		return usageError("--from %s: %v", path, err)
	}
	sp.Text += " (" + path + ")"
	for _, meas := range f.Measurements {
		if eff, ok := forecast.BlockEfficiency(in.Model, meas, sp, in.DType); ok {
			sp.StepEfficiency = eff
			sp.Text += fmt.Sprintf("; measured block step gives step efficiency %.2f", eff)
			break
		}
	}
	in.Speed = sp
	if !o.set["power"] {
		if w := medianPower(f); w > 0 {
			in.PowerW, in.PowerSource = w, fmt.Sprintf("power: %.0f W per GPU measured in %s", w, path)
		}
	}
	return nil
}

// deviceOf returns the name of the device the file's verified GEMM
// measurements ran on.
func deviceOf(f *result.File) (string, bool) {
	for _, m := range f.Measurements {
		if m.Workload != "gemm" || m.Status != result.StatusOK {
			continue
		}
		for _, d := range f.Devices {
			if d.ID == m.Device {
				return d.Name, true
			}
		}
		return m.Device, true
	}
	return "", false
}

// findResults returns the newest readable results file under dir measured
// on the catalog GPU gpu.
func findResults(dir string, cat *catalog.Catalog, gpu string) (string, *result.File) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		f, err := result.Read(p)
		if err != nil {
			continue
		}
		name, ok := deviceOf(f)
		if !ok {
			continue
		}
		if g, ok := cat.MatchDevice(name); ok && g.Name == gpu {
			return p, f
		}
	}
	return "", nil
}

func medianPower(f *result.File) float64 {
	var ws []float64
	for _, m := range f.Measurements {
		if m.StateAfter != nil && m.StateAfter.PowerW > 0 && m.Status == result.StatusOK {
			ws = append(ws, m.StateAfter.PowerW)
		}
	}
	if len(ws) == 0 {
		return 0
	}
	sort.Float64s(ws)
	return ws[len(ws)/2]
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
		{"layout", fmt.Sprintf("tp %d, pp %d, dp %d, cp %d; micro-batch %d, global batch %d seq (%s tokens); virtual stages %d; recompute %s; ZeRO-%d; %.1f GB/GPU", l.TP, l.PP, l.DP, l.CP, l.MicroBatch, l.GlobalBatch, count(float64(l.GlobalBatchTokens)), l.VirtualStages, l.Recompute, l.ZeRO, r.MemoryPerGPUGB)},
		{"step", fmt.Sprintf("%.3f s; %s steps", r.StepSeconds, count(r.Steps))},
		{"per-GPU throughput", fmt.Sprintf("%.1f TFLOP/s model FLOPs, MFU %.1f %%", r.PerGPUTFLOPS, 100*r.MFU)},
		{"time split", fmt.Sprintf("compute %.1f %%, tp comm %.1f %%, pp bubble %.1f %%, dp comm exposed %.1f %%, failures %.1f %%", 100*b.Compute, 100*b.TPComm, 100*b.PPBubble, 100*b.DPCommExposed, 100*b.Failures)},
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
	if explain {
		fmt.Fprintln(w, "\nmodel:")
		for _, line := range r.Explain {
			fmt.Fprintln(w, "  "+line)
		}
	}
	printSourcesAndWarnings(w, r.Sources, r.Warnings)
	return nil
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
	t.Header([]string{"GPUs", "layout", "step s", "TFLOP/s/GPU", "MFU", "bubble", "dp exposed", "failures", "days", "days range", "GPU-hours", "cost", "cost range"})
	for _, r := range rs {
		l := r.Layout
		if err := t.Append([]string{
			strconv.Itoa(r.GPUs), fmt.Sprintf("tp%d pp%d dp%d cp%d v%d", l.TP, l.PP, l.DP, l.CP, l.VirtualStages),
			fmt.Sprintf("%.3f", r.StepSeconds), fmt.Sprintf("%.1f", r.PerGPUTFLOPS), fmt.Sprintf("%.1f%%", 100*r.MFU),
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
		for _, s := range rs[0].Warnings {
			fmt.Fprintln(w, "warning: "+s)
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
	t.Header([]string{"run", "metric", "published", "predicted", "error", "required", "layout"})
	failed := 0
	for _, c := range checks {
		req := "report"
		if c.Tolerance > 0 {
			req = fmt.Sprintf("±%.0f%%", 100*c.Tolerance)
			if !c.Pass {
				req += " FAIL"
				failed++
			}
		}
		if err := t.Append([]string{c.ID, c.Metric, fmt.Sprintf("%.4g", c.Published), fmt.Sprintf("%.4g", c.Predicted), fmt.Sprintf("%+.1f%%", 100*c.Error), req, c.Layout}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nspeed: catalog default (MAMF) for every run; throughput rows compare the paper's own FLOP count (eq. 3, recomputation included) over the predicted step time; failures modelled only where the published figure is billed hours.")
	if failed > 0 {
		return withCode(exitFailure, fmt.Errorf("validate: %d rows outside their tolerance", failed))
	}
	return nil
}
