package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/kernels"
)

// Hardware is the GPU and its surroundings: node size, links and price.
type Hardware struct {
	GPU catalog.GPU `json:"gpu"`
	// Instance is the catalog instance name; empty when only a GPU is given.
	Instance string `json:"instance,omitempty"`
	// Domain is the number of GPUs sharing the fast intra-node link (the
	// largest tensor-parallel group kept on it).
	Domain int `json:"domain"`
	// IntraGBps is the bidirectional intra-node bandwidth per GPU (GB/s).
	IntraGBps float64 `json:"intra_gbps"`
	// InterGBps is the inter-node bandwidth per GPU per direction (GB/s).
	InterGBps float64 `json:"inter_gbps"`
	// AllToAllIntraGBps and AllToAllInterGBps, when > 0, are all-to-all
	// bus bandwidths a fleet run measured (GB/s, nccl-tests' busbw: what
	// a collective achieves, so LinkEfficiency is not applied to them):
	// the expert-parallel all-to-all is priced at them instead of at the
	// two links above, inside a node and across nodes. Zero: not measured.
	AllToAllIntraGBps float64 `json:"all_to_all_intra_gbps,omitempty"`
	AllToAllInterGBps float64 `json:"all_to_all_inter_gbps,omitempty"`
	// PricePerGPUHour is in USD; zero when unknown.
	PricePerGPUHour float64 `json:"price_per_gpu_hour"`
}

// Defaults of the money, energy and failure models (each stated in a
// forecast's sources).
const (
	// DefaultGlobalBatchTokens is the least global batch used when none
	// is given (an assumption: 4 Mi tokens); it grows with the cluster to
	// MinTokensPerGPU per GPU, and a layout's data-parallel size may raise
	// it to whole micro-batches.
	DefaultGlobalBatchTokens = 1 << 22
	// TokensPerParam is Chinchilla's compute-optimal ratio (Hoffmann et
	// al. 2022).
	TokensPerParam = 20.0
	// DefaultUtilisation is the average fraction of TDP a GPU draws in
	// training (assumption; BLOOM's 433 MWh over 1,082,990 A100 hours is
	// 400 W per GPU-hour, TDP, facility included).
	DefaultUtilisation = 0.8
	// DefaultPUE is the data centre's power usage effectiveness
	// (assumption).
	DefaultPUE = 1.2
	// DefaultGridIntensity in gCO2/kWh is the one Llama 2's figures imply:
	// 539 tCO2eq over 3,311,616 A100-hours at 400 W.
	DefaultGridIntensity = 539e6 / (3311616 * 0.4)
	// DefaultMTBFGPUHours is derived from Llama 3's 419 unexpected
	// interruptions in 54 days on 16,384 H100s: 16,384 x 54 x 24 / 419.
	DefaultMTBFGPUHours = 16384 * 54 * 24 / 419.0
	// DefaultCheckpointMinutes, DefaultDetectMinutes and
	// DefaultRestartMinutes: each failure loses half a checkpoint interval,
	// the detection and the restart, 17.5 min in all, so that Llama 3's
	// interruption rate gives its published "above 90 %" effective
	// training time at 16,384 GPUs (90.6 %); MegaScale (arXiv 2402.15627,
	// section 6) reports detection under 10 min and catch-up within 15.
	DefaultCheckpointMinutes = 15.0
	DefaultDetectMinutes     = 5.0
	DefaultRestartMinutes    = 5.0
	// MinTokensPerGPU is the floor of the default global batch per GPU:
	// Llama 3 405B trained with 16M-token batches on 16,384 GPUs (arXiv
	// 2407.21783, Table 4), 1,024 tokens per GPU.
	MinTokensPerGPU = 1024
	// MaxGPUs bounds the cluster a forecast accepts.
	MaxGPUs = 10_000_000
	// EUAIActThreshold is Article 51(2)'s presumption threshold in FLOPs.
	EUAIActThreshold = 1e25
)

// Input is everything a forecast needs. Zero values of Layout fields are
// chosen by the search; zero values elsewhere take the stated defaults.
type Input struct {
	Model kernels.Model
	// Tokens to train on; zero means compute-optimal (TokensPerParam x
	// active parameters).
	Tokens   float64
	GPUs     int
	Hardware Hardware
	Speed    Speed
	DType    kernels.DType
	Layout   Layout
	// BatchTokens is the global batch to aim for in tokens when
	// Layout.GlobalBatch is zero (default DefaultGlobalBatchTokens); each
	// layout rounds it up to a multiple of dp x micro-batch.
	BatchTokens int
	// FixZeRO says Layout.ZeRO is given (zero is otherwise "choose").
	FixZeRO bool
	Kernels Kernels
	// LinearSpeed, when its Large is > 0, is the speed of the linear-layer
	// GEMMs (fp8 training: the fp8 rate) while Speed prices the attention
	// core, the output layer and element-wise work (bf16).
	LinearSpeed Speed
	// StepEfficiency overrides the step efficiency of the GPU's
	// generation (and a measured one).
	StepEfficiency float64
	// MoENodeLimit is the number of nodes one token's experts may span
	// (node-limited routing, DeepSeek-V3: 4); zero: no limit.
	MoENodeLimit int
	// Jitter is the relative spread of a GPU's step time behind the
	// scale-loss term; zero is DefaultJitter, negative disables it.
	Jitter float64
	// DetectMinutes is the time to detect a failure (default
	// DefaultDetectMinutes); CheckpointWriteMinutes the time a
	// checkpoint stalls training (default 0: asynchronous checkpoints).
	DetectMinutes          float64
	CheckpointWriteMinutes float64
	// PowerW is the measured or given draw per GPU; zero: TDP x
	// DefaultUtilisation.
	PowerW        float64
	PowerSource   string
	PUE           float64
	GridIntensity float64
	// MTBFGPUHours is the mean time between failures of one GPU; zero is
	// the default, negative disables the failure model.
	MTBFGPUHours      float64
	CheckpointMinutes float64
	RestartMinutes    float64
	// Sources and Warnings from the caller are carried into the result.
	Sources  []string
	Warnings []string
}

