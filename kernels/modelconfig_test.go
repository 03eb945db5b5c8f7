package kernels

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPresetsPublishedParams checks every embedded preset: it parses,
// validates, and its parameter count from the shape lands within 5% of the
// published one where a count is published.
func TestPresetsPublishedParams(t *testing.T) {
	type published struct {
		total, active float64
		// activeNoEmbed: the published active count leaves out the input
		// embedding (a lookup).
		activeNoEmbed bool
		source        string
	}
	pub := map[string]published{
		"llama2-7b":       {6.74e9, 0, false, "meta-llama/Llama-2-7b model card (6.74B in its safetensors)"},
		"llama2-13b":      {13.0e9, 0, false, "meta-llama/Llama-2-13b model card"},
		"llama2-70b":      {69.0e9, 0, false, "meta-llama/Llama-2-70b model card"},
		"llama3-8b":       {8.03e9, 0, false, "meta-llama/Meta-Llama-3-8B model card (8.03B)"},
		"llama3-70b":      {70.6e9, 0, false, "meta-llama/Meta-Llama-3-70B model card (70.6B)"},
		"llama3-405b":     {405.9e9, 0, false, "The Llama 3 Herd of Models (arXiv 2407.21783): 405B"},
		"gpt3-175b":       {175.0e9, 0, false, "Brown et al. 2020 (arXiv 2005.14165), Table 2.1: 175.0B"},
		"mpt-7b":          {6.7e9, 0, false, "mosaicml/mpt-7b model card: 6.7B"},
		"mpt-30b":         {29.95e9, 0, false, "mosaicml/mpt-30b model card: 29.95B"},
		"qwen3-8b":        {8.2e9, 0, false, "Qwen/Qwen3-8B model card: 8.2B"},
		"qwen3-32b":       {32.8e9, 0, false, "Qwen/Qwen3-32B model card: 32.8B"},
		"nemotron-4-340b": {341.0e9, 0, false, "Nemotron-4 340B report (arXiv 2406.11704): 9.4B embedding + 331.6B non-embedding"},
		"mixtral-8x7b":    {46.7e9, 12.9e9, false, "Mistral AI, 'Mixtral of experts' (Dec 2023): 46.7B total, 12.9B per token"},
		"mixtral-8x22b":   {141e9, 39e9, false, "Mistral AI, 'Cheaper, Better, Faster, Stronger' (Apr 2024): 141B total, 39B active"},
		"qwen3-30b-a3b":   {30.5e9, 3.3e9, false, "Qwen/Qwen3-30B-A3B model card: 30.5B total, 3.3B activated"},
		"qwen3-235b-a22b": {235e9, 22e9, false, "Qwen/Qwen3-235B-A22B model card: 235B total, 22B activated"},
		"gpt-oss-20b":     {20.91e9, 3.61e9, true, "gpt-oss model card (arXiv 2508.10925), Table 1: 20.91B total, 3.61B active"},
		"gpt-oss-120b":    {116.83e9, 5.13e9, true, "gpt-oss model card (arXiv 2508.10925), Table 1: 116.83B total, 5.13B active"},
		"deepseek-v3":     {671e9, 37e9, false, "DeepSeek-V3 technical report (arXiv 2412.19437): 671B total, 37B activated"},
	}
	for _, name := range Presets() {
		m, err := LookupModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if m.Source == "" || m.ModelType == "" {
			t.Errorf("%s: no source or model_type", name)
		}
		total, active := m.Params()
		if m.TotalParams != 0 || m.ActiveParams != 0 {
			t.Errorf("%s: preset overrides its counts; it should be described by its shape", name)
		}
		p, ok := pub[name]
		if !ok {
			continue
		}
		if math.Abs(total-p.total)/p.total > 0.05 {
			t.Errorf("%s: %.4g parameters, published %.4g (%s)", name, total, p.total, p.source)
		}
		if p.active == 0 {
			if active != total {
				t.Errorf("%s: dense model with active %.4g != total %.4g", name, active, total)
			}
			continue
		}
		if p.activeNoEmbed {
			active -= float64(m.Vocab) * float64(m.Hidden)
		}
		if math.Abs(active-p.active)/p.active > 0.05 {
			t.Errorf("%s: %.4g active parameters, published %.4g (%s)", name, active, p.active, p.source)
		}
	}
	// Every preset with a published figure is embedded.
	for name := range pub {
		if _, err := LookupModel(name); err != nil {
			t.Errorf("published figure for %s but no preset: %v", name, err)
		}
	}
}

