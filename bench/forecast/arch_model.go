package forecast

import "github.com/flopcast/flopcast/kernels"

// archOf describes m for the step model: grouped-query or latent (MLA)
// attention, the MLP kind and widths, routed and shared experts, dense
// first layers, dropout, vocabulary and sequence.
func archOf(m kernels.Model) arch {
	w := m.ActivationWidths()
	h := m.Hidden
	kv := m.KVHeads
	if m.IsMLA() {
		kv = m.Heads
	}
	qk := m.HeadDim()
	vh := qk
	if kv > 0 {
		vh = w.V / kv
	}
	a := arch{h: h, heads: m.Heads, kvHeads: kv, qkHead: qk, vHead: vh, gated: w.Gated, ffn: m.FFN,
		dropout: m.Dropout > 0, latent: w.QLatent + w.KVLatent, vocab: m.Vocab, seq: m.Seq}
	if m.IsMLA() {
		if m.QLoRARank > 0 {
			a.attn = append(a.attn, lin{"q_down", m.QLoRARank, h, 0}, lin{"q_up", w.Q, m.QLoRARank, 'n'})
		} else {
			a.attn = append(a.attn, lin{"q", w.Q, h, 'n'})
		}
		a.attn = append(a.attn, lin{"kv_down", m.KVLoRARank + m.QKRopeHeadDim, h, 0},
			lin{"kv_up", m.Heads * (m.QKNopeHeadDim + m.VHeadDim), m.KVLoRARank, 'n'})
	} else {
		a.attn = append(a.attn, lin{"qkv", w.Q + w.K + w.V, h, 'n'})
	}
	a.attn = append(a.attn, lin{"attn_out", h, w.AttnOut, 'k'})
	a.mlp = mlpLins(h, m.FFN, a.gated, "mlp_")
	if m.IsMoE() {
		ew := m.ExpertWidth()
		a.experts, a.topK, a.expertFFN = m.Experts, m.ActiveExperts, ew
		a.expert = mlpLins(h, ew, a.gated, "expert_")
		if m.SharedExperts > 0 {
			a.sharedFFN = m.SharedExperts * ew
			a.shared = mlpLins(h, a.sharedFFN, a.gated, "shared_")
		}
		a.router = m.Experts
		a.moeLayers = m.MoELayers()
	}
	a.dense = m.Layers - a.moeLayers
	// Attention core FLOPs per token per layer, forward: the model's own
	// count (real head dims, sliding windows) over three passes.
	if m.Layers > 0 {
		a.coreFull = m.AttnFLOPsPerToken(false) / 3 / float64(m.Layers)
		a.coreCausal = m.AttnFLOPsPerToken(true) / 3 / float64(m.Layers)
	}
	return a
}
