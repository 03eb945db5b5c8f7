package kernels

import (
	"math"
	"strings"
	"testing"
)

func TestPresetParams(t *testing.T) {
	// Published parameter counts, within 2%.
	cases := map[string]float64{
		"llama2-7b": 6.74e9, "llama2-13b": 13.0e9, "llama2-70b": 69.0e9,
		"llama3-8b": 8.03e9, "llama3-70b": 70.6e9, "llama3-405b": 405.9e9, "gpt3-175b": 174.6e9,
	}
	for name, want := range cases {
		m, err := LookupModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		total, active := m.Params()
		if math.Abs(total-want)/want > 0.02 || total != active {
			t.Errorf("%s: %.4g parameters (active %.4g), want %.4g", name, total, active, want)
		}
	}
	// DeepSeek-V3 (arXiv 2412.19437, abstract): 671B total, 37B active,
	// from its shape (latent attention, 3 dense layers, 256+1 experts),
	// within 2% (the multi-token-prediction module is not counted).
	ds, _ := LookupModel("deepseek-v3")
	if total, active := ds.Params(); math.Abs(total-671e9)/671e9 > 0.02 || math.Abs(active-37e9)/37e9 > 0.02 {
		t.Errorf("deepseek-v3: %.4g / %.4g, want 671e9 / 37e9", total, active)
	}
}

func TestTrainingFLOPsPerToken(t *testing.T) {
	m, _ := LookupModel("gpt3-175b")
	// Narayanan et al. eq. (3) without recomputation, per token:
	// 72·l·h²·(1 + s/(6h) + V/(12·l·h)) counts attention non-causally.
	l, h, s, v := 96.0, 12288.0, 2048.0, 50257.0
	want := 72 * l * h * h * (1 + s/(6*h) + v/(12*l*h))
	if got := m.TrainingFLOPsPerToken(false); math.Abs(got-want)/want > 0.01 {
		t.Errorf("gpt3 FLOPs/token %.4g, want %.4g (Megatron eq. 3)", got, want)
	}
	if full, causal := m.TrainingFLOPsPerToken(false), m.TrainingFLOPsPerToken(true); causal >= full {
		t.Errorf("causal credit %v not below full %v", causal, full)
	}
}

func TestLookupModelUnknown(t *testing.T) {
	_, err := LookupModel("llama3-7b")
	if err == nil || !strings.Contains(err.Error(), "llama3-8b") {
		t.Errorf("err = %v, want close names", err)
	}
	bad := Model{Name: "x", Layers: 1, Hidden: 100, Heads: 3, KVHeads: 1, FFN: 1, Seq: 1}
	if bad.Validate() == nil {
		t.Error("heads not dividing hidden accepted")
	}
}
