package kernels

import "fmt"

// Layer describes the dimensions of one transformer decoder layer that
// matter for its GEMMs.
type Layer struct {
	Hidden  int // model width d
	Heads   int // query heads
	KVHeads int // key/value heads (grouped-query attention when < Heads)
	FFN     int // MLP inner width
	// HeadSize is the head dimension when it is not Hidden/Heads (0: Hidden/Heads).
	HeadSize int
	Gated    bool // SwiGLU-style MLP: the up projection produces gate and up halves
	Tokens   int  // tokens per batch (micro-batch × sequence length)
}

// NamedGEMM is a GEMM shape with the role it plays in a layer.
type NamedGEMM struct {
	Name  string
	Shape GEMMShape
}

// Validate reports whether the layer's dimensions are usable.
func (l Layer) Validate() error {
	switch {
	case l.Hidden <= 0 || l.Heads <= 0 || l.KVHeads <= 0 || l.FFN <= 0 || l.Tokens <= 0:
		return fmt.Errorf("layer %+v: every dimension must be > 0", l)
	case l.HeadSize < 0:
		return fmt.Errorf("layer: head size %d must be >= 0", l.HeadSize)
	case l.HeadSize == 0 && l.Hidden%l.Heads != 0:
		return fmt.Errorf("layer: hidden %d is not a multiple of heads %d", l.Hidden, l.Heads)
	case l.Heads%l.KVHeads != 0:
		return fmt.Errorf("layer: heads %d is not a multiple of kv-heads %d", l.Heads, l.KVHeads)
	}
	return nil
}

// HeadDim returns HeadSize when set, else hidden / heads.
func (l Layer) HeadDim() int {
	if l.HeadSize > 0 {
		return l.HeadSize
	}
	return l.Hidden / l.Heads
}

// GEMMs returns the forward-pass GEMMs of the layer's linear projections,
// with tokens as the M dimension:
//
//	qkv       tokens × (heads + 2·kvHeads)·headDim × hidden
//	attn_out  tokens × hidden × heads·headDim
//	mlp_up    tokens × (ffn, or 2·ffn when gated) × hidden
//	mlp_down  tokens × hidden × ffn
//
// Attention's score and value products are batched per head and are not
// listed here.
func (l Layer) GEMMs() ([]NamedGEMM, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	up := l.FFN
	if l.Gated {
		up = 2 * l.FFN
	}
	out := []NamedGEMM{
		{"qkv", GEMMShape{M: l.Tokens, N: (l.Heads + 2*l.KVHeads) * l.HeadDim(), K: l.Hidden}},
		{"attn_out", GEMMShape{M: l.Tokens, N: l.Hidden, K: l.Heads * l.HeadDim()}},
		{"mlp_up", GEMMShape{M: l.Tokens, N: up, K: l.Hidden}},
		{"mlp_down", GEMMShape{M: l.Tokens, N: l.Hidden, K: l.FFN}},
	}
	for _, g := range out {
		if err := g.Shape.Validate(); err != nil {
			return nil, fmt.Errorf("layer %s: %v", g.Name, err)
		}
	}
	return out, nil
}
