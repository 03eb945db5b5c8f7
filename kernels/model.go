package kernels

import (
	"fmt"
	"sort"
	"strings"
)

// Arch is a transformer architecture family.
type Arch string

// The architectures flopcast models.
const (
	// Llama: RMSNorm, rotary embeddings, grouped-query attention, SwiGLU
	// MLP, no biases, untied output embedding.
	Llama Arch = "llama"
	// GPT: LayerNorm, learned positions, multi-head attention, GELU MLP,
	// biases, tied output embedding.
	GPT Arch = "gpt"
)

// Model is a decoder-only transformer: the one table of model shapes that
// the block workload and the forecast share.
type Model struct {
	Name    string `json:"name"`
	Arch    Arch   `json:"arch"`
	Layers  int    `json:"layers"`
	Hidden  int    `json:"hidden"`
	Heads   int    `json:"heads"`
	KVHeads int    `json:"kv_heads"`
	// FFN is the MLP inner width (per expert for mixture-of-experts).
	FFN   int `json:"ffn"`
	Vocab int `json:"vocab"`
	// Seq is the training sequence length.
	Seq int `json:"seq"`
	// Batch is the default micro-batch in sequences for the block workload.
	Batch int `json:"batch,omitempty"`
	// Experts and ActiveExperts describe a mixture-of-experts MLP (routed
	// experts per token, shared experts included); zero for dense models.
	Experts       int `json:"experts,omitempty"`
	ActiveExperts int `json:"active_experts,omitempty"`
	// TotalParams and ActiveParams, when set, are the published counts,
	// used where the layer formula does not describe the model exactly
	// (e.g. DeepSeek-V3's latent attention and dense first layers).
	TotalParams  float64 `json:"total_params,omitempty"`
	ActiveParams float64 `json:"active_params,omitempty"`
	// Source says where the figures come from.
	Source string `json:"source,omitempty"`
}

// presets are published model shapes.
var presets = []Model{
	{Name: "tiny", Arch: Llama, Layers: 1, Hidden: 64, Heads: 4, KVHeads: 2, FFN: 176, Vocab: 256, Seq: 32, Batch: 2,
		Source: "flopcast test shape"},
	{Name: "small", Arch: Llama, Layers: 1, Hidden: 512, Heads: 8, KVHeads: 4, FFN: 1408, Vocab: 32000, Seq: 256, Batch: 4,
		Source: "flopcast CPU shape"},
	{Name: "llama2-7b", Arch: Llama, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 32, FFN: 11008, Vocab: 32000, Seq: 4096, Batch: 1,
		Source: "Llama 2 paper (arXiv 2307.09288) and model card"},
	{Name: "llama2-13b", Arch: Llama, Layers: 40, Hidden: 5120, Heads: 40, KVHeads: 40, FFN: 13824, Vocab: 32000, Seq: 4096, Batch: 1,
		Source: "Llama 2 paper (arXiv 2307.09288) and model card"},
	{Name: "llama2-70b", Arch: Llama, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, FFN: 28672, Vocab: 32000, Seq: 4096, Batch: 1,
		Source: "Llama 2 paper (arXiv 2307.09288) and model card"},
	{Name: "llama3-8b", Arch: Llama, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, FFN: 14336, Vocab: 128256, Seq: 8192, Batch: 1,
		Source: "The Llama 3 Herd of Models (arXiv 2407.21783), Table 3"},
	{Name: "llama3-70b", Arch: Llama, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, FFN: 28672, Vocab: 128256, Seq: 8192, Batch: 1,
		Source: "The Llama 3 Herd of Models (arXiv 2407.21783), Table 3"},
	{Name: "llama3-405b", Arch: Llama, Layers: 126, Hidden: 16384, Heads: 128, KVHeads: 8, FFN: 53248, Vocab: 128256, Seq: 8192, Batch: 1,
		Source: "The Llama 3 Herd of Models (arXiv 2407.21783), Table 3"},
	{Name: "gpt3-175b", Arch: GPT, Layers: 96, Hidden: 12288, Heads: 96, KVHeads: 96, FFN: 49152, Vocab: 50257, Seq: 2048, Batch: 1,
		Source: "Brown et al. 2020 (arXiv 2005.14165), Table 2.1"},
	{Name: "deepseek-v3", Arch: Llama, Layers: 61, Hidden: 7168, Heads: 128, KVHeads: 128, FFN: 2048, Vocab: 129280, Seq: 4096, Batch: 1,
		Experts: 257, ActiveExperts: 9, TotalParams: 671e9, ActiveParams: 37e9,
		Source: "DeepSeek-V3 technical report (arXiv 2412.19437): 671B total, 37B active, 256 routed + 1 shared expert, 8 routed active"},
}

// Presets returns the preset names in table order.
func Presets() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.Name
	}
	return out
}

// LookupModel returns the preset with the given name. An unknown name gets
// an error listing the closest names.
func LookupModel(name string) (Model, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range presets {
		if p.Name == n {
			return p, nil
		}
	}
	return Model{}, fmt.Errorf("unknown model preset %q (close: %s)", name, strings.Join(Closest(n, Presets(), 3), ", "))
}

