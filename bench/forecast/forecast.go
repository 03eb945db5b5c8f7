package forecast

import (
	"errors"
	"fmt"
	"math"
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
	// PricePerGPUHour is in USD; zero when unknown.
	PricePerGPUHour float64 `json:"price_per_gpu_hour"`
}

// Defaults of the money, energy and failure models (each stated in a
// forecast's sources).
const (
	// DefaultGlobalBatchTokens is the global batch used when none is given
	// (an assumption: 4 Mi tokens; a layout's data-parallel size may raise
	// it).
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
	// DefaultCheckpointMinutes and DefaultRestartMinutes are assumptions.
	DefaultCheckpointMinutes = 30.0
	DefaultRestartMinutes    = 10.0
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
	// StepEfficiency overrides DefaultStepEfficiency (and a measured one).
	StepEfficiency float64
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
	TPComm        float64 `json:"tp_comm"`
	PPBubble      float64 `json:"pp_bubble"`
	DPCommExposed float64 `json:"dp_comm_exposed"`
	Failures      float64 `json:"failures"`
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
	// PerGPUTFLOPS is model FLOPs per second per GPU over the wall-clock
	// time without failures, the figure large-run reports publish.
	PerGPUTFLOPS float64   `json:"per_gpu_tflops"`
	MFU          float64   `json:"mfu"`
	Breakdown    Breakdown `json:"breakdown"`
	Days         float64   `json:"days"`
	DaysLow      float64   `json:"days_low"`
	DaysHigh     float64   `json:"days_high"`
	GPUHours     float64   `json:"gpu_hours"`
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
	Speed    string   `json:"speed"`
	Sources  []string `json:"sources"`
	Warnings []string `json:"warnings"`
	// Explain is the model's arithmetic with the numbers plugged in.
	Explain []string `json:"-"`
}

// ErrNoLayout is returned when no layout fits the GPUs' memory.
var ErrNoLayout = errors.New("no layout fits")

// Forecast predicts the run described by in.
func Forecast(in Input) (Result, error) {
	in, err := normalise(in)
	if err != nil {
		return Result{}, err
	}
	h := hwFor(in, in.StepEfficiency)
	l, st, err := chooseLayout(in, h)
	if err != nil {
		return Result{}, err
	}
	r := assemble(in, l, st, h)
	// Range: the same layout with the speed at its low/high spread, the
	// step efficiency at ± its uncertainty and the failure rate doubled or
	// halved.
	for _, side := range []struct {
		speed, eff, mtbf float64
	}{{in.Speed.Hi, 1 + StepEfficiencySpread, 2}, {in.Speed.Lo, 1 - StepEfficiencySpread, 0.5}} {
		alt := in
		alt.Speed = in.Speed.scaled(side.speed)
		if alt.MTBFGPUHours > 0 {
			alt.MTBFGPUHours *= side.mtbf
		}
		ah := hwFor(alt, min(0.98, in.StepEfficiency*side.eff))
		ar := assemble(alt, l, modelStep(alt.Model, l, alt.Kernels, alt.Speed, ah), ah)
		if side.mtbf > 1 {
			r.DaysLow, r.CostUSDLow = ar.Days, ar.CostUSD
		} else {
			r.DaysHigh, r.CostUSDHigh = ar.Days, ar.CostUSD
		}
	}
	return r, nil
}

