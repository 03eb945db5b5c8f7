package kernels

import (
	"errors"
	"math"
	"testing"
)

func TestBlockValidate(t *testing.T) {
	ok := BlockConfig{Arch: Llama, Hidden: 64, Heads: 4, KVHeads: 2, FFN: 176, Seq: 32, Batch: 2}
	cases := []struct {
		mod   func(c *BlockConfig)
		field string
		msg   string
	}{
		{func(c *BlockConfig) { c.Heads = 5 }, "heads", "heads 5 do not divide hidden 64"},
		{func(c *BlockConfig) { c.KVHeads = 3 }, "kv-heads", "kv-heads 3 do not divide heads 4"},
		{func(c *BlockConfig) { c.Seq = 0 }, "seq", "seq 0 must be > 0"},
		{func(c *BlockConfig) { c.Batch = 0 }, "batch", "batch 0 must be > 0"},
		{func(c *BlockConfig) { c.Hidden = -1 }, "hidden", "hidden -1 must be > 0"},
		{func(c *BlockConfig) { c.Arch = "rnn" }, "arch", `unknown arch "rnn" (known: llama, gpt)`},
		{func(c *BlockConfig) { c.Hidden, c.Heads, c.KVHeads = 12, 4, 4 }, "heads", "head dimension 3 (hidden 12 / heads 4) must be even for rotary embeddings"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid block refused: %v", err)
	}
	for _, c := range cases {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Validate()
		var be *BlockConfigError
		if !errors.As(err, &be) || be.Field != c.field || err.Error() != c.msg {
			t.Errorf("%+v: got %v, want field %s %q", cfg, err, c.field, c.msg)
		}
	}
	gpt := ok
	gpt.Arch, gpt.Hidden, gpt.Heads, gpt.KVHeads = GPT, 12, 4, 4 // odd head dim is fine without rotary
	if err := gpt.Validate(); err != nil {
		t.Errorf("gpt with odd head dim refused: %v", err)
	}
}

// TestBlockParamsMatchModel checks that the tensors the block trains are
// the layer Model.LayerParams counts.
func TestBlockParamsMatchModel(t *testing.T) {
	for _, name := range []string{"tiny", "small", "llama3-8b", "llama3-70b", "gpt3-175b"} {
		m, err := LookupModel(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, arch := range []Arch{Llama, GPT} {
			c := BlockFromModel(m)
			c.Arch = arch
			total, _ := c.Model().LayerParams()
			if got := float64(c.ParamCount()); got != total {
				t.Errorf("%s/%s: %v parameter elements, LayerParams %v", name, arch, got, total)
			}
		}
	}
}

func TestBlockStepFLOPs(t *testing.T) {
	m, _ := LookupModel("tiny")
	c := BlockFromModel(m)
	// tiny: hidden 64, kv dim 32, ffn 176, seq 32, batch 2.
	matmul := 64.0*(64+2*32) + 64*64 + 3*64*176
	want := 64 * (6*matmul + 6*32*64) // 6·seq·hidden: 12·seq·hidden halved for causal masking
	if got := c.StepFLOPs(); got != want {
		t.Errorf("tiny step FLOPs %v, want %v", got, want)
	}
	if !BlockCausalCredited {
		t.Error("the convention string says causal masking is credited")
	}
	// llama3-8b at seq 4096, batch 1: 6·(218.1M matmul params)·4096 + 6·4096·4096·4096.
	l, _ := LookupModel("llama3-8b")
	c = BlockFromModel(l)
	c.Seq = 4096
	mm := 4096.0*(4096+2*1024) + 4096*4096 + 3*4096*14336
	want = 4096 * (6*mm + 6*4096*4096)
	if got := c.StepFLOPs(); math.Abs(got-want) > 1e-9*want {
		t.Errorf("llama3-8b step FLOPs %v, want %v", got, want)
	}
}

func TestBlockMemoryEstimate(t *testing.T) {
	m, _ := LookupModel("tiny")
	c := BlockFromModel(m)
	p := c.ParamCount()
	got := c.MemoryEstimate(FP32, FP32, AttentionUnfused)
	// tokens 64: 64·(8·64 + 3·32 + 4·176) + batch·heads·seq² = 64·1312 + 2·4·1024.
	act := int64(64*(8*64+3*32+4*176) + 2*4*32*32)
	want := BlockMemory{Weights: 4 * p, Gradients: 4 * p, OptimizerStates: 8 * p, Activations: 4 * act}
	if got != want {
		t.Errorf("fp32 estimate %+v, want %+v", got, want)
	}
	mixed := c.MemoryEstimate(BF16, FP32, AttentionFlash)
	if mixed.Weights != 2*p || mixed.OptimizerStates != 12*p || mixed.Activations != 2*(64*(8*64+3*32+4*176)+2*4*32) {
		t.Errorf("bf16 estimate %+v", mixed)
	}
	if got.Total() != got.Weights+got.Gradients+got.OptimizerStates+got.Activations {
		t.Error("Total is not the sum")
	}
}

func TestParseArch(t *testing.T) {
	for in, want := range map[string]Arch{"llama": Llama, "GPT": GPT, " gpt ": GPT} {
		if a, err := ParseArch(in); err != nil || a != want {
			t.Errorf("ParseArch(%q) = %v, %v", in, a, err)
		}
	}
	if _, err := ParseArch("mamba"); err == nil {
		t.Error("mamba accepted")
	}
}