// TestPresetFilesListed checks that every embedded config is in the preset
// order (none is silently left out) and that aliases resolve.
func TestPresetFilesListed(t *testing.T) {
	entries, err := presetFiles.ReadDir("models")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		if !slices.Contains(presetOrder, name) {
			t.Errorf("models/%s is not in presetOrder", e.Name())
		}
	}
	if len(entries) != len(presetOrder) {
		t.Errorf("%d files, %d presets", len(entries), len(presetOrder))
	}
	m, err := LookupModel("Llama3.1-405B")
	if err != nil || m.Name != "llama3-405b" {
		t.Errorf("alias: %v %v", m.Name, err)
	}
	if _, err := LookupModel("qwen3-30b"); err == nil || !strings.Contains(err.Error(), "qwen3-30b-a3b") {
		t.Errorf("close names: %v", err)
	}
}

// TestParseHFConfigFamilies parses a small config of each model_type.
func TestParseHFConfigFamilies(t *testing.T) {
	cases := []struct {
		name, cfg string
		check     func(m Model) string
	}{
		{"llama", `{"model_type":"llama","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,
			"intermediate_size":688,"vocab_size":1000,"max_position_embeddings":512,"hidden_act":"silu","_name_or_path":"my/llama"}`,
			func(m Model) string {
				if m.Name != "my/llama" || m.Layers != 2 || m.KVHeads != 2 || m.FFN != 688 || m.Seq != 512 || m.MLPActivation() != MLPSwiGLU || m.Tied() {
					return "fields"
				}
				return ""
			}},
		{"llama3.1", `{"model_type":"llama","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,
			"intermediate_size":688,"vocab_size":1000,"max_position_embeddings":131072,
			"rope_scaling":{"factor":8.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}`,
			func(m Model) string {
				if m.Seq != 8192 {
					return "pre-training length from rope_scaling"
				}
				return ""
			}},
		{"mistral", `{"model_type":"mistral","num_hidden_layers":4,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":1,
			"intermediate_size":512,"vocab_size":1000,"max_position_embeddings":8192,"sliding_window":1024}`,
			func(m Model) string {
				if m.SlidingWindow != 1024 || m.SlidingLayers != 0 {
					return "sliding window on every layer"
				}
				return ""
			}},
		{"mixtral", `{"model_type":"mixtral","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"intermediate_size":512,
			"vocab_size":1000,"max_position_embeddings":1024,"num_local_experts":8,"num_experts_per_tok":2,"sliding_window":null}`,
			func(m Model) string {
				if m.Experts != 8 || m.ActiveExperts != 2 || m.MoELayers() != 2 || m.ExpertWidth() != 512 || m.SlidingWindow != 0 || m.KVHeads != 4 {
					return "experts"
				}
				return ""
			}},
		{"qwen2", `{"model_type":"qwen2","num_hidden_layers":4,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,
			"intermediate_size":512,"vocab_size":1000,"max_position_embeddings":4096,"seq_length":2048,"tie_word_embeddings":true,
			"sliding_window":512,"use_sliding_window":false}`,
			func(m Model) string {
				if m.Seq != 2048 || !m.Tied() || m.SlidingWindow != 0 {
					return "seq_length wins, tied, window off"
				}
				return ""
			}},
		{"qwen3", `{"model_type":"qwen3","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":128,
			"intermediate_size":512,"vocab_size":1000,"max_position_embeddings":1024}`,
			func(m Model) string {
				if m.HeadDim() != 128 || m.ActivationWidths().Q != 512 || m.Validate() != nil {
					return "head_dim"
				}
				return ""
			}},
		{"qwen3_moe", `{"model_type":"qwen3_moe","num_hidden_layers":6,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,
			"head_dim":64,"intermediate_size":1024,"moe_intermediate_size":128,"num_experts":16,"num_experts_per_tok":4,
			"decoder_sparse_step":2,"mlp_only_layers":[1],"vocab_size":1000,"max_position_embeddings":1024}`,
			func(m Model) string {
				// MoE layers: (i+1)%2 == 0 and i != 1 → 3, 5.
				if m.HeadSize != 0 || m.MoELayers() != 2 || m.DenseLayers != 4 || m.ExpertWidth() != 128 || m.FFN != 1024 {
					return "sparse step and mlp_only_layers"
				}
				return ""
			}},
		{"qwen2_moe", `{"model_type":"qwen2_moe","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"intermediate_size":1024,
			"moe_intermediate_size":128,"shared_expert_intermediate_size":512,"num_experts":8,"num_experts_per_tok":2,"vocab_size":1000,"max_position_embeddings":1024}`,
			func(m Model) string {
				if m.SharedExperts != 4 {
					return "shared expert width as 4 experts"
				}
				return ""
			}},
		{"deepseek_v3", `{"model_type":"deepseek_v3","num_hidden_layers":4,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":4,
			"intermediate_size":1024,"moe_intermediate_size":64,"n_routed_experts":16,"n_shared_experts":1,"num_experts_per_tok":2,
			"first_k_dense_replace":1,"q_lora_rank":96,"kv_lora_rank":32,"qk_nope_head_dim":32,"qk_rope_head_dim":16,"v_head_dim":32,
			"head_dim":16,"vocab_size":1000,"max_position_embeddings":1024}`,
			func(m Model) string {
				if !m.IsMLA() || m.DenseLayers != 1 || m.MoELayers() != 3 || m.SharedExperts != 1 || m.HeadDim() != 48 || m.QLoRARank != 96 {
					return "MLA and dense layers"
				}
				return ""
			}},
		{"deepseek_v2", `{"model_type":"deepseek_v2","num_hidden_layers":3,"hidden_size":256,"num_attention_heads":4,"intermediate_size":1024,
			"moe_intermediate_size":64,"n_routed_experts":8,"n_shared_experts":2,"num_experts_per_tok":2,"first_k_dense_replace":1,
			"q_lora_rank":null,"kv_lora_rank":32,"qk_nope_head_dim":32,"qk_rope_head_dim":16,"v_head_dim":32,"vocab_size":1000,"max_position_embeddings":1024}`,
			func(m Model) string {
				// No query compression: q is hidden·heads·(nope+rope).
				if m.QLoRARank != 0 || m.attnMatmul() != 256*4*48+256*(32+16)+32*4*(32+32)+4*32*256 {
					return "MLA without q compression"
				}
				return ""
			}},
		{"gpt_oss", `{"model_type":"gpt_oss","num_hidden_layers":4,"hidden_size":192,"num_attention_heads":8,"num_key_value_heads":2,"head_dim":32,
			"intermediate_size":192,"num_local_experts":8,"num_experts_per_tok":2,"vocab_size":1000,"max_position_embeddings":4096,
			"sliding_window":128}`,
			func(m Model) string {
				if m.SlidingWindow != 128 || m.SlidingLayers != 2 || m.HeadDim() != 32 || m.Experts != 8 {
					return "alternate sliding layers"
				}
				return ""
			}},
		{"nemotron", `{"model_type":"nemotron","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"num_key_value_heads":2,
			"intermediate_size":1024,"vocab_size":1000,"max_position_embeddings":1024,"hidden_act":"relu2"}`,
			func(m Model) string {
				if m.MLPActivation() != MLPReLU2 || m.MLPMatrices() != 2 {
					return "squared ReLU"
				}
				return ""
			}},
		{"gpt2", `{"model_type":"gpt2","n_layer":2,"n_embd":128,"n_head":4,"n_inner":null,"vocab_size":1000,"n_positions":256,
			"activation_function":"gelu_new","resid_pdrop":0.1,"attn_pdrop":0.1,"embd_pdrop":0.1}`,
			func(m Model) string {
				if m.Arch != GPT || m.FFN != 512 || !m.Tied() || m.PositionEncoding() != PosLearned || m.Dropout != 0.1 || m.MLPMatrices() != 2 {
					return "gpt2 defaults"
				}
				return ""
			}},
		{"gpt_neox", `{"model_type":"gpt_neox","num_hidden_layers":2,"hidden_size":128,"num_attention_heads":4,"intermediate_size":512,
			"vocab_size":1000,"max_position_embeddings":2048,"hidden_act":"gelu","attention_dropout":0.0,"hidden_dropout":0.0}`,
			func(m Model) string {
				if m.Arch != GPT || m.Tied() || m.PositionEncoding() != PosRotary || m.MLPActivation() != MLPGELU {
					return "neox: untied, rotary, gelu"
				}
				return ""
			}},
		{"mpt", `{"model_type":"mpt","n_layers":2,"d_model":128,"n_heads":4,"expansion_ratio":4,"max_seq_len":2048,"vocab_size":1000,
			"attn_config":{"alibi":true}}`,
			func(m Model) string {
				if m.FFN != 512 || !m.Tied() || m.PositionEncoding() != PosALiBi {
					return "mpt: expansion ratio, tied, alibi"
				}
				return ""
			}},
		{"text_config", `{"architectures":["X"],"text_config":{"model_type":"llama","num_hidden_layers":1,"hidden_size":64,
			"num_attention_heads":4,"intermediate_size":128,"vocab_size":100,"max_position_embeddings":64}}`,
			func(m Model) string {
				if m.Layers != 1 || m.ModelType != "llama" {
					return "nested text_config"
				}
				return ""
			}},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		m, err := ParseHFConfig([]byte(c.cfg))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		seen[m.ModelType] = true
		if msg := c.check(m); msg != "" {
			t.Errorf("%s: %s: %+v", c.name, msg, m)
		}
	}
	for _, mt := range HFModelTypes() {
		if !seen[mt] {
			t.Errorf("model_type %s has no parse test", mt)
		}
	}
}

