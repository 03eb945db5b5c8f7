package kernels

import (
	"fmt"
	"math"
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

// MLPKind is the activation of a transformer MLP, which decides how many
// hidden×width weight matrices it has.
type MLPKind string

// The MLP kinds flopcast counts.
const (
	// MLPSwiGLU is the gated SiLU MLP of Llama (gate, up and down: 3 matrices).
	MLPSwiGLU MLPKind = "swiglu"
	// MLPGeGLU is the gated GELU MLP (3 matrices).
	MLPGeGLU MLPKind = "geglu"
	// MLPGELU is the GELU MLP of GPT (up and down: 2 matrices).
	MLPGELU MLPKind = "gelu"
	// MLPReLU2 is the squared-ReLU MLP of Nemotron-4 (2 matrices).
	MLPReLU2 MLPKind = "relu2"
)

// Position is how a model encodes token positions.
type Position string

// The position encodings flopcast counts; only learned positions have
// weights (a seq×hidden table).
const (
	PosLearned Position = "learned"
	PosRotary  Position = "rotary"
	PosALiBi   Position = "alibi"
)

// Limits on a model's dimensions: far above any trained model, low enough
// that every product flopcast forms stays exact in an int and finite in a
// float64.
const (
	MaxModelLayers  = 1 << 20
	MaxModelDim     = 1 << 24 // hidden, heads, widths, vocabulary, sequence, ranks
	MaxModelExperts = 1 << 16
)

// Model is a decoder-only transformer: the one table of model shapes that
// the block workload and the forecast share.
//
// Dense models need Layers, Hidden, Heads, KVHeads, FFN and Seq; the other
// fields default to the architecture's usual choice when zero. A
// mixture-of-experts model has Experts > 0: its MoE layers (all but
// DenseLayers) replace the dense MLP of width FFN by Experts routed
// experts, ActiveExperts of them used per token, plus SharedExperts used
// by every token, each expert an MLP of width ExpertWidth().
type Model struct {
	Name string `json:"name"`
	Arch Arch   `json:"arch"`
	// ModelType is the Hugging Face model_type the shape came from
	// (llama, qwen3_moe, deepseek_v3, …); empty for a hand-built shape.
	ModelType string `json:"model_type,omitempty"`
	Layers    int    `json:"layers"`
	Hidden    int    `json:"hidden"`
	Heads     int    `json:"heads"`
	KVHeads   int    `json:"kv_heads"`
	// HeadSize is the query/key/value head dimension when it is not
	// Hidden/Heads (Qwen3, GPT-OSS, Gemma); 0 means Hidden/Heads. See HeadDim.
	HeadSize int `json:"head_dim,omitempty"`
	// FFN is the width of a dense MLP (the dense layers of a
	// mixture-of-experts model; see ExpertFFN for the experts).
	FFN   int `json:"ffn"`
	Vocab int `json:"vocab"`
	// Seq is the training sequence length.
	Seq int `json:"seq"`
	// Batch is the default micro-batch in sequences for the block workload.
	Batch int `json:"batch,omitempty"`
	// MLP is the MLP's activation; "" means the architecture's (SwiGLU for
	// llama, GELU for gpt). See MLPActivation and MLPMatrices.
	MLP MLPKind `json:"mlp,omitempty"`
	// TiedEmbeddings says the output layer shares the input embedding's
	// weights. See Tied.
	TiedEmbeddings bool `json:"tied_embeddings,omitempty"`
	// Positions is the position encoding; "" means the architecture's
	// (learned for gpt, rotary for llama). See PositionEncoding.
	Positions Position `json:"positions,omitempty"`
	// Experts is the number of routed experts per MoE layer (0 for a dense
	// model), ActiveExperts the routed experts each token uses, and
	// SharedExperts the experts every token uses besides.
	Experts       int `json:"experts,omitempty"`
	ActiveExperts int `json:"active_experts,omitempty"`
	SharedExperts int `json:"shared_experts,omitempty"`
	// ExpertFFN is the MLP width of one routed or shared expert; 0 means
	// FFN. See ExpertWidth.
	ExpertFFN int `json:"expert_ffn,omitempty"`
	// DenseLayers is the number of layers of a mixture-of-experts model
	// whose MLP is dense, of width FFN (DeepSeek-V3's first three). See
	// MoELayers.
	DenseLayers int `json:"dense_layers,omitempty"`
	// Multi-head latent attention (DeepSeek-V2/V3), all zero for ordinary
	// attention: queries and keys/values are compressed to QLoRARank and
	// KVLoRARank (QLoRARank 0: queries are projected directly); each head's
	// query and key have QKNopeHeadDim dimensions without and
	// QKRopeHeadDim with rotary positions (the rotary key is shared by
	// every head), and its value VHeadDim. See IsMLA.
	QLoRARank     int `json:"q_lora_rank,omitempty"`
	KVLoRARank    int `json:"kv_lora_rank,omitempty"`
	QKNopeHeadDim int `json:"qk_nope_head_dim,omitempty"`
	QKRopeHeadDim int `json:"qk_rope_head_dim,omitempty"`
	VHeadDim      int `json:"v_head_dim,omitempty"`
	// SlidingWindow is the attention window, in tokens, of the
	// SlidingLayers layers that use one (GPT-OSS's alternate layers,
	// Mistral 7B v0.1); SlidingLayers 0 with a window means every layer.
	SlidingWindow int `json:"sliding_window,omitempty"`
	SlidingLayers int `json:"sliding_layers,omitempty"`
	// Dropout is the training dropout probability (0 unless the model's
	// configuration says otherwise): dropout masks cost activation memory.
	Dropout float64 `json:"dropout,omitempty"`
	// TotalParams and ActiveParams, when set, override the counts computed
	// from the shape, for a model whose shape is not known exactly. Leave
	// them zero when the shape describes the model.
	TotalParams  float64 `json:"total_params,omitempty"`
	ActiveParams float64 `json:"active_params,omitempty"`
	// Source says where the figures come from (the model card or paper,
	// with its published parameter counts).
	Source string `json:"source,omitempty"`
}

// ModelError is a model dimension that cannot be used. Field names it as
// the Model's JSON spells it (or, from ParseHFConfig, as config.json does).
type ModelError struct {
	Field string
	Msg   string
}

func (e *ModelError) Error() string { return e.Msg }

func modelErr(field, format string, args ...any) error {
	return &ModelError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first field that cannot form a model, as a
// *ModelError with a one-line message naming it.
func (m Model) Validate() error {
	name := m.Name
	if name == "" {
		name = "(unnamed)"
	}
	for _, d := range []struct {
		field     string
		v, lo, hi int
	}{
		{"layers", m.Layers, 1, MaxModelLayers}, {"hidden", m.Hidden, 1, MaxModelDim}, {"heads", m.Heads, 1, MaxModelDim},
		{"kv_heads", m.KVHeads, 1, MaxModelDim}, {"ffn", m.FFN, 1, MaxModelDim}, {"seq", m.Seq, 1, MaxModelDim},
		{"vocab", m.Vocab, 0, MaxModelDim}, {"batch", m.Batch, 0, MaxModelDim}, {"head_dim", m.HeadSize, 0, MaxModelDim},
		{"experts", m.Experts, 0, MaxModelExperts}, {"active_experts", m.ActiveExperts, 0, MaxModelExperts},
		{"shared_experts", m.SharedExperts, 0, MaxModelExperts}, {"expert_ffn", m.ExpertFFN, 0, MaxModelDim},
		{"dense_layers", m.DenseLayers, 0, MaxModelLayers},
		{"q_lora_rank", m.QLoRARank, 0, MaxModelDim}, {"kv_lora_rank", m.KVLoRARank, 0, MaxModelDim},
		{"qk_nope_head_dim", m.QKNopeHeadDim, 0, MaxModelDim}, {"qk_rope_head_dim", m.QKRopeHeadDim, 0, MaxModelDim},
		{"v_head_dim", m.VHeadDim, 0, MaxModelDim},
		{"sliding_window", m.SlidingWindow, 0, MaxModelDim}, {"sliding_layers", m.SlidingLayers, 0, MaxModelLayers},
	} {
		if d.v < d.lo || d.v > d.hi {
			if d.lo == 1 {
				return modelErr(d.field, "model %s: %s %d must be within 1..%d", name, d.field, d.v, d.hi)
			}
			return modelErr(d.field, "model %s: %s %d must be within 0..%d", name, d.field, d.v, d.hi)
		}
	}
	switch {
	case m.Arch != "" && m.Arch != Llama && m.Arch != GPT: // "" counts as llama
		return modelErr("arch", "model %s: unknown arch %q (known: llama, gpt)", name, m.Arch)
	case m.HeadSize == 0 && !m.IsMLA() && m.Hidden%m.Heads != 0:
		return modelErr("heads", "model %s: heads %d do not divide hidden %d (set head_dim)", name, m.Heads, m.Hidden)
	case m.Heads%m.KVHeads != 0:
		return modelErr("kv_heads", "model %s: kv-heads %d do not divide heads %d", name, m.KVHeads, m.Heads)
	case m.Experts > 0 && (m.ActiveExperts < 1 || m.ActiveExperts > m.Experts):
		return modelErr("active_experts", "model %s: active experts %d must be within 1..experts %d", name, m.ActiveExperts, m.Experts)
	case m.Experts == 0 && (m.ActiveExperts > 0 || m.SharedExperts > 0 || m.DenseLayers > 0 || m.ExpertFFN > 0):
		return modelErr("experts", "model %s: active/shared experts, expert width or dense layers given without routed experts", name)
	case m.DenseLayers >= m.Layers && m.Experts > 0:
		return modelErr("dense_layers", "model %s: dense layers %d leave no mixture-of-experts layer of %d", name, m.DenseLayers, m.Layers)
	case m.SlidingLayers > m.Layers:
		return modelErr("sliding_layers", "model %s: sliding layers %d exceed layers %d", name, m.SlidingLayers, m.Layers)
	case m.SlidingLayers > 0 && m.SlidingWindow == 0:
		return modelErr("sliding_window", "model %s: sliding layers given without a window", name)
	case m.IsMLA() && (m.QKNopeHeadDim+m.QKRopeHeadDim == 0 || m.VHeadDim == 0):
		return modelErr("qk_nope_head_dim", "model %s: latent attention needs qk_nope_head_dim + qk_rope_head_dim > 0 and v_head_dim > 0", name)
	case !m.IsMLA() && (m.QLoRARank > 0 || m.QKNopeHeadDim > 0 || m.QKRopeHeadDim > 0 || m.VHeadDim > 0):
		return modelErr("kv_lora_rank", "model %s: latent-attention dimensions given without kv_lora_rank", name)
	case !(m.Dropout >= 0 && m.Dropout < 1):
		return modelErr("dropout", "model %s: dropout %v must be within [0, 1)", name, m.Dropout)
	case math.IsNaN(m.TotalParams) || math.IsInf(m.TotalParams, 0) || m.TotalParams < 0 ||
		math.IsNaN(m.ActiveParams) || math.IsInf(m.ActiveParams, 0) || m.ActiveParams < 0 || m.ActiveParams > m.TotalParams && m.TotalParams > 0:
		return modelErr("total_params", "model %s: parameter overrides %v / %v must be finite, >= 0 and active <= total", name, m.TotalParams, m.ActiveParams)
	}
	switch m.MLP {
	case "", MLPSwiGLU, MLPGeGLU, MLPGELU, MLPReLU2:
	default:
		return modelErr("mlp", "model %s: unknown mlp %q (known: swiglu, geglu, gelu, relu2)", name, m.MLP)
	}
	switch m.Positions {
	case "", PosLearned, PosRotary, PosALiBi:
	default:
		return modelErr("positions", "model %s: unknown positions %q (known: learned, rotary, alibi)", name, m.Positions)
	}
	return nil
}

// HeadDim returns the attention head dimension: HeadSize when set, else
// Hidden/Heads. For latent attention it is the query/key head dimension
// QKNopeHeadDim + QKRopeHeadDim.
func (m Model) HeadDim() int {
	switch {
	case m.IsMLA():
		return m.QKNopeHeadDim + m.QKRopeHeadDim
	case m.HeadSize > 0:
		return m.HeadSize
	case m.Heads > 0:
		return m.Hidden / m.Heads
	}
	return 0
}

// vHeadDim returns the value head dimension.
func (m Model) vHeadDim() int {
	if m.IsMLA() {
		return m.VHeadDim
	}
	return m.HeadDim()
}

// IsMLA says whether attention is multi-head latent attention
// (KVLoRARank > 0).
func (m Model) IsMLA() bool { return m.KVLoRARank > 0 }

// IsMoE says whether the model has mixture-of-experts layers.
func (m Model) IsMoE() bool { return m.Experts > 0 }

// MoELayers returns the number of mixture-of-experts layers: Layers −
// DenseLayers, or 0 for a dense model.
func (m Model) MoELayers() int {
	if !m.IsMoE() {
		return 0
	}
	return m.Layers - m.DenseLayers
}

// denseLayers returns the number of layers with a dense MLP.
func (m Model) denseLayers() int { return m.Layers - m.MoELayers() }

// ExpertWidth returns one expert's MLP width: ExpertFFN, or FFN when it is
// zero.
func (m Model) ExpertWidth() int {
	if m.ExpertFFN > 0 {
		return m.ExpertFFN
	}
	return m.FFN
}

// MLPActivation returns the MLP kind: MLP when set, else SwiGLU for llama
// and GELU for gpt.
func (m Model) MLPActivation() MLPKind {
	switch {
	case m.MLP != "":
		return m.MLP
	case m.Arch == GPT:
		return MLPGELU
	}
	return MLPSwiGLU
}

// MLPMatrices returns the number of hidden×width weight matrices of one
// MLP (or one expert): 3 for gated MLPs (SwiGLU, GeGLU: gate, up, down), 2
// otherwise (up, down).
func (m Model) MLPMatrices() int {
	switch m.MLPActivation() {
	case MLPSwiGLU, MLPGeGLU:
		return 3
	}
	return 2
}

// Tied says whether the output layer shares the input embedding: the
// TiedEmbeddings field, or, for a hand-built model (no ModelType), the
// architecture's habit (gpt ties, llama does not).
func (m Model) Tied() bool {
	return m.TiedEmbeddings || (m.ModelType == "" && m.Arch == GPT)
}

// PositionEncoding returns Positions when set, else learned for gpt and
// rotary for llama.
func (m Model) PositionEncoding() Position {
	switch {
	case m.Positions != "":
		return m.Positions
	case m.Arch == GPT:
		return PosLearned
	}
	return PosRotary
}

// attnMatmul returns one layer's attention projection weights. Ordinary
// (grouped-query) attention with head dimension d:
//
//	q  hidden·heads·d     k, v  2·hidden·kvHeads·d     out  heads·d·hidden
//
// Latent attention (DeepSeek-V2/V3) with ranks rq, rkv and head dims
// nope, rope, v:
//
//	q    hidden·rq + rq·heads·(nope+rope)   (hidden·heads·(nope+rope) when rq = 0)
//	kv   hidden·(rkv + rope) + rkv·heads·(nope + v)
//	out  heads·v·hidden
func (m Model) attnMatmul() float64 {
	h, a := float64(m.Hidden), float64(m.Heads)
	if m.IsMLA() {
		qk := float64(m.QKNopeHeadDim + m.QKRopeHeadDim)
		rq, rkv := float64(m.QLoRARank), float64(m.KVLoRARank)
		q := h * a * qk
		if rq > 0 {
			q = h*rq + rq*a*qk
		}
		kv := h*(rkv+float64(m.QKRopeHeadDim)) + rkv*a*float64(m.QKNopeHeadDim+m.VHeadDim)
		return q + kv + a*float64(m.VHeadDim)*h
	}
	d := float64(m.HeadDim())
	return 2*h*a*d + 2*h*float64(m.KVHeads)*d
}

// AttnParams returns one layer's attention weights: the projections
// (see attnMatmul's formulas), plus, for gpt, their biases
// (heads·d + 2·kvHeads·d + hidden) and, for latent attention, the norms of
// the compressed query and key/value (rq + rkv). The layer norm before
// attention is not included (LayerParams counts it).
func (m Model) AttnParams() float64 {
	p := m.attnMatmul()
	if m.IsMLA() {
		p += float64(m.QLoRARank + m.KVLoRARank)
	}
	if m.Arch == GPT {
		d := float64(m.HeadDim())
		p += float64(m.Heads)*d + 2*float64(m.KVHeads)*d + float64(m.Hidden)
	}
	return p
}

// mlpMatmul returns one MLP's weights at width w: MLPMatrices·hidden·w.
func (m Model) mlpMatmul(w int) float64 {
	return float64(m.MLPMatrices()) * float64(m.Hidden) * float64(w)
}

// MLPParams returns one layer's MLP weights. dense (or a dense model): a
// dense MLP of width FFN, MLPMatrices·hidden·ffn, plus for gpt its biases
// (ffn + hidden). Otherwise one mixture-of-experts layer with every expert:
//
//	(experts + shared)·MLPMatrices·hidden·expertWidth + hidden·experts (router)
func (m Model) MLPParams(dense bool) float64 {
	if dense || !m.IsMoE() {
		p := m.mlpMatmul(m.FFN)
		if m.Arch == GPT {
			p += float64(m.FFN + m.Hidden)
		}
		return p
	}
	return float64(m.Experts+m.SharedExperts)*m.mlpMatmul(m.ExpertWidth()) + m.router()
}

// activeMoE returns the weights one token uses in a mixture-of-experts
// layer: (active + shared)·MLPMatrices·hidden·expertWidth + router.
func (m Model) activeMoE() float64 {
	return float64(m.ActiveExperts+m.SharedExperts)*m.mlpMatmul(m.ExpertWidth()) + m.router()
}

func (m Model) router() float64 { return float64(m.Hidden) * float64(m.Experts) }

// norms returns one layer's normalisation weights: two gains of hidden,
// and their biases for gpt.
func (m Model) norms() float64 {
	if m.Arch == GPT {
		return 4 * float64(m.Hidden)
	}
	return 2 * float64(m.Hidden)
}

// LayerParams returns the weights of one layer with every expert counted
// (total) and with only the experts one token uses (active):
//
//	AttnParams + MLPParams + norms (2·hidden, 4·hidden with gpt's biases)
//
// For a mixture-of-experts model it is one MoE layer (see MLPParams); for
// a dense model total = active.
func (m Model) LayerParams() (total, active float64) {
	base := m.AttnParams() + m.norms()
	if m.IsMoE() {
		return base + m.MLPParams(false), base + m.activeMoE()
	}
	mlp := m.MLPParams(true)
	return base + mlp, base + mlp
}

// embedParams returns the embedding weights: vocab·hidden in, the same
// again out unless tied, a seq·hidden position table when positions are
// learned, and the final norm.
func (m Model) embedParams() float64 {
	h := float64(m.Hidden)
	e := float64(m.Vocab) * h
	if !m.Tied() {
		e *= 2
	}
	if m.PositionEncoding() == PosLearned {
		e += float64(m.Seq) * h
	}
	return e + m.norms()/2
}

// Params returns the total and active parameter counts, embeddings
// included:
//
//	total  = layers·(AttnParams + norms) + denseLayers·MLPParams(true)
//	         + moeLayers·MLPParams(false) + embeddings
//	active = the same with only the routed experts a token uses, plus the shared ones
//
// Embeddings are vocab·hidden, twice unless tied, plus a learned position
// table and the final norm. TotalParams and ActiveParams win where set.
func (m Model) Params() (total, active float64) {
	base := float64(m.Layers)*(m.AttnParams()+m.norms()) + float64(m.denseLayers())*m.MLPParams(true) + m.embedParams()
	total, active = base, base
	if n := float64(m.MoELayers()); n > 0 {
		total += n * m.MLPParams(false)
		active += n * m.activeMoE()
	}
	if m.TotalParams > 0 {
		total = m.TotalParams
	}
	if m.ActiveParams > 0 {
		active = m.ActiveParams
	}
	return total, active
}

// MatmulParamsPerToken returns the weights one token multiplies by in a
// forward pass: every layer's attention projections, the dense and the
// active expert MLPs and routers, and the output layer (vocab·hidden); the
// input embedding (a lookup), norms and biases are not counted. With an
// ActiveParams override it is that count less the input embedding when
// untied.
func (m Model) MatmulParamsPerToken() float64 {
	out := float64(m.Vocab) * float64(m.Hidden)
	if m.ActiveParams > 0 {
		if m.Tied() {
			return m.ActiveParams
		}
		return m.ActiveParams - out
	}
	p := float64(m.Layers)*m.attnMatmul() + float64(m.denseLayers())*m.mlpMatmul(m.FFN) + out
	if n := float64(m.MoELayers()); n > 0 {
		p += n * m.activeMoE()
	}
	return p
}

// keysPerQuery returns the keys a query attends to on average, as the
// FLOP convention counts them. A full layer: seq, or seq/2 when causal
// masking is credited. A layer with window w < seq: min(w, seq), or
// w − w²/(2·seq) with causal credit (the exact mean of min(i+1, w) over
// the positions, to first order), which equals seq/2 at w = seq.
func (m Model) keysPerQuery(causal, sliding bool) float64 {
	s := float64(m.Seq)
	if sliding && m.SlidingWindow > 0 && m.SlidingWindow < m.Seq {
		w := float64(m.SlidingWindow)
		if causal {
			return w - w*w/(2*s)
		}
		return w
	}
	if causal {
		return s / 2
	}
	return s
}

// AttnFLOPsPerToken returns attention's score (QKᵀ) and value (PV)
// products per token for one training step (forward and backward, three
// times the forward), summed over the layers:
//
//	3 · 2·keys·heads·(dqk + dv)   per layer
//
// with dqk and dv the query/key and value head dimensions (HeadDim, or
// nope+rope and v for latent attention) and keys from keysPerQuery: seq,
// seq/2 with causal credit, the window for sliding-window layers. For
// hidden = heads·d that is 12·seq·hidden per layer, the PaLM term.
func (m Model) AttnFLOPsPerToken(causal bool) float64 {
	per := 6 * float64(m.Heads) * float64(m.HeadDim()+m.vHeadDim())
	sliding := 0
	if m.SlidingWindow > 0 {
		sliding = m.SlidingLayers
		if sliding == 0 {
			sliding = m.Layers
		}
	}
	full := m.Layers - sliding
	return per * (float64(full)*m.keysPerQuery(causal, false) + float64(sliding)*m.keysPerQuery(causal, true))
}

// TrainingFLOPsPerToken returns model FLOPs per token for one training step
// (forward and backward, no recomputation), the convention of PaLM
// (Chowdhery et al. 2022, appendix B) and of MFU in large-run reports:
//
//	6·MatmulParamsPerToken + AttnFLOPsPerToken
//
// The first term counts every weight GEMM a token passes through (2 FLOPs
// per weight forward, 4 backward): attention projections (latent
// attention's included), the dense or active-expert MLPs, routers and the
// output layer, not the input embedding (a lookup). The second counts
// attention's score and value products with the real head dimensions.
// causal=true credits only the unmasked half, as FlashAttention's and
// Megatron-Core's MFU do; PaLM counts the full square.
func (m Model) TrainingFLOPsPerToken(causal bool) float64 {
	return 6*m.MatmulParamsPerToken() + m.AttnFLOPsPerToken(causal)
}

// Widths are the per-token widths of a layer's activations, for memory
// models.
type Widths struct {
	// Q, K and V are the query, key and value widths over all heads
	// (heads·dqk, kvHeads·dqk, kvHeads·dv; latent attention expands K and
	// V per head, so kvHeads = heads there).
	Q, K, V int
	// AttnOut is the input width of the output projection, heads·dv.
	AttnOut int
	// QLatent and KVLatent are latent attention's compressed query and
	// key/value widths (q_lora_rank, kv_lora_rank + qk_rope_head_dim); 0
	// for ordinary attention.
	QLatent, KVLatent int
	// DenseMLP is the inner width of a dense MLP (FFN) and ExpertMLP that
	// of one expert per routed token (0 for a dense model). Gated MLPs
	// keep two tensors of that width (gate and up) before the product.
	DenseMLP, ExpertMLP int
	Gated               bool
}

// ActivationWidths returns the per-token activation widths of one layer.
func (m Model) ActivationWidths() Widths {
	kv := m.KVHeads
	if m.IsMLA() {
		kv = m.Heads
	}
	w := Widths{Q: m.Heads * m.HeadDim(), K: kv * m.HeadDim(), V: kv * m.vHeadDim(), AttnOut: m.Heads * m.vHeadDim(),
		DenseMLP: m.FFN, Gated: m.MLPMatrices() == 3}
	if m.IsMLA() {
		w.QLatent, w.KVLatent = m.QLoRARank, m.KVLoRARank+m.QKRopeHeadDim
	}
	if m.IsMoE() {
		w.ExpertMLP = m.ExpertWidth()
	}
	return w
}

// Layer returns one dense layer's GEMM dimensions at the given tokens per
// batch (latent attention and experts are not GEMMs of this form; see
// ActivationWidths).
func (m Model) Layer(tokens int) Layer {
	return Layer{Hidden: m.Hidden, Heads: m.Heads, KVHeads: m.KVHeads, HeadSize: m.HeadSize, FFN: m.FFN,
		Gated: m.MLPMatrices() == 3, Tokens: tokens}
}

// BlockError says why one layer of m is not a block the block workload
// trains (mixture of experts, latent attention, a head dimension other
// than hidden/heads, sliding windows, or an MLP other than its
// architecture's), or nil when it is.
func (m Model) BlockError() error {
	want := MLPSwiGLU
	if m.Arch == GPT {
		want = MLPGELU
	}
	switch {
	case m.IsMoE():
		return fmt.Errorf("model %s: a mixture-of-experts layer is not a block this workload trains (dense models only)", m.Name)
	case m.IsMLA():
		return fmt.Errorf("model %s: latent attention is not a block this workload trains", m.Name)
	case m.HeadSize > 0 && m.HeadSize*m.Heads != m.Hidden:
		return fmt.Errorf("model %s: head_dim %d is not hidden/heads, which the block workload needs", m.Name, m.HeadSize)
	case m.MLPActivation() != want:
		return fmt.Errorf("model %s: a %s MLP is not a %s block this workload trains", m.Name, m.MLPActivation(), m.Arch)
	}
	return nil
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

// Summary describes the model's architecture in one line, e.g.
// "61 layers, hidden 7168, 128 heads, MLA (q 1536, kv 512), swiglu MLP
// 18432 in 3 dense layers, 256 routed experts (8 active) + 1 shared of 2048".
func (m Model) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d layers, hidden %d, %d heads", m.Layers, m.Hidden, m.Heads)
	switch {
	case m.IsMLA():
		if m.QLoRARank > 0 {
			fmt.Fprintf(&b, ", MLA (q %d, kv %d)", m.QLoRARank, m.KVLoRARank)
		} else {
			fmt.Fprintf(&b, ", MLA (kv %d)", m.KVLoRARank)
		}
	case m.KVHeads != m.Heads:
		fmt.Fprintf(&b, " (%d KV)", m.KVHeads)
	}
	if m.HeadSize > 0 && !m.IsMLA() {
		fmt.Fprintf(&b, " of %d", m.HeadSize)
	}
	if m.SlidingWindow > 0 {
		n := m.SlidingLayers
		if n == 0 {
			n = m.Layers
		}
		fmt.Fprintf(&b, ", window %d in %d layers", m.SlidingWindow, n)
	}
	if !m.IsMoE() {
		fmt.Fprintf(&b, ", %s MLP %d", m.MLPActivation(), m.FFN)
	} else {
		if m.DenseLayers > 0 {
			fmt.Fprintf(&b, ", %s MLP %d in %d dense layers", m.MLPActivation(), m.FFN, m.DenseLayers)
		} else {
			fmt.Fprintf(&b, ", %s", m.MLPActivation())
		}
		fmt.Fprintf(&b, ", %d routed experts (%d active)", m.Experts, m.ActiveExperts)
		if m.SharedExperts > 0 {
			fmt.Fprintf(&b, " + %d shared", m.SharedExperts)
		}
		fmt.Fprintf(&b, " of %d", m.ExpertWidth())
	}
	fmt.Fprintf(&b, ", vocabulary %d", m.Vocab)
	if m.Tied() {
		b.WriteString(" (tied)")
	}
	fmt.Fprintf(&b, ", seq %d", m.Seq)
	return b.String()
}