// Breakdown splits wall-clock time by cause; the fractions sum to 1.
type Breakdown struct {
	Compute       float64 `json:"compute"`
	Recompute     float64 `json:"recompute"`
	TPComm        float64 `json:"tp_comm"`
	CPComm        float64 `json:"cp_comm"`
	EPComm        float64 `json:"ep_comm"`
	PPBubble      float64 `json:"pp_bubble"`
	DPCommExposed float64 `json:"dp_comm_exposed"`
	// ScaleLoss is the time lost waiting for the slowest GPU (stragglers).
	ScaleLoss float64 `json:"scale_loss"`
	Failures  float64 `json:"failures"`
}

// EUAIAct is the run's position under Regulation (EU) 2024/1689.
type EUAIAct struct {
	Exceeds1e25FLOPs bool   `json:"exceeds_1e25_flops"`
	Text             string `json:"text"`
}

// Result is a forecast: the JSON contract of "flopcast forecast".
type Result struct {
	Model          string  `json:"model"`
	Params         float64 `json:"params"`
	ActiveParams   float64 `json:"active_params"`
	TotalFLOPs     float64 `json:"total_flops"`
	HardwareFLOPs  float64 `json:"hardware_flops"`
	FLOPConvention string  `json:"flop_convention"`
	Tokens         float64 `json:"tokens"`
	GPUs           int     `json:"gpus"`
	GPU            string  `json:"gpu"`
	Instance       string  `json:"instance,omitempty"`
	DType          string  `json:"dtype"`
	Layout         Layout  `json:"layout"`
	// MemoryPerGPUGB is the layout's estimated peak memory per GPU.
	MemoryPerGPUGB float64 `json:"memory_per_gpu_gb"`
	StepSeconds    float64 `json:"step_seconds"`
	Steps          float64 `json:"steps"`
	// TokensPerSecondPerGPU is the global batch's tokens over the step
	// time and the GPUs (failures excluded), the figure recent
	// benchmark tables publish.
	TokensPerSecondPerGPU float64 `json:"tokens_per_second_per_gpu"`
	// PerGPUTFLOPS is model FLOPs per second per GPU over the wall-clock
	// time without failures, the figure large-run reports publish.
	PerGPUTFLOPS float64 `json:"per_gpu_tflops"`
	// MFU is over the dense peak of the training dtype; MFUBF16 over the
	// bf16 peak (they differ for fp8 training).
	MFU       float64   `json:"mfu"`
	MFUBF16   float64   `json:"mfu_bf16"`
	Breakdown Breakdown `json:"breakdown"`
	// StepEfficiency is the efficiency used and where it comes from.
	StepEfficiency float64 `json:"step_efficiency"`
	Days           float64 `json:"days"`
	DaysLow        float64 `json:"days_low"`
	DaysHigh       float64 `json:"days_high"`
	GPUHours       float64 `json:"gpu_hours"`
	// CostUSD is zero when no price is known.
	CostUSD         float64 `json:"cost_usd"`
	CostUSDLow      float64 `json:"cost_usd_low"`
	CostUSDHigh     float64 `json:"cost_usd_high"`
	PricePerGPUHour float64 `json:"price_per_gpu_hour"`
	PowerWPerGPU    float64 `json:"power_w_per_gpu"`
	EnergyMWh       float64 `json:"energy_mwh"`
	CO2Tonnes       float64 `json:"co2_tonnes"`
	EUAIAct         EUAIAct `json:"eu_ai_act"`
	// Speed says which per-device speed was used.
	Speed string `json:"speed"`
	// Constraints says what memory forced (recomputation, a layout).
	Constraints []string `json:"constraints,omitempty"`
	Sources     []string `json:"sources"`
	Warnings    []string `json:"warnings"`
	// Explain is the model's arithmetic with the numbers plugged in.
	Explain []string `json:"-"`
}

// ModelLimits are the largest model dimensions a forecast accepts, by the
// command-line flag's name: beyond them the layout search and the step
// model stop being meaningful (and some products would overflow).
var ModelLimits = map[string]int{"layers": 100_000, "hidden": 1 << 20, "heads": 1 << 16, "kv-heads": 1 << 16, "ffn": 1 << 22, "vocab": 1 << 24, "seq": 1 << 24}

// ErrNoLayout is returned when no layout fits the GPUs' memory.
var ErrNoLayout = errors.New("no layout fits")

// Forecast predicts the run described by in.
func Forecast(in Input) (Result, error) {
	in, err := normalise(in)
	if err != nil {
		return Result{}, err
	}
	e := envFor(in, in.StepEfficiency)
	l, st, notes, err := chooseLayout(in, e)
	if err != nil {
		return Result{}, err
	}
	r := assemble(in, l, st, e)
	r.Constraints = notes
	r.Explain = explain(in, l, st, r, e) // of the forecast only, not of its range
	// Range: the same layout with the speed at its low/high spread, the
	// step efficiency at ± its uncertainty and the failure rate doubled or
	// halved.
	for _, side := range []struct {
		speed, eff, mtbf float64
	}{{in.Speed.Hi, 1 + StepEfficiencySpread, 2}, {in.Speed.Lo, 1 - StepEfficiencySpread, 0.5}} {
		alt := in
		alt.Speed = in.Speed.scaled(side.speed)
		alt.LinearSpeed = in.LinearSpeed.scaled(side.speed)
		if alt.MTBFGPUHours > 0 {
			alt.MTBFGPUHours *= side.mtbf
		}
		ae := envFor(alt, min(0.98, in.StepEfficiency*side.eff))
		ar := assemble(alt, l, ae.modelStep(l), ae)
		if side.mtbf > 1 {
			r.DaysLow, r.CostUSDLow = ar.Days, ar.CostUSD
		} else {
			r.DaysHigh, r.CostUSDHigh = ar.Days, ar.CostUSD
		}
	}
	if err := r.check(); err != nil {
		return Result{}, err
	}
	return r, nil
}

// check refuses a result with a non-finite or negative figure.
func (r Result) check() error {
	for name, v := range map[string]float64{"days": r.Days, "cost": r.CostUSD, "gpu-hours": r.GPUHours, "step": r.StepSeconds,
		"energy": r.EnergyMWh, "days range": r.DaysHigh, "cost range": r.CostUSDHigh, "tflops": r.PerGPUTFLOPS} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e30 {
			return fmt.Errorf("the forecast's %s is %g: the inputs are beyond what the model can describe", name, v)
		}
	}
	return nil
}

