package forecast

// lin is one linear layer's forward GEMM per token: N outputs from K
// inputs. split says how tensor parallelism divides it: 'n' column
// parallel (N/t), 'k' row parallel (K/t), 0 replicated on every rank.
type lin struct {
	name  string
	n, k  int
	split byte
}

// arch is what the step model needs of a model's shape: the linear layers
// of attention, of the dense MLP and of one routed expert, the attention
// core's dimensions, and the activation widths.
type arch struct {
	h                int
	heads, kvHeads   int
	qkHead, vHead    int // per-head widths in the attention core
	attn             []lin
	mlp              []lin // dense MLP (dense layers)
	expert           []lin // one routed expert
	shared           []lin // the shared experts, together
	router           int   // router outputs (routed experts); 0 for dense
	experts, topK    int   // routed experts and routed experts per token
	moeLayers, dense int   // MoE layers and dense layers
	gated            bool
	ffn, expertFFN   int
	sharedFFN        int
	latent           int // MLA latent widths stored per token (q and kv ranks + rope)
	dropout          bool
	vocab, seq       int
	// coreFull and coreCausal are the attention core's forward FLOPs per
	// token per layer, all heads, full square and with causal credit.
	coreFull, coreCausal float64
}

// inner is the stored activation width of an MLP of width f per token in
// elements: gate and up outputs and the activation's output for a gated
// MLP, the up output and activation output otherwise.
func inner(f int, gated bool) float64 {
	if gated {
		return 3 * float64(f)
	}
	return 2 * float64(f)
}

// attnActBytes is the activation memory one attention block stores per
// token in bytes (bf16): the norm's input, the QKV projection's input, Q,
// K and V, the attention output (FlashAttention keeps it for backward),
// MLA's latent vectors, and a dropout mask when the model trains with
// dropout.
func (a arch) attnActBytes() float64 {
	h := float64(a.h)
	q := float64(a.heads * a.qkHead)
	k := float64(a.kvHeads * a.qkHead)
	v := float64(a.kvHeads * a.vHead)
	o := float64(a.heads * a.vHead)
	b := 2 * (h + h + q + k + v + o + float64(a.latent))
	if a.dropout {
		b += h
	}
	return b
}

// mlpActBytes is the activation memory of a dense MLP block per token.
func (a arch) mlpActBytes() float64 {
	h := float64(a.h)
	b := 2 * (2*h + inner(a.ffn, a.gated))
	if a.dropout {
		b += h
	}
	return b
}

// moeActBytes is the activation memory of a mixture-of-experts block per
// token: norm input and output, each routed copy's input and expert
// activations, the shared experts'.
func (a arch) moeActBytes() float64 {
	h := float64(a.h)
	b := 2 * (2*h + float64(a.topK)*(h+inner(a.expertFFN, a.gated)))
	if a.sharedFFN > 0 {
		b += 2 * inner(a.sharedFFN, a.gated)
	}
	if a.dropout {
		b += h
	}
	return b
}

// mlpLins returns the GEMMs of an MLP of width f.
func mlpLins(h, f int, gated bool, prefix string) []lin {
	up := f
	if gated {
		up = 2 * f
	}
	return []lin{{prefix + "up", up, h, 'n'}, {prefix + "down", h, f, 'k'}}
}

// linParams is the weight count of the linear layers.
func linParams(ls []lin) float64 {
	var p float64
	for _, l := range ls {
		p += float64(l.n) * float64(l.k)
	}
	return p
}

// attnParams is the attention block's weights (norm included).
func (a arch) attnParams() float64 { return linParams(a.attn) + float64(a.h) }

// denseLayerParams and moeLayerParams are one layer's weights; expert
// weights are returned separately for MoE layers (they shard over expert
// parallelism).
func (a arch) denseLayerParams() float64 {
	return a.attnParams() + linParams(a.mlp) + float64(a.h)
}

func (a arch) moeLayerParams() (nonExpert, experts float64) {
	nonExpert = a.attnParams() + linParams(a.shared) + float64(a.h) + float64(a.router*a.h)
	experts = float64(a.experts) * linParams(a.expert)
	return nonExpert, experts
}