// normalise fills defaults and checks the input.
func normalise(in Input) (Input, error) {
	m := in.Model
	if err := m.Validate(); err != nil {
		return in, err
	}
	_, active := m.Params()
	if in.Tokens < 0 || math.IsNaN(in.Tokens) || math.IsInf(in.Tokens, 0) {
		return in, fmt.Errorf("tokens %g must be > 0", in.Tokens)
	}
	if in.Tokens == 0 {
		in.Tokens = TokensPerParam * active
		in.Sources = append(in.Sources, fmt.Sprintf("tokens: compute-optimal %g x %.3g active parameters = %.3g (Chinchilla, Hoffmann et al. 2022)", TokensPerParam, active, in.Tokens))
	}
	if in.GPUs <= 0 {
		return in, fmt.Errorf("gpus %d must be > 0", in.GPUs)
	}
	if in.DType == 0 {
		in.DType = kernels.BF16
	}
	if in.Speed.Large <= 0 {
		return in, fmt.Errorf("no per-device speed")
	}
	if in.Hardware.Domain <= 0 {
		in.Hardware.Domain = 8
	}
	if in.StepEfficiency <= 0 {
		in.StepEfficiency = DefaultStepEfficiency
		if in.Speed.StepEfficiency > 0 {
			in.StepEfficiency = in.Speed.StepEfficiency
		}
	}
	if in.StepEfficiency > 1 {
		return in, fmt.Errorf("step efficiency %g must be <= 1", in.StepEfficiency)
	}
	if in.BatchTokens <= 0 {
		in.BatchTokens = DefaultGlobalBatchTokens
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
	if in.PUE < 1 || in.GridIntensity < 0 || in.CheckpointMinutes < 0 || in.RestartMinutes < 0 || in.PowerW < 0 {
		return in, fmt.Errorf("pue must be >= 1; grid intensity, checkpoint, restart and power >= 0")
	}
	l := in.Layout
	if l.TP < 0 || l.PP < 0 || l.DP < 0 || l.CP < 0 || l.MicroBatch < 0 || l.GlobalBatch < 0 || l.VirtualStages < 0 || l.ZeRO < 0 || l.ZeRO > 3 {
		return in, fmt.Errorf("layout %+v: values must be >= 0, zero 0..3", l)
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
	switch l.Recompute {
	case "", "none", "selective", "full":
	default:
		return in, fmt.Errorf("recompute %q: want none, selective or full", l.Recompute)
	}
	return in, nil
}

func hwFor(in Input, eff float64) hw {
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
	return hw{domain: h.Domain, intraBps: intra, interBps: inter, memoryBytes: h.GPU.MemoryGB * 1e9, elem: elem, stepEfficient: eff}
}

// Recomputes are the activation-recomputation choices.
var Recomputes = []string{"none", "selective", "full"}

// chooseLayout evaluates every layout allowed by the fixed fields and
// returns the fastest that fits in memory.
func chooseLayout(in Input, h hw) (Layout, step, error) {
	fix := in.Layout
	m := in.Model
	n := in.GPUs
	opts := func(fixed int, all []int) []int {
		if fixed > 0 {
			return []int{fixed}
		}
		return all
	}
	var tps []int
	for t := 1; t <= min(h.domain, 64, n); t *= 2 {
		if m.Heads%t == 0 {
			tps = append(tps, t)
		}
	}
	var cps []int
	for c := 1; c <= 16; c *= 2 {
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
	var best Layout
	var bestStep step
	found := false
	var smallest float64 = math.Inf(1)
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
				for _, b := range opts(fix.MicroBatch, []int{1, 2, 4, 8}) {
					gb := fix.GlobalBatch
					if gb > 0 {
						if gb%(d*b) != 0 {
							continue
						}
					} else {
						gb = ceilDiv(ceilDiv(in.BatchTokens, m.Seq), d*b) * d * b
					}
					micro := gb / (d * b)
					vs := []int{1}
					if p > 1 && m.Layers%p == 0 && micro%p == 0 {
						per := m.Layers / p
						vs = nil
						for v := 1; v <= per; v++ {
							if per%v == 0 {
								vs = append(vs, v)
							}
						}
					}
					for _, v := range opts(fix.VirtualStages, vs) {
						for _, r := range recs {
							for _, z := range zeros {
								l := Layout{TP: t, PP: p, DP: d, CP: c, MicroBatch: b, GlobalBatch: gb,
									GlobalBatchTokens: gb * m.Seq, VirtualStages: v, Recompute: r, ZeRO: z}
								st := modelStep(m, l, in.Kernels, in.Speed, h)
								smallest = min(smallest, st.memory)
								if st.memory > UsableMemory*h.memoryBytes {
									continue
								}
								if !found || st.total() < bestStep.total()*(1-1e-9) {
									best, bestStep, found = l, st, true
								}
							}
						}
					}
				}
			}
		}
	}
	if !found {
		if math.IsInf(smallest, 1) {
			return best, bestStep, fmt.Errorf("%w: no layout of %d GPUs matches tp %d, pp %d, dp %d, cp %d, micro-batch %d, global batch %d", ErrNoLayout, n, fix.TP, fix.PP, fix.DP, fix.CP, fix.MicroBatch, fix.GlobalBatch)
		}
		return best, bestStep, fmt.Errorf("%w: model %s needs at least %.0f GB per GPU in the best layout of %d GPUs, the %s has %.0f GB (%.0f %% usable)", ErrNoLayout, m.Name, smallest/1e9, n, in.Hardware.GPU.Name, h.memoryBytes/1e9, 100*UsableMemory)
	}
	return best, bestStep, nil
}