// normalise fills defaults and checks the input.
func normalise(in Input) (Input, error) {
	m := in.Model
	if err := m.Validate(); err != nil {
		return in, err
	}
	for _, f := range []struct {
		name     string
		v, limit int
	}{{"layers", m.Layers, ModelLimits["layers"]}, {"hidden", m.Hidden, ModelLimits["hidden"]}, {"heads", m.Heads, ModelLimits["heads"]},
		{"ffn", m.FFN, ModelLimits["ffn"]}, {"vocab", m.Vocab, ModelLimits["vocab"]}, {"seq", m.Seq, ModelLimits["seq"]}} {
		if f.v > f.limit {
			return in, fmt.Errorf("%s %d: more than %d, beyond any model this forecast describes", f.name, f.v, f.limit)
		}
	}
	_, active := m.Params()
	if in.Tokens < 0 || math.IsNaN(in.Tokens) || math.IsInf(in.Tokens, 0) || in.Tokens > 1e18 {
		return in, fmt.Errorf("tokens %g must be > 0 and at most 1e18", in.Tokens)
	}
	if in.Tokens == 0 {
		in.Tokens = TokensPerParam * active
		in.Sources = append(in.Sources, fmt.Sprintf("tokens: compute-optimal %g x %.3g active parameters = %.3g (Chinchilla, Hoffmann et al. 2022)", TokensPerParam, active, in.Tokens))
	}
	if in.GPUs <= 0 {
		return in, fmt.Errorf("gpus %d must be > 0", in.GPUs)
	}
	if in.GPUs > MaxGPUs {
		return in, fmt.Errorf("gpus %d: more than %d, beyond any cluster this forecast describes", in.GPUs, MaxGPUs)
	}
	if in.DType == 0 {
		in.DType = kernels.BF16
	}
	if in.Speed.Large <= 0 || math.IsNaN(in.Speed.Large) || math.IsInf(in.Speed.Large, 0) {
		return in, fmt.Errorf("no per-device speed")
	}
	if in.Speed.Large < 1e9 {
		return in, fmt.Errorf("per-device speed %.3g FLOP/s: below 1 GFLOP/s, no training run finishes", in.Speed.Large)
	}
	if in.LinearSpeed.Large <= 0 {
		in.LinearSpeed = in.Speed
	}
	if in.Hardware.Domain <= 0 {
		in.Hardware.Domain = 8
	}
	if in.StepEfficiency <= 0 {
		eff, src := StepEfficiencyFor(in.Hardware.GPU.Name)
		in.StepEfficiency = eff
		if in.Speed.StepEfficiency > 0 {
			in.StepEfficiency = in.Speed.StepEfficiency
			src = "measured in a block step of the results file"
		}
		in.Sources = append(in.Sources, fmt.Sprintf("step efficiency %.2f: %s", in.StepEfficiency, src))
	} else {
		in.Sources = append(in.Sources, fmt.Sprintf("step efficiency %.2f: given", in.StepEfficiency))
	}
	if in.StepEfficiency > 1 || math.IsNaN(in.StepEfficiency) {
		return in, fmt.Errorf("step efficiency %g must be <= 1", in.StepEfficiency)
	}
	if in.BatchTokens < 0 || in.BatchTokens > 1<<36 {
		return in, fmt.Errorf("global batch %d tokens: want 1 to %d", in.BatchTokens, 1<<36)
	}
	if in.BatchTokens == 0 {
		in.BatchTokens = max(DefaultGlobalBatchTokens, MinTokensPerGPU*in.GPUs)
		in.Sources = append(in.Sources, fmt.Sprintf("global batch: %d tokens aimed for, the larger of 4Mi tokens and %d tokens per GPU (Llama 3 405B: 16M tokens on 16,384 GPUs); rounded up to whole micro-batches per data-parallel rank", in.BatchTokens, MinTokensPerGPU))
	}
	if in.PUE == 0 {
		in.PUE = DefaultPUE
	}
	if in.GridIntensity == 0 {
		in.GridIntensity = DefaultGridIntensity
	}
	if in.MTBFGPUHours == 0 {
		in.MTBFGPUHours = DefaultMTBFGPUHours
	}
	if in.CheckpointMinutes == 0 {
		in.CheckpointMinutes = DefaultCheckpointMinutes
	}
	if in.RestartMinutes == 0 {
		in.RestartMinutes = DefaultRestartMinutes
	}
	if in.DetectMinutes == 0 {
		in.DetectMinutes = DefaultDetectMinutes
	}
	if in.Jitter == 0 {
		in.Jitter = DefaultJitter
	}
	for name, v := range map[string]float64{"pue": in.PUE, "grid intensity": in.GridIntensity, "checkpoint interval": in.CheckpointMinutes,
		"restart": in.RestartMinutes, "detect": in.DetectMinutes, "power": in.PowerW, "mtbf": in.MTBFGPUHours, "checkpoint write": in.CheckpointWriteMinutes} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e12 {
			return in, fmt.Errorf("%s %g: not a usable number", name, v)
		}
	}
	if in.PUE < 1 || in.GridIntensity < 0 || in.CheckpointMinutes < 0 || in.RestartMinutes < 0 || in.PowerW < 0 || in.DetectMinutes < 0 || in.CheckpointWriteMinutes < 0 {
		return in, fmt.Errorf("pue must be >= 1; grid intensity, checkpoint, restart, detection and power >= 0")
	}
	k := in.Kernels
	for name, v := range map[string]float64{"grad overlap": k.GradOverlap, "tp overlap": k.TPOverlap, "cp overlap": k.CPOverlap, "ep overlap": k.EPOverlap, "pp overlap": k.PPOverlap} {
		if !(v >= 0 && v <= 1) {
			return in, fmt.Errorf("%s %g: want a fraction in [0, 1]", name, v)
		}
	}
	if !(k.SMReserve >= 0 && k.SMReserve < 0.9) {
		return in, fmt.Errorf("sm reserve %g: want a fraction in [0, 0.9)", k.SMReserve)
	}
	l := in.Layout
	if l.TP < 0 || l.PP < 0 || l.DP < 0 || l.CP < 0 || l.EP < 0 || l.MicroBatch < 0 || l.GlobalBatch < 0 || l.VirtualStages < 0 || l.ZeRO < 0 || l.ZeRO > 3 {
		return in, fmt.Errorf("layout %+v: values must be >= 0, zero 0..3", l)
	}
	for name, v := range map[string]int{"tp": l.TP, "pp": l.PP, "dp": l.DP, "cp": l.CP, "ep": l.EP, "micro-batch": l.MicroBatch, "virtual stages": l.VirtualStages} {
		if v > in.GPUs && name != "micro-batch" && name != "virtual stages" {
			return in, fmt.Errorf("%s %d is more than the %d GPUs", name, v, in.GPUs)
		}
		if v > 1<<20 {
			return in, fmt.Errorf("%s %d: too large", name, v)
		}
	}
	if l.GlobalBatch > 0 && float64(l.GlobalBatch)*float64(m.Seq) > 1<<36 {
		return in, fmt.Errorf("global batch %d sequences x %d tokens: more than %d tokens per step", l.GlobalBatch, m.Seq, int64(1)<<36)
	}
	if l.TP > 0 && l.PP > 0 && l.DP > 0 && max(l.CP, 1)*l.TP*l.PP*l.DP != in.GPUs {
		return in, fmt.Errorf("layout tp %d x pp %d x dp %d x cp %d = %d, not the %d GPUs", l.TP, l.PP, l.DP, max(l.CP, 1), max(l.CP, 1)*l.TP*l.PP*l.DP, in.GPUs)
	}
	if n := max(l.TP, 1) * max(l.PP, 1) * max(l.DP, 1) * max(l.CP, 1); n > in.GPUs || in.GPUs%n != 0 {
		return in, fmt.Errorf("layout tp %d x pp %d x dp %d x cp %d does not divide the %d GPUs", max(l.TP, 1), max(l.PP, 1), max(l.DP, 1), max(l.CP, 1), in.GPUs)
	}
	if l.TP > in.Hardware.Domain && in.Hardware.Instance != "" {
		return in, fmt.Errorf("tp %d is larger than the %d GPUs that share a %s node's link", l.TP, in.Hardware.Domain, in.Hardware.Instance)
	}
	if l.PP > m.Layers {
		return in, fmt.Errorf("pp %d is more than the model's %d layers", l.PP, m.Layers)
	}
	a := archOf(m)
	if l.EP > 1 && (a.experts == 0 || a.experts%l.EP != 0) {
		return in, fmt.Errorf("ep %d: the model has %d routed experts (ep must divide them)", l.EP, a.experts)
	}
	if l.Schedule != "" && !slices.Contains(Schedules, l.Schedule) {
		return in, fmt.Errorf("schedule %q: want 1f1b, interleaved, zero-bubble or dualpipe", l.Schedule)
	}
	if l.Schedule == "dualpipe" && l.PP > 0 && l.PP%2 != 0 {
		return in, fmt.Errorf("schedule dualpipe needs an even pp, not %d", l.PP)
	}
	if l.Recompute != "" && !slices.Contains(Recomputes, l.Recompute) {
		return in, fmt.Errorf("recompute %q: want none, selective, op or full", l.Recompute)
	}
	return in, nil
}

