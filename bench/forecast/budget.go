package forecast

import (
	"fmt"
	"math"

	"github.com/flopcast/flopcast/kernels"
)

// BudgetResult is what a budget buys on the chosen hardware.
type BudgetResult struct {
	BudgetUSD       float64 `json:"budget_usd"`
	PricePerGPUHour float64 `json:"price_per_gpu_hour"`
	GPUHours        float64 `json:"gpu_hours"`
	// Days and GPUs: the cluster the budget keeps busy for Days (when
	// given), or the GPUs asked for and the days they last.
	Days float64 `json:"days"`
	GPUs int     `json:"gpus"`
	// ReferenceModel is the model whose forecast gives the sustained
	// per-GPU speed, PerGPUTFLOPS its model FLOP/s per GPU net of
	// failures.
	ReferenceModel string  `json:"reference_model"`
	PerGPUTFLOPS   float64 `json:"per_gpu_tflops"`
	Layout         Layout  `json:"layout"`
	TotalFLOPs     float64 `json:"total_flops"`
	// OptimalParams and OptimalTokens are the compute-optimal model the
	// FLOPs train: C = 6·N·D with D = 20·N (Chinchilla).
	OptimalParams float64      `json:"optimal_params"`
	OptimalTokens float64      `json:"optimal_tokens"`
	Presets       []PresetRuns `json:"presets"`
	EUAIAct       EUAIAct      `json:"eu_ai_act"`
	Sources       []string     `json:"sources"`
	Warnings      []string     `json:"warnings"`
}

// PresetRuns is how many compute-optimal training runs of a preset the
// budget's FLOPs cover.
type PresetRuns struct {
	Name   string  `json:"name"`
	Params float64 `json:"params"`
	Tokens float64 `json:"tokens"`
	FLOPs  float64 `json:"flops"`
	Runs   float64 `json:"runs"`
}

// MaxJobGPUs is the largest single training job the budget assumes
// when the fleet is larger: Llama 3's 16,384 GPUs, the largest in the
// reference; a larger fleet runs several such jobs at once.
const MaxJobGPUs = 16384

// MaxBudgetFleet bounds the fleet a budget may imply (a billion GPUs).
const MaxBudgetFleet = 1_000_000_000

// Budget works out what usd buys with in's hardware, price and model (the
// reference for the per-GPU speed). With days > 0 the cluster size is the
// GPU-hours spread over those days (rounded down to a multiple of 64);
// otherwise in.GPUs is used.
func Budget(in Input, usd, days float64) (BudgetResult, error) {
	b := BudgetResult{BudgetUSD: usd, PricePerGPUHour: in.Hardware.PricePerGPUHour, ReferenceModel: in.Model.Name}
	if usd <= 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return b, fmt.Errorf("budget %g must be > 0", usd)
	}
	if days < 0 {
		return b, fmt.Errorf("days %g must be > 0", days)
	}
	if b.PricePerGPUHour <= 0 {
		return b, fmt.Errorf("no price for %s: pass --price", in.Hardware.GPU.Name)
	}
	b.GPUHours = usd / b.PricePerGPUHour
	if math.IsInf(b.GPUHours, 0) || math.IsNaN(b.GPUHours) || math.IsNaN(days) || math.IsInf(days, 0) {
		return b, fmt.Errorf("budget $%.4g at $%.4g per GPU-hour over %g days: not a usable figure", usd, b.PricePerGPUHour, days)
	}
	job := in.GPUs
	if days > 0 {
		if fleet := b.GPUHours / (days * 24); fleet > MaxBudgetFleet {
			return b, fmt.Errorf("budget $%.4g buys %.3g GPUs for %g days, more than %g: give more days or a smaller budget", usd, fleet, days, float64(MaxBudgetFleet))
		}
		b.GPUs = int(b.GPUHours/(days*24)) / 64 * 64
		if b.GPUs < 64 {
			b.GPUs = int(b.GPUHours / (days * 24))
		}
		if b.GPUs < 1 {
			return b, fmt.Errorf("budget $%.4g buys %.3g GPU-hours, less than one GPU for %g days", usd, b.GPUHours, days)
		}
		if job <= 0 || job > b.GPUs {
			job = min(b.GPUs, MaxJobGPUs)
		}
	} else if in.GPUs <= 0 {
		return b, fmt.Errorf("give --days or --gpus with --budget")
	} else {
		b.GPUs = in.GPUs
	}
	b.Days = b.GPUHours / float64(b.GPUs) / 24
	in.GPUs = job
	r, err := Forecast(in)
	if err != nil {
		return b, err
	}
	b.Layout = r.Layout
	b.PerGPUTFLOPS = r.PerGPUTFLOPS * (1 - r.Breakdown.Failures)
	b.TotalFLOPs = b.GPUHours * 3600 * b.PerGPUTFLOPS * 1e12
	b.OptimalParams = math.Sqrt(b.TotalFLOPs / (6 * TokensPerParam))
	b.OptimalTokens = TokensPerParam * b.OptimalParams
	for _, name := range kernels.Presets() {
		m, err := kernels.LookupModel(name)
		if err != nil || m.Layers < 8 {
			continue // test shapes
		}
		_, active := m.Params()
		tokens := TokensPerParam * active
		fl := m.TrainingFLOPsPerToken(false) * tokens
		b.Presets = append(b.Presets, PresetRuns{Name: name, Params: active, Tokens: tokens, FLOPs: fl, Runs: b.TotalFLOPs / fl})
	}
	b.EUAIAct = EUAIAct{b.OptimalParams > 0 && b.TotalFLOPs > EUAIActThreshold, ""}
	if b.EUAIAct.Exceeds1e25FLOPs {
		b.EUAIAct.Text = fmt.Sprintf("The budget's %.3g FLOPs spent on one model exceed 10^25: presumed high-impact capabilities under Article 51(2) of Regulation (EU) 2024/1689; a single run above %.3g GPU-hours at this speed crosses the threshold.", b.TotalFLOPs, EUAIActThreshold/(b.PerGPUTFLOPS*1e12)/3600)
	} else {
		b.EUAIAct.Text = fmt.Sprintf("The budget's %.3g FLOPs stay below the 10^25 presumption threshold of Article 51(2) of Regulation (EU) 2024/1689.", b.TotalFLOPs)
	}
	b.Sources = append([]string{
		fmt.Sprintf("per-GPU speed: forecast of one %s job on %d GPUs (%.1f TFLOP/s model FLOPs, %.1f %% lost to failures); a fleet larger than %d GPUs is taken to run several jobs", in.Model.Name, job, r.PerGPUTFLOPS, 100*r.Breakdown.Failures, MaxJobGPUs),
		"compute-optimal: C = 6·N·D with D = 20·N (Chinchilla, Hoffmann et al. 2022); preset runs use 20 tokens per active parameter",
	}, r.Sources...)
	b.Warnings = r.Warnings
	return b, nil
}