// Validate reports dimensions that cannot form a model.
func (m Model) Validate() error {
	switch {
	case m.Layers <= 0 || m.Hidden <= 0 || m.Heads <= 0 || m.KVHeads <= 0 || m.FFN <= 0 || m.Seq <= 0:
		return fmt.Errorf("model %s: layers, hidden, heads, kv-heads, ffn and seq must be > 0", m.Name)
	case m.Hidden%m.Heads != 0:
		return fmt.Errorf("model %s: heads %d do not divide hidden %d", m.Name, m.Heads, m.Hidden)
	case m.Heads%m.KVHeads != 0:
		return fmt.Errorf("model %s: kv-heads %d do not divide heads %d", m.Name, m.KVHeads, m.Heads)
	case m.Vocab < 0 || m.Batch < 0:
		return fmt.Errorf("model %s: vocab and batch must be >= 0", m.Name)
	case m.Experts < 0 || m.ActiveExperts < 0 || m.ActiveExperts > m.Experts:
		return fmt.Errorf("model %s: active experts %d must be within 0..experts %d", m.Name, m.ActiveExperts, m.Experts)
	}
	return nil
}

// HeadDim returns hidden / heads.
func (m Model) HeadDim() int { return m.Hidden / m.Heads }

// Layer returns one layer's GEMM dimensions at the given tokens per batch.
// For mixture-of-experts models FFN is one expert's width.
func (m Model) Layer(tokens int) Layer {
	return Layer{Hidden: m.Hidden, Heads: m.Heads, KVHeads: m.KVHeads, FFN: m.FFN, Gated: m.Arch != GPT, Tokens: tokens}
}

// mlpMatrices is the number of hidden×ffn weight matrices per expert.
func (m Model) mlpMatrices() float64 {
	if m.Arch == GPT {
		return 2
	}
	return 3 // gate, up, down
}

// LayerParams returns the weights of one layer with every expert counted
// (total) and with only the active experts (active):
//
//	attention  hidden·(hidden + 2·kvHeads·headDim) + hidden²
//	mlp        (2 or 3)·hidden·ffn per expert
//
// plus norms and, for GPT, biases.
func (m Model) LayerParams() (total, active float64) {
	h, f := float64(m.Hidden), float64(m.FFN)
	attn := h*(h+2*float64(m.KVHeads*m.HeadDim())) + h*h
	mlp := m.mlpMatrices() * h * f
	small := 2 * h // norms
	if m.Arch == GPT {
		small += 2*h + (h + 2*float64(m.KVHeads*m.HeadDim())) + h + f + h // LayerNorm biases, projection biases
	}
	experts, act := 1.0, 1.0
	if m.Experts > 0 {
		experts, act = float64(m.Experts), float64(m.ActiveExperts)
		small += h * float64(m.Experts) // router
	}
	return attn + experts*mlp + small, attn + act*mlp + small
}

// Params returns the total and active parameter counts, embeddings
// included (the output embedding is tied for GPT, untied for Llama). The
// published counts win where the preset has them.
func (m Model) Params() (total, active float64) {
	lt, la := m.LayerParams()
	embed := float64(m.Vocab) * float64(m.Hidden)
	if m.Arch != GPT {
		embed *= 2
	}
	if m.Arch == GPT {
		embed += float64(m.Seq) * float64(m.Hidden) // learned positions
	}
	total = float64(m.Layers)*lt + embed
	active = float64(m.Layers)*la + embed
	if m.TotalParams > 0 {
		total = m.TotalParams
	}
	if m.ActiveParams > 0 {
		active = m.ActiveParams
	}
	return total, active
}

// TrainingFLOPsPerToken returns model FLOPs per token for one training step
// (forward and backward, no recomputation), the convention of PaLM
// (Chowdhery et al. 2022, appendix B) and of MFU in large-run reports:
//
//	6·(active matmul parameters) + 12·layers·seq·hidden·(1 or 1/2)
//
// The first term counts every weight GEMM (2 FLOPs per weight per token
// forward, 4 backward), the output embedding included and the input
// embedding (a lookup) excluded. The second counts attention's score (QKᵀ)
// and value (PV) products, 2·2·seq·hidden per token per layer forward,
// three times that for a step. causal=true credits only the unmasked half,
// as FlashAttention's and Megatron-Core's MFU do; PaLM counts the full
// square.
func (m Model) TrainingFLOPsPerToken(causal bool) float64 {
	_, la := m.LayerParams()
	h := float64(m.Hidden)
	dense := float64(m.Layers)*(la-2*h) + float64(m.Vocab)*h // matmul weights only
	if m.ActiveParams > 0 {
		// Published active count: drop the input embedding's lookup.
		dense = m.ActiveParams - float64(m.Vocab)*h
	}
	attn := 12 * float64(m.Layers) * float64(m.Seq) * h
	if causal {
		attn /= 2
	}
	return 6*dense + attn
}

// Closest returns up to n names from names ordered by edit distance to s.
func Closest(s string, names []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for _, name := range names {
		d := editDistance(s, name)
		if strings.Contains(name, s) || strings.Contains(s, name) {
			d = 0
		}
		all = append(all, scored{name, d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].name)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