// TestParseHFConfigBad checks that each bad config gets one line naming
// the field.
func TestParseHFConfigBad(t *testing.T) {
	base := `"num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"intermediate_size":512,"vocab_size":1000,"max_position_embeddings":1024`
	cases := []struct{ cfg, want string }{
		{`{"model_type":"bert",` + base + `}`, `model_type "bert"`},
		{`{` + base + `}`, "model_type"},
		{`{"model_type":"llama","hidden_size":256,"num_attention_heads":4,"intermediate_size":512,"vocab_size":1000,"max_position_embeddings":1024}`, "num_hidden_layers"},
		{`{"model_type":"llama","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"vocab_size":1000,"max_position_embeddings":1024}`, "intermediate_size"},
		{`{"model_type":"llama","num_hidden_layers":2,"hidden_size":256,"num_attention_heads":4,"intermediate_size":512,"vocab_size":1000}`, "max_position_embeddings"},
		{`{"model_type":"llama",` + strings.Replace(base, `"num_hidden_layers":2`, `"num_hidden_layers":0`, 1) + `}`, "num_hidden_layers"},
		{`{"model_type":"llama",` + strings.Replace(base, `"hidden_size":256`, `"hidden_size":-256`, 1) + `}`, "hidden_size"},
		{`{"model_type":"llama",` + strings.Replace(base, `"num_hidden_layers":2`, `"num_hidden_layers":20000000`, 1) + `}`, "num_hidden_layers"},
		{`{"model_type":"llama",` + strings.Replace(base, `"vocab_size":1000`, `"vocab_size":1e400`, 1) + `}`, "vocab_size"},
		{`{"model_type":"llama",` + strings.Replace(base, `"vocab_size":1000`, `"vocab_size":9223372036854775808`, 1) + `}`, "vocab_size"},
		{`{"model_type":"llama",` + strings.Replace(base, `"hidden_size":256`, `"hidden_size":256.5`, 1) + `}`, "hidden_size"},
		{`{"model_type":"llama",` + strings.Replace(base, `"hidden_size":256`, `"hidden_size":"256"`, 1) + `}`, "hidden_size"},
		{`{"model_type":"llama",` + strings.Replace(base, `"num_attention_heads":4`, `"num_attention_heads":3`, 1) + `}`, "num_attention_heads"},
		{`{"model_type":"llama","num_key_value_heads":3,` + base + `}`, "num_key_value_heads"},
		{`{"model_type":"llama","hidden_act":"tanh",` + base + `}`, "hidden_act"},
		{`{"model_type":"llama","attention_dropout":1.5,` + base + `}`, "attention_dropout"},
		{`{"model_type":"mixtral","num_local_experts":8,"num_experts_per_tok":9,` + base + `}`, "num_experts_per_tok"},
		{`{"model_type":"mixtral","num_local_experts":8,` + base + `}`, "num_experts_per_tok"},
		{`{"model_type":"mixtral","num_local_experts":-8,"num_experts_per_tok":2,` + base + `}`, "num_local_experts"},
		{`{"model_type":"deepseek_v3","n_routed_experts":8,"num_experts_per_tok":2,"first_k_dense_replace":2,` + base + `}`, "first_k_dense_replace"},
		{`{"model_type":"deepseek_v3","kv_lora_rank":64,"qk_rope_head_dim":16,"v_head_dim":32,` + base + `}`, "qk_nope_head_dim"},
		{`{"model_type":"qwen3_moe","num_experts":8,"num_experts_per_tok":2,"mlp_only_layers":[0,1],` + base + `}`, "mlp_only_layers"},
		{`{"model_type":"qwen3_moe","num_experts":8,"num_experts_per_tok":2,"mlp_only_layers":[7],` + base + `}`, "mlp_only_layers"},
		{`{"model_type":"llama","flopcast":{"seq":0},` + base + `}`, "seq"},
		{`{"model_type":"llama","rope_scaling":{"original_max_position_embeddings":-1},` + base + `}`, "rope_scaling.original_max_position_embeddings"},
		{`{"model_type":"llama","rope_scaling":7,` + base + `}`, "rope_scaling"},
		{`{"model_type":"llama","tie_word_embeddings":"yes",` + base + `}`, "tie_word_embeddings"},
		{`[1,2]`, "not a JSON object"},
		{`{"model_type":"llama"`, "not JSON"},
		{``, "not JSON"},
	}
	for _, c := range cases {
		_, err := ParseHFConfig([]byte(c.cfg))
		if err == nil {
			t.Errorf("%s: accepted", c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q does not name %s in one line", c.cfg, err, c.want)
		}
	}
}

// TestLoadModelConfig reads a config.json from a file and a directory.
func TestLoadModelConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Qwen3-8B")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := presetFiles.ReadFile("models/qwen3-8b.json")
	if err != nil {
		t.Fatal(err)
	}
	// Without the flopcast object, as a user's file has it.
	cfg := strings.Replace(string(data), `"flopcast"`, `"other"`, 1)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, dir} {
		m, err := LoadModelConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := LookupModel("qwen3-8b")
		if m.Name != "Qwen3-8B" || m.Seq != 40960 {
			t.Errorf("%s: name %q seq %d", p, m.Name, m.Seq)
		}
		if a, b := m.TrainingFLOPsPerToken(true)-m.AttnFLOPsPerToken(true), want.TrainingFLOPsPerToken(true)-want.AttnFLOPsPerToken(true); a != b {
			t.Errorf("weight FLOPs %v, preset %v", a, b)
		}
	}
	if _, err := LoadModelConfig(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"model_type":"t5"}`), 0o644)
	if _, err := LoadModelConfig(bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "t5") {
		t.Errorf("bad file: %v", err)
	}
}

// TestModelArithmetic checks the architecture-aware formulas against hand
// counts.
func TestModelArithmetic(t *testing.T) {
	ds, _ := LookupModel("deepseek-v3")
	// MLA: q 7168·1536 + 1536·128·192, kv 7168·576 + 512·128·256, out
	// 128·128·7168, norms 1536 + 512.
	wantAttn := 7168.0*1536 + 1536*128*192 + 7168*576 + 512*128*256 + 128*128*7168 + 1536 + 512
	if got := ds.AttnParams(); got != wantAttn {
		t.Errorf("MLA params %v, want %v", got, wantAttn)
	}
	if got, want := ds.MLPParams(true), 3*7168.0*18432; got != want {
		t.Errorf("dense MLP %v, want %v", got, want)
	}
	if got, want := ds.MLPParams(false), 257*3*7168.0*2048+7168*256; got != want {
		t.Errorf("MoE MLP %v, want %v", got, want)
	}
	// Attention FLOPs: 6·heads·(qk + v)·keys per layer.
	if got, want := ds.AttnFLOPsPerToken(false), 61*6*128*(192+128)*4096.0; got != want {
		t.Errorf("MLA attention FLOPs %v, want %v", got, want)
	}
	w := ds.ActivationWidths()
	if w.Q != 128*192 || w.K != 128*192 || w.V != 128*128 || w.KVLatent != 576 || w.QLatent != 1536 || w.DenseMLP != 18432 || w.ExpertMLP != 2048 || !w.Gated {
		t.Errorf("widths %+v", w)
	}
	// head_dim ≠ hidden/heads: Qwen3-32B has 64 heads of 128 on hidden 5120.
	q, _ := LookupModel("qwen3-32b")
	if got, want := q.AttnParams(), 2*5120.0*64*128+2*5120*8*128; got != want {
		t.Errorf("qwen3-32b attention %v, want %v", got, want)
	}
	if got, want := q.AttnFLOPsPerToken(true), 64*6*64*256*2048.0; got != want {
		t.Errorf("qwen3-32b attention FLOPs %v, want %v", got, want)
	}
	gemms, err := q.Layer(8).GEMMs()
	if err != nil || gemms[0].Shape.N != (64+16)*128 || gemms[1].Shape.K != 64*128 {
		t.Errorf("qwen3-32b GEMMs %+v %v", gemms, err)
	}
	if q.BlockError() == nil {
		t.Error("qwen3-32b's layer accepted as a block")
	}
	if l, _ := LookupModel("llama3-8b"); l.BlockError() != nil {
		t.Errorf("llama3-8b: %v", l.BlockError())
	}
	// Sliding windows: GPT-OSS-120B, 18 layers at 128 of 4,096 tokens.
	g, _ := LookupModel("gpt-oss-120b")
	per := 6 * 64 * 128.0
	if got, want := g.AttnFLOPsPerToken(false), per*(18*4096+18*128); got != want {
		t.Errorf("sliding attention FLOPs %v, want %v", got, want)
	}
	if got, want := g.AttnFLOPsPerToken(true), per*(18*2048+18*(128-128*128/8192.0)); math.Abs(got-want) > 1e-9*want {
		t.Errorf("causal sliding attention FLOPs %v, want %v", got, want)
	}
	// Mixture of experts: the active count uses 4 of 128 experts.
	if got, want := g.MatmulParamsPerToken(), 36*(g.attnMatmul()+4*3*2880*2880.0+2880*128)+201088*2880.0; got != want {
		t.Errorf("gpt-oss active matmul weights %v, want %v", got, want)
	}
	// A dense model's MLPParams does not depend on the flag.
	l, _ := LookupModel("llama3-70b")
	if l.MLPParams(true) != l.MLPParams(false) || l.IsMoE() || l.MoELayers() != 0 {
		t.Error("dense MLPParams")
	}
	// Overrides still win.
	o := l
	o.TotalParams, o.ActiveParams = 1e11, 5e10
	if tot, act := o.Params(); tot != 1e11 || act != 5e10 {
		t.Errorf("overrides %v %v", tot, act)
	}
}

// TestModelValidateNames checks that Validate names the field.
func TestModelValidateNames(t *testing.T) {
	ok, _ := LookupModel("llama3-8b")
	for field, mut := range map[string]func(*Model){
		"layers":         func(m *Model) { m.Layers = MaxModelLayers + 1 },
		"vocab":          func(m *Model) { m.Vocab = -1 },
		"mlp":            func(m *Model) { m.MLP = "tanh" },
		"active_experts": func(m *Model) { m.Experts, m.ActiveExperts = 4, 5 },
		"experts":        func(m *Model) { m.SharedExperts = 1 },
		"dense_layers":   func(m *Model) { m.Experts, m.ActiveExperts, m.DenseLayers = 4, 1, 32 },
		"dropout":        func(m *Model) { m.Dropout = math.NaN() },
		"total_params":   func(m *Model) { m.TotalParams = math.Inf(1) },
		"kv_lora_rank":   func(m *Model) { m.VHeadDim = 8 },
		"sliding_window": func(m *Model) { m.SlidingLayers = 2 },
	} {
		m := ok
		mut(&m)
		err := m.Validate()
		var me *ModelError
		if !errors.As(err, &me) || me.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// FuzzParseHFConfig checks that no input panics, and that an accepted
// model validates and gives finite, positive counts.
func FuzzParseHFConfig(f *testing.F) {
	for _, name := range presetOrder {
		data, err := presetFiles.ReadFile("models/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"model_type":"qwen3_moe","num_hidden_layers":1048576,"hidden_size":16777216,"num_attention_heads":1,"intermediate_size":1,"num_experts":65536,"num_experts_per_tok":1,"vocab_size":16777216,"max_position_embeddings":16777216}`))
	f.Add([]byte(`{"model_type":"gpt_oss","num_hidden_layers":3,"hidden_size":8,"num_attention_heads":2,"intermediate_size":8,"vocab_size":8,"max_position_embeddings":8,"sliding_window":4,"layer_types":[1,2,3]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseHFConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid model: %v", err)
		}
		total, active := m.Params()
		fl := m.TrainingFLOPsPerToken(true)
		for _, v := range []float64{total, active, fl, m.AttnFLOPsPerToken(false)} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				t.Fatalf("count %v from %+v", v, m)
			}
		}
		if active > total {
			t.Fatalf("active %v > total %v", active, total)
		}
	})
}

// TestModelSummary checks the one-line description of two architectures.
func TestModelSummary(t *testing.T) {
	for name, want := range map[string]string{
		"deepseek-v3":  "61 layers, hidden 7168, 128 heads, MLA (q 1536, kv 512), swiglu MLP 18432 in 3 dense layers, 256 routed experts (8 active) + 1 shared of 2048, vocabulary 129280, seq 4096",
		"gpt-oss-120b": "36 layers, hidden 2880, 64 heads (8 KV) of 64, window 128 in 18 layers, swiglu, 128 routed experts (4 active) of 2880, vocabulary 201088, seq 4096",
		"gpt3-175b":    "96 layers, hidden 12288, 96 heads, gelu MLP 49152, vocabulary 50257 (tied), seq 2048",
	} {
		m, _ := LookupModel(name)
		if got := m.Summary(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