// hardwareFLOPsPerToken returns the FLOPs one token costs with the given
// recomputation: model FLOPs plus the recomputed forward work.
func hardwareFLOPsPerToken(m kernels.Model, recompute string) float64 {
	model := m.TrainingFLOPsPerToken(false)
	h := float64(m.Hidden)
	attn := 4 * float64(m.Layers) * float64(m.Seq) * h // forward attention core
	switch recompute {
	case "full":
		logits := 2 * float64(m.Vocab) * h
		return model + (model-3*logits)/3
	case "selective":
		return model + attn
	}
	return model
}

// assemble turns a layout's step into the result's figures.
func assemble(in Input, l Layout, st step, h hw) Result {
	m := in.Model
	total, active := m.Params()
	flopsTok := m.TrainingFLOPsPerToken(false)
	r := Result{
		Model: m.Name, Params: total, ActiveParams: active,
		Tokens: in.Tokens, GPUs: in.GPUs, GPU: in.Hardware.GPU.Name, Instance: in.Hardware.Instance,
		DType: in.DType.String(), Layout: l, Speed: in.Speed.Text,
		MemoryPerGPUGB: st.memory / 1e9, PricePerGPUHour: in.Hardware.PricePerGPUHour,
	}
	r.TotalFLOPs = flopsTok * in.Tokens
	r.HardwareFLOPs = hardwareFLOPsPerToken(m, l.Recompute) * in.Tokens
	r.FLOPConvention = fmt.Sprintf("model FLOPs: %.4g per token = 6 x active matmul weights + 12 x layers x seq x hidden for attention (full square, as PaLM and Megatron-LM count); recomputation not counted (hardware FLOPs with recomputation %s: %.4g)", flopsTok, l.Recompute, r.HardwareFLOPs)
	r.StepSeconds = st.total()
	tokensPerStep := float64(l.GlobalBatch * m.Seq)
	r.Steps = in.Tokens / tokensPerStep
	ideal := r.Steps * r.StepSeconds
	r.PerGPUTFLOPS = flopsTok * tokensPerStep / r.StepSeconds / float64(in.GPUs) / 1e12
	peak := in.Hardware.GPU.PeakTFLOPS[in.DType.String()]
	if peak == 0 && in.DType == kernels.BF16 {
		peak = in.Hardware.GPU.PeakTFLOPS["fp16"]
	}
	if peak > 0 {
		r.MFU = r.PerGPUTFLOPS / peak
	}
	// Failures: interruptions arrive at GPUs / MTBF per hour; each loses
	// half a checkpoint interval of work and a restart.
	var fail float64
	if in.MTBFGPUHours > 0 {
		rate := float64(in.GPUs) / in.MTBFGPUHours
		fail = rate * (in.CheckpointMinutes/2 + in.RestartMinutes) / 60
	}
	if fail >= 0.9 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("failures: %.2f interruptions per hour x %.0f min lost each leaves no progress; capped at 90 %% lost — checkpoint more often", float64(in.GPUs)/in.MTBFGPUHours, in.CheckpointMinutes/2+in.RestartMinutes))
		fail = 0.9
	}
	wall := ideal / (1 - fail)
	s := (1 - fail) / r.StepSeconds
	r.Breakdown = Breakdown{Compute: st.compute * s, TPComm: st.tpComm * s, PPBubble: st.ppBubble * s, DPCommExposed: st.dpExposed * s, Failures: fail}
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
	r.Sources = append(r.Sources, in.Sources...)
	r.Sources = append(r.Sources,
		"speed: "+in.Speed.Text,
		fmt.Sprintf("step efficiency %.2f: fraction of kernel-level speed a whole step achieves (default %.2f calibrated on Megatron-LM Table 1, Narayanan et al. 2021; range ±%.0f %%)", in.StepEfficiency, DefaultStepEfficiency, 100*StepEfficiencySpread),
		fmt.Sprintf("links: %.0f %% of nominal bandwidth achieved (assumption); intra-node %.0f GB/s per GPU per direction, inter-node %.1f GB/s per GPU", 100*LinkEfficiency, in.Hardware.IntraGBps/2, in.Hardware.InterGBps),
		fmt.Sprintf("kernels: flash attention %v, sequence parallel %v, %.0f %% of the gradient reduction overlapped with backward (assumption)", in.Kernels.FlashAttention, in.Kernels.SequenceParallel, 100*in.Kernels.GradOverlap),
		fmt.Sprintf("memory: weights, gradients and Adam states 16 bytes per parameter sharded by ZeRO stage (Rajbhandari et al. 2020), activations per Korthikanti et al. 2022, %.0f %% of GPU memory usable (assumption)", 100*UsableMemory),
		powerSrc,
		fmt.Sprintf("PUE %.2f (default %.1f, assumption); grid %.0f gCO2/kWh (default implied by Llama 2: 539 tCO2eq over 3,311,616 GPU-hours at 400 W)", in.PUE, DefaultPUE, in.GridIntensity),
	)
	if in.MTBFGPUHours > 0 {
		r.Sources = append(r.Sources, fmt.Sprintf("failures: MTBF %.0f GPU-hours per GPU (default %.0f from Llama 3: 419 unexpected interruptions in 54 days on 16,384 GPUs), checkpoint every %.0f min, restart %.0f min (assumptions)", in.MTBFGPUHours, DefaultMTBFGPUHours, in.CheckpointMinutes, in.RestartMinutes))
	} else {
		r.Sources = append(r.Sources, "failures: not modelled")
	}
	if in.Hardware.PricePerGPUHour == 0 {
		r.Warnings = append(r.Warnings, "no price known for this hardware: cost not estimated (pass --price)")
	}
	if in.Hardware.GPU.TDPW == 0 && in.PowerW == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the catalog has no TDP for %s: energy not estimated (pass --power)", in.Hardware.GPU.Name))
	}
	if m.Experts > 0 {
		r.Warnings = append(r.Warnings, "mixture of experts: compute uses the active experts, memory all experts; expert-parallel all-to-all traffic is not modelled")
	}
	if l.GlobalBatch*m.Seq > 2*in.BatchTokens && in.Layout.GlobalBatch == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("global batch raised to %d sequences (%d tokens) so every data-parallel rank gets a micro-batch", l.GlobalBatch, l.GlobalBatch*m.Seq))
	}
	if micro := l.GlobalBatch / (l.DP * l.MicroBatch); l.PP > 1 && micro < 2*l.PP {
		r.Warnings = append(r.Warnings, fmt.Sprintf("only %d micro-batches per pipeline for %d stages: the bubble is large; a larger --global-batch-tokens would shrink it", micro, l.PP))
	}
	r.Warnings = append(r.Warnings, in.Warnings...)
	r.Explain = explain(in, l, st, r, fail)
	return r
}