func envFor(in Input, eff float64) env {
	h := in.Hardware
	intra := h.IntraGBps / 2 * 1e9 * LinkEfficiency
	inter := h.InterGBps * 1e9 * LinkEfficiency
	if intra <= 0 {
		intra = inter
	}
	if inter <= 0 {
		inter = intra
	}
	elem := in.DType.Size()
	lin := elem
	if elem < 2 {
		elem = 2 // attention and the output layer stay in bf16
	}
	jit := in.Jitter
	if jit < 0 {
		jit = 0
	}
	return env{m: in.Model, a: archOf(in.Model), k: in.Kernels, sp: in.Speed, lsp: in.LinearSpeed, nodeLimit: in.MoENodeLimit, gpus: in.GPUs, jitter: jit,
		h: hw{domain: h.Domain, intraBps: intra, interBps: inter, a2aIntraBps: h.AllToAllIntraGBps * 1e9, a2aInterBps: h.AllToAllInterGBps * 1e9,
			memoryBytes: h.GPU.MemoryGB * 1e9, elem: elem, linElem: lin, stepEfficient: eff}}
}

// Recomputes are the activation-recomputation choices.
var Recomputes = []string{"none", "selective", "op", "full"}

// chooseLayout evaluates every layout allowed by the fixed fields and
// returns the one with the least time per token that fits in memory,
// with notes on what memory forced.
func chooseLayout(in Input, e env) (Layout, step, []string, error) {
	fix := in.Layout
	m := in.Model
	a := e.a
	n := in.GPUs
	opts := func(fixed int, all []int) []int {
		if fixed > 0 {
			return []int{fixed}
		}
		return all
	}
	var tps []int
	for t := 1; t <= min(e.h.domain, 64, n); t *= 2 {
		if m.Heads%t == 0 {
			tps = append(tps, t)
		}
	}
	var cps []int
	for c := 1; c <= 32; c *= 2 {
		if m.Seq%c == 0 && (c == 1 || m.Seq/c >= 4096) {
			cps = append(cps, c)
		}
	}
	recs := Recomputes
	if fix.Recompute != "" {
		recs = []string{fix.Recompute}
	}
	zeros := []int{0, 1, 2, 3}
	if in.FixZeRO || fix.ZeRO > 0 {
		zeros = []int{fix.ZeRO}
	}
	scheds := []string{"1f1b", "interleaved"}
	if fix.Schedule != "" {
		scheds = []string{fix.Schedule}
	}
	type pick struct {
		l     Layout
		st    step
		cost  float64
		found bool
	}
	var best, free, noRecompute pick
	smallest, smallestNone := math.Inf(1), math.Inf(1)
	consider := func(l Layout, st step, p *pick, fits bool) {
		if !fits {
			return
		}
		c := st.total() / float64(l.GlobalBatch*m.Seq)
		if !p.found || c < p.cost*(1-1e-9) {
			*p = pick{l, st, c, true}
		}
	}
	for _, t := range opts(fix.TP, tps) {
		for _, c := range opts(fix.CP, cps) {
			if n%(t*c) != 0 {
				continue
			}
			rest := n / (t * c)
			var pps []int
			for p := 1; p <= min(rest, m.Layers); p++ {
				if rest%p == 0 {
					pps = append(pps, p)
				}
			}
			for _, p := range opts(fix.PP, pps) {
				if rest%p != 0 {
					continue
				}
				d := rest / p
				if fix.DP > 0 && fix.DP != d {
					continue
				}
				eps := []int{1}
				if a.experts > 0 {
					eps = nil
					for ep := 1; ep <= a.experts && ep <= d*t*c; ep *= 2 {
						if a.experts%ep == 0 && (d*t*c)%ep == 0 {
							eps = append(eps, ep)
						}
					}
				}
				mbs := []int{1, 2, 4, 8}
				if gb := fix.GlobalBatch; gb > 0 && gb%d == 0 {
					// A given batch: every micro-batch that divides a
					// rank's share, up to 64 sequences.
					mbs = nil
					for b := 1; b <= min(gb/d, 64); b++ {
						if (gb/d)%b == 0 {
							mbs = append(mbs, b)
						}
					}
				}
				for _, ep := range opts(fix.EP, eps) {
					if (d*t*c)%ep != 0 {
						continue
					}
					for _, b := range opts(fix.MicroBatch, mbs) {
						gb := fix.GlobalBatch
						if gb > 0 {
							if gb%(d*b) != 0 {
								continue
							}
						} else {
							// The batch may grow to whole micro-batches, but a
							// micro-batch larger than a rank's share of the
							// batch aimed for would inflate it: skipped.
							target := ceilDiv(in.BatchTokens, m.Seq)
							if b > 1 && d*b > max(target, d) {
								continue
							}
							gb = ceilDiv(target, d*b) * d * b
						}
						for _, sch := range scheds {
							var vs []int
							switch {
							case p == 1 && sch != "1f1b":
								continue
							case sch == "interleaved":
								for v := 2; v <= min(m.Layers/p, 16); v++ {
									vs = append(vs, v)
								}
							case sch == "dualpipe":
								if p%2 != 0 || m.Layers < 2*p {
									continue
								}
								vs = []int{2}
							default:
								vs = []int{1}
							}
							for _, v := range opts(fix.VirtualStages, vs) {
								for _, r := range recs {
									for _, z := range zeros {
										l := Layout{TP: t, PP: p, DP: d, CP: c, EP: ep, MicroBatch: b, GlobalBatch: gb, GlobalBatchTokens: gb * m.Seq,
											Schedule: sch, VirtualStages: v, Recompute: r, ZeRO: z}
										dense := e.layer(l, false)
										var moe cost
										if a.moeLayers > 0 {
											moe = e.layer(l, true)
										}
										mem := e.memory(l, dense, moe, float64(gb)/float64(d*b))
										smallest = min(smallest, mem)
										if r == "none" {
											smallestNone = min(smallestNone, mem)
										}
										fits := mem <= UsableMemory*e.h.memoryBytes
										if !fits && free.found {
											// Only evaluate the step of a layout that does
											// not fit when it might be the fastest of all.
											continue
										}
										st := e.modelStep(l)
										consider(l, st, &best, fits)
										consider(l, st, &free, true)
										if r == "none" {
											consider(l, st, &noRecompute, fits)
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if !best.found {
		if math.IsInf(smallest, 1) {
			return Layout{}, step{}, nil, fmt.Errorf("%w: no layout of %d GPUs matches tp %d, pp %d, dp %d, cp %d, ep %d, micro-batch %d, global batch %d, schedule %q", ErrNoLayout, n, fix.TP, fix.PP, fix.DP, fix.CP, fix.EP, fix.MicroBatch, fix.GlobalBatch, fix.Schedule)
		}
		return Layout{}, step{}, nil, fmt.Errorf("%w: model %s needs at least %.0f GB per GPU in the best layout of %d GPUs, the %s has %.0f GB (%.0f %% usable)", ErrNoLayout, m.Name, smallest/1e9, n, in.Hardware.GPU.Name, e.h.memoryBytes/1e9, 100*UsableMemory)
	}
	var notes []string
	if free.found && free.cost < best.cost*(1-1e-6) {
		notes = append(notes, fmt.Sprintf("memory: the fastest layout regardless of memory (%s) needs %.1f GB per GPU, more than the %.0f GB usable; it would be %.1f %% faster", layoutString(free.l), free.st.memory/1e9, UsableMemory*e.h.memoryBytes/1e9, 100*(best.cost/free.cost-1)))
	}
	if best.l.Recompute != "none" && fix.Recompute == "" {
		usable := UsableMemory * e.h.memoryBytes / 1e9
		switch {
		case !noRecompute.found && !math.IsInf(smallestNone, 1):
			notes = append(notes, fmt.Sprintf("recomputation %s: forced by memory, no layout without recomputation fits in %.0f GB (the smallest needs %.1f GB)", best.l.Recompute, usable, smallestNone/1e9))
		case noRecompute.found:
			notes = append(notes, fmt.Sprintf("recomputation %s: chosen for speed, not memory: the best layout without it (%s, %.1f GB) is %.1f %% slower", best.l.Recompute, layoutString(noRecompute.l), noRecompute.st.memory/1e9, 100*(noRecompute.cost/best.cost-1)))
		}
	}
	return best.l, best.st, notes, nil
}

// layoutString is a compact description of a layout.
func layoutString(l Layout) string {
	s := fmt.Sprintf("tp%d pp%d dp%d cp%d", l.TP, l.PP, l.DP, l.CP)
	if l.EP > 1 {
		s += fmt.Sprintf(" ep%d", l.EP)
	}
	s += fmt.Sprintf(" mb%d %s", l.MicroBatch, l.Schedule)
	if l.VirtualStages > 1 {
		s += fmt.Sprintf(" v%d", l.VirtualStages)
	}
	return s + fmt.Sprintf(" recompute-%s zero%d", l.Recompute, l.ZeRO)
}

// hardwareFLOPsPerToken returns the FLOPs one token costs with the given
// recomputation: model FLOPs plus the recomputed forward work.
func hardwareFLOPsPerToken(m kernels.Model, recompute string) float64 {
	model := m.TrainingFLOPsPerToken(false)
	h := float64(m.Hidden)
	attn := m.AttnFLOPsPerToken(false) / 3 // forward attention core
	switch recompute {
	case "full":
		logits := 2 * float64(m.Vocab) * h
		return model + (model-3*logits)/3
	case "selective":
		return model + attn
	}
	return model
}

// failureFraction is the share of wall time lost to failures: interruptions
// arrive at GPUs / MTBF per hour and each loses half a checkpoint
// interval, the detection and the restart; a synchronous checkpoint adds
// its write time per interval (Kokolis et al. 2025's closed form,
// ETTR = (1 - rate·(restart + interval/2)) / (1 + write/interval)).
func failureFraction(in Input) float64 {
	if in.MTBFGPUHours <= 0 {
		return 0
	}
	rate := float64(in.GPUs) / in.MTBFGPUHours
	lost := rate * (in.CheckpointMinutes/2 + in.RestartMinutes + in.DetectMinutes) / 60
	ettr := (1 - lost) / (1 + in.CheckpointWriteMinutes/in.CheckpointMinutes)
	return 1 - ettr
}

// assemble turns a layout's step into the result's figures.
func assemble(in Input, l Layout, st step, e env) Result {
	m := in.Model
	total, active := m.Params()
	flopsTok := m.TrainingFLOPsPerToken(false)
	r := Result{
		Model: m.Name, Params: total, ActiveParams: active,
		Tokens: in.Tokens, GPUs: in.GPUs, GPU: in.Hardware.GPU.Name, Instance: in.Hardware.Instance,
		DType: in.DType.String(), Layout: l, Speed: in.Speed.Text, StepEfficiency: e.h.stepEfficient,
		MemoryPerGPUGB: st.memory / 1e9, PricePerGPUHour: in.Hardware.PricePerGPUHour,
	}
	if in.LinearSpeed.Text != "" && in.LinearSpeed.Text != in.Speed.Text {
		r.Speed = "linear layers: " + in.LinearSpeed.Text + "; attention, output layer and element-wise: " + in.Speed.Text
	}
	r.TotalFLOPs = flopsTok * in.Tokens
	r.HardwareFLOPs = hardwareFLOPsPerToken(m, l.Recompute) * in.Tokens
	r.FLOPConvention = fmt.Sprintf("model FLOPs: %.4g per token = 6 x active matmul weights + attention's score and value products with the model's head dimensions (12 x layers x seq x hidden for plain attention; full square, as PaLM and Megatron-LM count); recomputation not counted (hardware FLOPs with recomputation %s: %.4g)", flopsTok, l.Recompute, r.HardwareFLOPs)
	r.StepSeconds = st.total()
	tokensPerStep := float64(l.GlobalBatch * m.Seq)
	r.Steps = in.Tokens / tokensPerStep
	ideal := r.Steps * r.StepSeconds
	r.TokensPerSecondPerGPU = tokensPerStep / r.StepSeconds / float64(in.GPUs)
	r.PerGPUTFLOPS = flopsTok * tokensPerStep / r.StepSeconds / float64(in.GPUs) / 1e12
	peak := in.Hardware.GPU.PeakTFLOPS[in.DType.String()]
	bf := in.Hardware.GPU.PeakTFLOPS["bf16"]
	if bf == 0 {
		bf = in.Hardware.GPU.PeakTFLOPS["fp16"]
	}
	if peak == 0 && in.DType == kernels.BF16 {
		peak = bf
	}
	if peak > 0 {
		r.MFU = r.PerGPUTFLOPS / peak
	}
	if bf > 0 {
		r.MFUBF16 = r.PerGPUTFLOPS / bf
	}
	fail := failureFraction(in)
	if fail >= 0.9 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("failures: %.2f interruptions per hour x %.0f min lost each leaves no progress; capped at 90 %% lost — checkpoint more often", float64(in.GPUs)/in.MTBFGPUHours, in.CheckpointMinutes/2+in.RestartMinutes+in.DetectMinutes))
		fail = 0.9
	}
	wall := ideal / (1 - fail)
	s := (1 - fail) / r.StepSeconds
	r.Breakdown = Breakdown{Compute: st.compute * s, Recompute: st.recompute * s, TPComm: st.tpComm * s, CPComm: st.cpComm * s, EPComm: st.epComm * s,
		PPBubble: st.ppBubble * s, DPCommExposed: st.dpExposed * s, ScaleLoss: st.scaleLoss * s, Failures: fail}
	r.Days = wall / 86400
	r.GPUHours = wall / 3600 * float64(in.GPUs)
	r.CostUSD = r.GPUHours * in.Hardware.PricePerGPUHour
	power, powerSrc := in.PowerW, in.PowerSource
	if power == 0 {
		power = in.Hardware.GPU.TDPW * DefaultUtilisation
		powerSrc = fmt.Sprintf("power: %s TDP %.0f W x %.2f assumed average utilisation = %.0f W per GPU", in.Hardware.GPU.Name, in.Hardware.GPU.TDPW, DefaultUtilisation, power)
	}
	r.PowerWPerGPU = power
	r.EnergyMWh = r.GPUHours * power * in.PUE / 1e6
	r.CO2Tonnes = r.EnergyMWh * in.GridIntensity / 1000
	r.EUAIAct = euAIAct(r)
	k := in.Kernels
	r.Sources = append(r.Sources, in.Sources...)
	r.Sources = append(r.Sources,
		"speed: "+r.Speed,
		fmt.Sprintf("step efficiency %.2f of kernel-level speed for a whole step (range ±%.0f %%); A100 %.2f fitted on Megatron-LM Table 1 (Narayanan et al. 2021) with communication exposed, Hopper %.2f fitted on the Megatron-Core r0.8 H100 weak-scaling table with overlap modelled, Blackwell uses Hopper's (validated only)", e.h.stepEfficient, 100*StepEfficiencySpread, DefaultStepEfficiency, HopperStepEfficiency),
		fmt.Sprintf("links: %.0f %% of nominal bandwidth achieved (assumption); intra-node %.0f GB/s per GPU per direction, inter-node %.1f GB/s per GPU", 100*LinkEfficiency, in.Hardware.IntraGBps/2, in.Hardware.InterGBps),
		fmt.Sprintf("kernels: flash attention %v, sequence parallel %v; overlap assumptions (fraction of each communication hidden behind compute): dp %.2f, tp %.2f, cp %.2f, ep %.2f (DualPipe %.2f), pp sends %.2f; %.0f %% of SMs reserved for communication", k.FlashAttention, k.SequenceParallel, k.GradOverlap, k.TPOverlap, k.CPOverlap, k.EPOverlap, DualPipeEPOverlap, k.PPOverlap, 100*k.SMReserve),
		fmt.Sprintf("memory: bf16 weights and gradients, fp32 master weights and Adam moments (16 bytes per parameter, sharded by ZeRO stage; Rajbhandari et al. 2020), activations per architecture (gated MLP width, GQA/MLA K/V, dropout only where the model trains with it; stage outputs freed once sent), %.0f %% of GPU memory usable (assumption)", 100*UsableMemory),
		fmt.Sprintf("scale loss: the slowest of %d GPUs, jitter %.3f x sqrt(2 ln N) (assumption)", in.GPUs, e.jitter),
		powerSrc,
		fmt.Sprintf("PUE %.2f (default %.1f, assumption); grid %.0f gCO2/kWh (default implied by Llama 2: 539 tCO2eq over 3,311,616 GPU-hours at 400 W)", in.PUE, DefaultPUE, in.GridIntensity),
	)
	if in.MTBFGPUHours > 0 {
		r.Sources = append(r.Sources, fmt.Sprintf("failures: MTBF %.0f GPU-hours per GPU (default %.0f from Llama 3: 419 unexpected interruptions in 54 days on 16,384 GPUs); each loses half of a %.0f min checkpoint interval, %.0f min detection and %.0f min restart (defaults give Llama 3's >90 %% effective training time at 16,384 GPUs)", in.MTBFGPUHours, DefaultMTBFGPUHours, in.CheckpointMinutes, in.DetectMinutes, in.RestartMinutes))
	} else {
		r.Sources = append(r.Sources, "failures: not modelled")
	}
	if in.Hardware.PricePerGPUHour == 0 {
		r.Warnings = append(r.Warnings, "no price known for this hardware: cost not estimated (pass --price)")
	}
	if in.Hardware.GPU.TDPW == 0 && in.PowerW == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the catalog has no TDP for %s: energy not estimated (pass --power)", in.Hardware.GPU.Name))
	}
	if l.GlobalBatch*m.Seq > 2*in.BatchTokens && in.Layout.GlobalBatch == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("global batch raised to %d sequences (%d tokens) so every data-parallel rank gets a micro-batch", l.GlobalBatch, l.GlobalBatch*m.Seq))
	}
	if micro := l.GlobalBatch / (l.DP * l.MicroBatch); l.PP > 1 && micro < 2*l.PP {
		r.Warnings = append(r.Warnings, fmt.Sprintf("only %d micro-batches per pipeline for %d stages (fewer than 2 x pp): the bubble is %.1f %% of the time; a larger --global-batch-tokens would shrink it", micro, l.PP, 100*r.Breakdown.PPBubble))
	}
	r.Warnings = append(r.Warnings, in.Warnings...)
	return r
}

func euAIAct(r Result) EUAIAct {
	annex := fmt.Sprintf("Annex XI section 2(d)-(e) documentation items this forecast fills: computational resources %.3g FLOPs on %d %s GPUs (%.3g GPU-hours), training time %.1f days, estimated energy %.3g MWh.", r.TotalFLOPs, r.GPUs, r.GPU, r.GPUHours, r.Days, r.EnergyMWh)
	if r.TotalFLOPs > EUAIActThreshold {
		return EUAIAct{true, fmt.Sprintf("Training compute %.3g FLOPs exceeds 10^25: under Article 51(2) of Regulation (EU) 2024/1689 the model is presumed to have high-impact capabilities (general-purpose AI model with systemic risk). %s", r.TotalFLOPs, annex)}
	}
	return EUAIAct{false, fmt.Sprintf("Training compute %.3g FLOPs is below the 10^25 presumption threshold of Article 51(2) of Regulation (EU) 2024/1689. %s", r.TotalFLOPs, annex)}
}

// explain is the model's arithmetic for r, the forecast of in on layout l.
func explain(in Input, l Layout, st step, r Result, e env) []string {
	m := in.Model
	fail := r.Breakdown.Failures
	k := in.Kernels
	micro := l.GlobalBatch / (l.DP * l.MicroBatch)
	ov := k.EPOverlap
	if l.Schedule == "dualpipe" {
		ov = max(ov, DualPipeEPOverlap)
	}
	lines := []string{
		fmt.Sprintf("model FLOPs per token = 6 x active matmul weights + attention score and value products (12 x L x s x h for plain attention) = %.4g (L=%d, s=%d, h=%d)", m.TrainingFLOPsPerToken(false), m.Layers, m.Seq, m.Hidden),
		fmt.Sprintf("total = FLOPs/token x tokens = %.4g x %.4g = %.4g FLOPs", m.TrainingFLOPsPerToken(false), in.Tokens, r.TotalFLOPs),
		fmt.Sprintf("layout: tp %d x pp %d x dp %d x cp %d = %d GPUs, ep %d; micro-batch %d, global batch %d sequences, m = %d micro-batches per pipeline, schedule %s, v = %d, recompute %s, ZeRO-%d; %.1f GB per GPU", l.TP, l.PP, l.DP, l.CP, r.GPUs, l.EP, l.MicroBatch, l.GlobalBatch, micro, l.Schedule, l.VirtualStages, l.Recompute, l.ZeRO, st.memory/1e9),
		fmt.Sprintf("compute: each GEMM at the device's speed for its shape (N or K divided by tp = %d; routed experts at their routed tokens), attention core and element-wise traffic / memory bandwidth, all / step efficiency %.2f x (1 - sm reserve %.2f): %.4g s per step, recompute %.4g s", l.TP, e.h.stepEfficient, k.SMReserve, st.compute, st.recompute),
		fmt.Sprintf("stages: layers and the output layer split over the %d devices of the pipeline minimising the slowest (uneven stages allowed; the last stage holds fewer layers), each device's share in %d chunks; slowest device %.4g s per micro-batch", l.PP, l.VirtualStages, st.stage),
		fmt.Sprintf("tp comm: %s all-gathers + reduce-scatters per layer per micro-batch of b x s x h x 2 bytes, ring cost 2(t-1)/t x bytes / link bandwidth, %.0f %% overlapped (tp overlap, never more than the GEMMs): %.4g s exposed", map[bool]string{true: "6", false: "4"}[l.Recompute == "full"], 100*k.TPOverlap, st.tpComm),
		fmt.Sprintf("cp comm: K/V ring, (c-1) x tokens x kv width x 2 bytes per pass, 3 passes, %.0f %% overlapped with attention (load-balanced causal chunks): %.4g s exposed", 100*k.CPOverlap, st.cpComm),
		fmt.Sprintf("ep comm: dispatch + combine all-to-all per MoE layer forward and backward, tokens x topK x hidden, NVLink inside %d GPUs, network beyond with node limit %d, %.0f %% overlapped: %.4g s exposed", e.h.domain, in.MoENodeLimit, 100*ov, st.epComm),
		fmt.Sprintf("pp bubble: %s schedule, %.3g x slowest stage time ((p-1) 1f1b, (p-1)/v interleaved, (p-1)/3 zero-bubble, (p/2-1)/6 dualpipe), i.e. %.4f of compute, plus point-to-point sends %.0f %% overlapped: %.4g s", l.Schedule, bubbleStages(l.Schedule, l.PP, l.VirtualStages), bubbleStages(l.Schedule, l.PP, l.VirtualStages)/math.Max(1, float64(micro)), 100*k.PPOverlap, st.ppBubble),
		fmt.Sprintf("dp comm: reduce-scatter + all-gather (ZeRO-3: gathers every micro-batch) of (d-1)/d x bytes over the dp x cp replicas (experts over dp x tp x cp / ep), %.0f %% overlapped, at most one micro-batch's compute: %.4g s of %.4g exposed", 100*k.GradOverlap, st.dpExposed, st.dpRaw),
		fmt.Sprintf("scale loss: step x jitter %.3f x sqrt(2 ln %d) = %.4g s", e.jitter, r.GPUs, st.scaleLoss),
		fmt.Sprintf("step = %.4g s; steps = tokens / (global batch x s) = %.4g; %.0f tokens/s per GPU; per-GPU = FLOPs/token x tokens per step / step / GPUs = %.1f TFLOP/s, MFU %.1f %% (%.1f %% of bf16 peak)", r.StepSeconds, r.Steps, r.TokensPerSecondPerGPU, r.PerGPUTFLOPS, 100*r.MFU, 100*r.MFUBF16),
	}
	if in.MTBFGPUHours > 0 {
		lines = append(lines, fmt.Sprintf("failures: %d GPUs / %.0f GPU-hours MTBF = %.3f interruptions per hour x (%.0f/2 + %.0f + %.0f) min = %.1f %% of wall time lost (effective training time %.1f %%)", r.GPUs, in.MTBFGPUHours, float64(r.GPUs)/in.MTBFGPUHours, in.CheckpointMinutes, in.DetectMinutes, in.RestartMinutes, 100*fail, 100*(1-fail)))
	}
	lines = append(lines,
		fmt.Sprintf("days = steps x step / (1 - failures) / 86400 = %.2f; GPU-hours = %.4g", r.Days, r.GPUHours),
		fmt.Sprintf("cost = GPU-hours x $%.4g = $%.4g", r.PricePerGPUHour, r.CostUSD),
		fmt.Sprintf("energy = GPU-hours x %.0f W x PUE %.2f = %.4g MWh; CO2 = x %.0f g/kWh = %.4g t", r.PowerWPerGPU, in.PUE, r.EnergyMWh, in.GridIntensity, r.CO2Tonnes),
	)
	return lines
}

// Sweep forecasts the same run at each GPU count; the layout is chosen
// afresh for each unless in fixes it. Where more GPUs take more days, the
// larger run gets a warning naming the cause.
func Sweep(in Input, gpus []int) ([]Result, error) {
	var out []Result
	for _, n := range gpus {
		in.GPUs = n
		r, err := Forecast(in)
		if err != nil {
			return nil, fmt.Errorf("%d GPUs: %w", n, err)
		}
		out = append(out, r)
	}
	for i := range out {
		for j := range out {
			if out[j].GPUs < out[i].GPUs && out[i].Days > out[j].Days {
				out[i].Warnings = append(out[i].Warnings, slowerBecause(out[j], out[i]))
				break
			}
		}
	}
	return out, nil
}

// slowerBecause says why b (more GPUs) takes longer than a.
func slowerBecause(a, b Result) string {
	type part struct {
		name string
		a, b float64
	}
	secs := func(r Result, f float64) float64 { return f * r.Days * 86400 / r.Steps }
	ba, bb := a.Breakdown, b.Breakdown
	parts := []part{{"pipeline bubble", ba.PPBubble, bb.PPBubble}, {"exposed data-parallel communication", ba.DPCommExposed, bb.DPCommExposed},
		{"tensor-parallel communication", ba.TPComm, bb.TPComm}, {"expert all-to-all", ba.EPComm, bb.EPComm}, {"context-parallel exchange", ba.CPComm, bb.CPComm},
		{"failures", ba.Failures, bb.Failures}, {"scale loss", ba.ScaleLoss, bb.ScaleLoss}}
	worst, grow := parts[0], -math.MaxFloat64
	for _, p := range parts {
		// Growth of the GPU-seconds spent on this cause per token.
		g := secs(b, p.b)*float64(b.GPUs)/float64(b.Layout.GlobalBatchTokens) - secs(a, p.a)*float64(a.GPUs)/float64(a.Layout.GlobalBatchTokens)
		if g > grow {
			worst, grow = p, g
		}
	}
	return fmt.Sprintf("more GPUs, more days: %d GPUs take %.1f days against %.1f on %d, because the %s grows from %.1f %% to %.1f %% of the time (layout %s vs %s, global batch %d vs %d tokens)",
		b.GPUs, b.Days, a.Days, a.GPUs, worst.name, 100*worst.a, 100*worst.b, layoutString(b.Layout), layoutString(a.Layout), b.Layout.GlobalBatchTokens, a.Layout.GlobalBatchTokens)
}

// joinNonEmpty joins the non-empty strings.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