func euAIAct(r Result) EUAIAct {
	annex := fmt.Sprintf("Annex XI section 2(d)-(e) documentation items this forecast fills: computational resources %.3g FLOPs on %d %s GPUs (%.3g GPU-hours), training time %.1f days, estimated energy %.3g MWh.", r.TotalFLOPs, r.GPUs, r.GPU, r.GPUHours, r.Days, r.EnergyMWh)
	if r.TotalFLOPs > EUAIActThreshold {
		return EUAIAct{true, fmt.Sprintf("Training compute %.3g FLOPs exceeds 10^25: under Article 51(2) of Regulation (EU) 2024/1689 the model is presumed to have high-impact capabilities (general-purpose AI model with systemic risk). %s", r.TotalFLOPs, annex)}
	}
	return EUAIAct{false, fmt.Sprintf("Training compute %.3g FLOPs is below the 10^25 presumption threshold of Article 51(2) of Regulation (EU) 2024/1689. %s", r.TotalFLOPs, annex)}
}

func explain(in Input, l Layout, st step, r Result, fail float64) []string {
	m := in.Model
	micro := l.GlobalBatch / (l.DP * l.MicroBatch)
	lines := []string{
		fmt.Sprintf("model FLOPs per token = 6 x active matmul weights + 12 x L x s x h = %.4g (L=%d, s=%d, h=%d)", m.TrainingFLOPsPerToken(false), m.Layers, m.Seq, m.Hidden),
		fmt.Sprintf("total = FLOPs/token x tokens = %.4g x %.4g = %.4g FLOPs", m.TrainingFLOPsPerToken(false), in.Tokens, r.TotalFLOPs),
		fmt.Sprintf("layout: tp %d x pp %d x dp %d x cp %d = %d GPUs; micro-batch %d, global batch %d sequences, m = %d micro-batches per pipeline, v = %d, recompute %s, ZeRO-%d; %.1f GB per GPU", l.TP, l.PP, l.DP, l.CP, r.GPUs, l.MicroBatch, l.GlobalBatch, micro, l.VirtualStages, l.Recompute, l.ZeRO, st.memory/1e9),
		fmt.Sprintf("compute: each GEMM at the device's speed for its shape (N or K divided by tp = %d), attention core and element-wise traffic / memory bandwidth, all / step efficiency %.2f: %.4g s per step", l.TP, in.StepEfficiency, st.compute),
		fmt.Sprintf("tp comm: %s all-reduces per layer per micro-batch of b x s x h x 2 bytes, ring cost 2(t-1)/t x bytes / link bandwidth: %.4g s per step", map[bool]string{true: "6", false: "4"}[l.Recompute == "full"], st.tpComm),
		fmt.Sprintf("pp bubble: (p-1)/v x stage time = (%d-1)/%d per step, i.e. (p-1)/(v x m) = %.4f of compute, plus point-to-point sends: %.4g s", l.PP, l.VirtualStages, float64(l.PP-1)/float64(l.VirtualStages*micro), st.ppBubble),
		fmt.Sprintf("dp comm: %s x (d-1)/d x gradient bytes / inter-node bandwidth, %.0f %% overlapped with backward: %.4g s exposed", map[bool]string{true: "3", false: "2"}[l.ZeRO == 3], 100*in.Kernels.GradOverlap, st.dpExposed),
		fmt.Sprintf("step = %.4g s; steps = tokens / (global batch x s) = %.4g; per-GPU = FLOPs/token x tokens per step / step / GPUs = %.1f TFLOP/s, MFU %.1f %%", r.StepSeconds, r.Steps, r.PerGPUTFLOPS, 100*r.MFU),
	}
	if in.MTBFGPUHours > 0 {
		lines = append(lines, fmt.Sprintf("failures: %d GPUs / %.0f GPU-hours MTBF = %.3f interruptions per hour x (%.0f/2 + %.0f) min = %.1f %% of wall time lost", r.GPUs, in.MTBFGPUHours, float64(r.GPUs)/in.MTBFGPUHours, in.CheckpointMinutes, in.RestartMinutes, 100*fail))
	}
	lines = append(lines,
		fmt.Sprintf("days = steps x step / (1 - failures) / 86400 = %.2f; GPU-hours = %.4g", r.Days, r.GPUHours),
		fmt.Sprintf("cost = GPU-hours x $%.4g = $%.4g", r.PricePerGPUHour, r.CostUSD),
		fmt.Sprintf("energy = GPU-hours x %.0f W x PUE %.2f = %.4g MWh; CO2 = x %.0f g/kWh = %.4g t", r.PowerWPerGPU, in.PUE, r.EnergyMWh, in.GridIntensity, r.CO2Tonnes),
	)
	return lines
}

// Sweep forecasts the same run at each GPU count; the layout is chosen
// afresh for each unless in fixes it.
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
	return out, nil
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
