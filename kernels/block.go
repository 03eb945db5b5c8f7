package kernels

import (
	"fmt"
	"math"
	"strings"
)

// BlockConfig is one transformer decoder layer trained as the block
// workload: its architecture, its dimensions and the micro-batch it runs.
//
// The Llama block is RMSNorm, rotary position embeddings (rotate-half
// form), grouped-query causal self-attention, output projection, residual,
// RMSNorm, SwiGLU MLP, residual, with no biases. The GPT block is
// LayerNorm, causal self-attention (multi-head when KVHeads = Heads),
// output projection, residual, LayerNorm, GELU (tanh form) MLP, residual,
// with a bias on every projection. Positions enter a GPT model through its
// embedding, outside the layer.
type BlockConfig struct {
	// Preset is the model preset the shape came from, empty for a custom
	// shape.
	Preset  string `json:"preset,omitempty"`
	Arch    Arch   `json:"arch"`
	Hidden  int    `json:"hidden"`
	Heads   int    `json:"heads"`
	KVHeads int    `json:"kv_heads"`
	FFN     int    `json:"ffn"`
	Seq     int    `json:"seq"`
	Batch   int    `json:"batch"`
}

// BlockFromModel returns the block of one layer of m at m's sequence length
// and default micro-batch (1 when m has none).
func BlockFromModel(m Model) BlockConfig {
	batch := m.Batch
	if batch == 0 {
		batch = 1
	}
	return BlockConfig{Preset: m.Name, Arch: m.Arch, Hidden: m.Hidden, Heads: m.Heads, KVHeads: m.KVHeads,
		FFN: m.FFN, Seq: m.Seq, Batch: batch}
}

// BlockConfigError is a block dimension that cannot be used. Field is the
// dimension's name as the command line spells it ("hidden", "heads",
// "kv-heads", "ffn", "seq", "batch", "arch").
type BlockConfigError struct {
	Field string
	Value string
	Msg   string
}

func (e *BlockConfigError) Error() string { return e.Msg }

func blockErr(field string, value any, format string, args ...any) error {
	return &BlockConfigError{Field: field, Value: fmt.Sprint(value), Msg: fmt.Sprintf(format, args...)}
}

// ParseArch parses an architecture name: llama or gpt.
func ParseArch(s string) (Arch, error) {
	switch a := Arch(strings.ToLower(strings.TrimSpace(s))); a {
	case Llama, GPT:
		return a, nil
	}
	return "", fmt.Errorf("unknown arch %q (known: llama, gpt)", s)
}

// MaxBlockTokens is the most tokens (seq × batch) a block step may train
// on: with every dimension at most MaxDim it keeps tokens × hidden inside
// an int64 (the memory estimates saturate beyond that in any case).
const MaxBlockTokens = 1 << 32

// Validate reports the first dimension that cannot form a block, as a
// *BlockConfigError with a one-line message. Every dimension is at most
// MaxDim and seq × batch at most MaxBlockTokens, so no size a step
// derives from them overflows.
func (c BlockConfig) Validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"hidden", c.Hidden}, {"heads", c.Heads}, {"kv-heads", c.KVHeads}, {"ffn", c.FFN}, {"seq", c.Seq}, {"batch", c.Batch}} {
		if d.v <= 0 {
			return blockErr(d.name, d.v, "%s %d must be > 0", d.name, d.v)
		}
		if d.v > MaxDim {
			return blockErr(d.name, d.v, "%s %d must be <= %d", d.name, d.v, MaxDim)
		}
	}
	if t := int64(c.Seq) * int64(c.Batch); t > MaxBlockTokens {
		name, v := "batch", c.Batch
		if c.Seq >= c.Batch {
			name, v = "seq", c.Seq
		}
		return blockErr(name, v, "seq %d × batch %d = %d tokens per step; at most %d", c.Seq, c.Batch, t, MaxBlockTokens)
	}
	switch {
	case c.Arch != Llama && c.Arch != GPT:
		return blockErr("arch", c.Arch, "unknown arch %q (known: llama, gpt)", c.Arch)
	case c.Hidden%c.Heads != 0:
		return blockErr("heads", c.Heads, "heads %d do not divide hidden %d", c.Heads, c.Hidden)
	case c.Heads%c.KVHeads != 0:
		return blockErr("kv-heads", c.KVHeads, "kv-heads %d do not divide heads %d", c.KVHeads, c.Heads)
	case c.Arch == Llama && c.HeadDim()%2 != 0:
		return blockErr("heads", c.Heads, "head dimension %d (hidden %d / heads %d) must be even for rotary embeddings",
			c.HeadDim(), c.Hidden, c.Heads)
	}
	return nil
}

// Name is a short label: the preset, or "custom", with the arch when it is
// not the preset's own.
func (c BlockConfig) Name() string {
	name := c.Preset
	if name == "" {
		name = "custom"
	}
	if m, err := LookupModel(c.Preset); err == nil && m.Arch != c.Arch {
		name += "/" + string(c.Arch)
	}
	return name
}

// String describes the block in one line.
func (c BlockConfig) String() string {
	return fmt.Sprintf("%s %s h%d a%d kv%d f%d seq%d×b%d", c.Name(), c.Arch, c.Hidden, c.Heads, c.KVHeads, c.FFN, c.Seq, c.Batch)
}

// HeadDim returns hidden / heads.
func (c BlockConfig) HeadDim() int { return c.Hidden / c.Heads }

// KVDim returns the width of the key and value projections,
// kvHeads·headDim.
func (c BlockConfig) KVDim() int { return c.KVHeads * c.HeadDim() }

// Tokens returns batch·seq, the tokens one step trains on.
func (c BlockConfig) Tokens() int { return c.Batch * c.Seq }

// Model returns the one-layer model of the block, without embeddings, so
// that Model's parameter and FLOP formulas apply to it.
func (c BlockConfig) Model() Model {
	return Model{Name: c.Preset, Arch: c.Arch, Layers: 1, Hidden: c.Hidden, Heads: c.Heads, KVHeads: c.KVHeads,
		FFN: c.FFN, Seq: c.Seq, Batch: c.Batch}
}

// BlockParam is one parameter tensor of the block.
type BlockParam struct {
	// Name is the parameter's name, shared by every implementation.
	Name string
	// Rows and Cols are the tensor's shape; a vector has Rows = 1. A
	// projection is stored as in×out, so y = x·W.
	Rows, Cols int
	// Kind says how it is initialised: "weight", "gain" or "bias".
	Kind string
}

// Size returns Rows·Cols.
func (p BlockParam) Size() int { return p.Rows * p.Cols }

// Params lists the block's parameter tensors in a fixed order.
func (c BlockConfig) Params() []BlockParam {
	d, kv, f := c.Hidden, c.KVDim(), c.FFN
	w := func(name string, in, out int) BlockParam { return BlockParam{name, in, out, "weight"} }
	v := func(name string, n int, kind string) BlockParam { return BlockParam{name, 1, n, kind} }
	if c.Arch == GPT {
		return []BlockParam{
			v("attn_norm", d, "gain"), v("attn_norm_bias", d, "bias"),
			w("wq", d, d), v("bq", d, "bias"), w("wk", d, kv), v("bk", kv, "bias"), w("wv", d, kv), v("bv", kv, "bias"),
			w("wo", d, d), v("bo", d, "bias"),
			v("mlp_norm", d, "gain"), v("mlp_norm_bias", d, "bias"),
			w("w_up", d, f), v("b_up", f, "bias"), w("w_down", f, d), v("b_down", d, "bias"),
		}
	}
	return []BlockParam{
		v("attn_norm", d, "gain"),
		w("wq", d, d), w("wk", d, kv), w("wv", d, kv), w("wo", d, d),
		v("mlp_norm", d, "gain"),
		w("w_gate", d, f), w("w_up", d, f), w("w_down", f, d),
	}
}

// ParamCount returns the number of parameter elements; it equals
// Model().LayerParams().
func (c BlockConfig) ParamCount() int64 {
	var n int64
	for _, p := range c.Params() {
		n = AddSat(n, MulSat(int64(p.Rows), int64(p.Cols)))
	}
	return n
}

// InitBlockParam fills dst, the values of parameter p, from r: a weight
// uniform with variance 1/rows (fan-in), a gain 1 + 0.1·u and a bias 0.1·u
// for u uniform in [-1, 1). Gains and biases are perturbed from the usual
// 1 and 0 so that a check cannot miss a gain or bias applied along the
// wrong axis.
func InitBlockParam(p BlockParam, r interface{ Float64() float64 }, dst []float64) {
	scale := 1.0
	switch p.Kind {
	case "weight":
		scale = math.Sqrt(3 / float64(p.Rows))
	default:
		scale = 0.1
	}
	for i := range dst {
		u := 2*r.Float64() - 1
		dst[i] = scale * u
		if p.Kind == "gain" {
			dst[i] += 1
		}
	}
}

// BlockCausalCredited says whether StepFLOPs credits causal masking: it
// does, counting attention's score and value products over the unmasked
// half only, as FlashAttention-2's and Megatron-Core's MFU do.
const BlockCausalCredited = true

// StepFLOPs returns the model FLOPs of one training step (forward and
// backward, no recomputation) by Model.TrainingFLOPsPerToken on the
// one-layer model, times the step's tokens:
//
//	tokens · (6·matmul params + 6·seq·hidden)
//
// with the attention term halved for causal masking (BlockCausalCredited).
// Norms, softmax, activations, the loss and the optimizer are not counted,
// as in large-run reports.
func (c BlockConfig) StepFLOPs() float64 {
	return c.Model().TrainingFLOPsPerToken(BlockCausalCredited) * float64(c.Tokens())
}

// BlockFLOPConvention describes how StepFLOPs counts, for results files.
const BlockFLOPConvention = "model FLOPs (PaLM appendix B): 6·matmul params·tokens + attention QKᵀ and PV 6·seq·hidden·tokens; causal masking credited (attention counted over the unmasked half); norms, softmax, loss, optimizer not counted"

// Attention implementations, named in results.
const (
	// AttentionUnfused materialises the batch·heads·seq² score and
	// probability matrices.
	AttentionUnfused = "unfused"
	// AttentionFlash is a fused tiled attention that keeps only one
	// log-sum-exp per query row.
	AttentionFlash = "flash"
)

// BlockMemory is an analytic memory estimate of one training step in
// bytes.
type BlockMemory struct {
	Weights, Gradients, OptimizerStates, Activations int64
}

// Total returns the sum of the parts, math.MaxInt64 when it overflows.
func (m BlockMemory) Total() int64 {
	return AddSat(m.Weights, m.Gradients, m.OptimizerStates, m.Activations)
}

// String lists the parts, e.g. "1.5 MiB (weights 184.0 KiB, ...)".
func (m BlockMemory) String() string {
	g := FormatBytes
	return fmt.Sprintf("%s (weights %s, gradients %s, optimizer %s, activations %s)",
		g(m.Total()), g(m.Weights), g(m.Gradients), g(m.OptimizerStates), g(m.Activations))
}

// FormatBytes formats a byte count in B, KiB, MiB, GiB or TiB, whichever
// keeps the number below 1024.
func FormatBytes(b int64) string {
	v := float64(b)
	for _, unit := range []string{"B", "KiB", "MiB", "GiB"} {
		if math.Abs(v) < 1024 {
			if unit == "B" {
				return fmt.Sprintf("%d B", b)
			}
			return fmt.Sprintf("%.1f %s", v, unit)
		}
		v /= 1024
	}
	return fmt.Sprintf("%.1f TiB", v)
}

// ActivationElements returns the elements a step keeps from forward for
// backward:
//
//	llama  tokens·(8·hidden + 3·kvDim + 4·ffn) + attention
//	gpt    tokens·(7·hidden + 2·kvDim + 2·ffn + 4) + attention
//
// counting the layer input, the norm outputs, q, k, v (and their rotated
// copies for llama), the attention context, the residual, the MLP's
// intermediate tensors and the output; attention adds batch·heads·seq² for
// the probabilities when unfused and batch·heads·seq (the log-sum-exp) when
// flash. Transient gradients of activations are not counted. The count
// saturates at math.MaxInt64 rather than overflow, so a memory check on it
// refuses a huge block instead of passing it.
func (c BlockConfig) ActivationElements(attention string) int64 {
	t := MulSat(int64(c.Batch), int64(c.Seq))
	d, kv, f := int64(c.Hidden), int64(c.KVDim()), int64(c.FFN)
	var n int64
	if c.Arch == GPT {
		n = MulSat(t, AddSat(MulSat(7, d), MulSat(2, kv), MulSat(2, f), 4))
	} else {
		n = MulSat(t, AddSat(MulSat(8, d), MulSat(3, kv), MulSat(4, f)))
	}
	bh := MulSat(int64(c.Batch), int64(c.Heads))
	if attention == AttentionFlash {
		n = AddSat(n, MulSat(bh, int64(c.Seq)))
	} else {
		n = AddSat(n, MulSat(bh, int64(c.Seq), int64(c.Seq)))
	}
	return n
}

// MemoryEstimate returns the analytic memory of a step whose weights,
// gradients and activations are in compute and whose optimizer keeps its
// two AdamW moments (and, when master differs from compute, a master copy
// of the weights) in master.
func (c BlockConfig) MemoryEstimate(compute, master DType, attention string) BlockMemory {
	p := c.ParamCount()
	cs, ms := int64(compute.Size()), int64(master.Size())
	states := MulSat(2, p, ms)
	if master != compute {
		states = AddSat(states, MulSat(p, ms))
	}
	return BlockMemory{
		Weights:         MulSat(p, cs),
		Gradients:       MulSat(p, cs),
		OptimizerStates: states,
		Activations:     MulSat(c.ActivationElements(attention), cs),
	}
}

// BlockRelErrorBound returns the largest relative error ‖out − ref‖₂ /
// ‖ref‖₂ accepted for a block's output, loss or gradient computed in d
// against a float64 reference. The fp64 bound leaves room for summation
// order over a few thousand terms through a dozen dependent operations;
// the others are RelErrorBound's.
func BlockRelErrorBound(d DType) float64 {
	if d == FP64 {
		return 1e-10
	}
	return RelErrorBound(d)
}

// Numerical constants of the block, shared by every implementation.
const (
	// BlockNormEps is the epsilon of RMSNorm and LayerNorm.
	BlockNormEps = 1e-5
	// BlockRopeBase is the rotary embedding base θ: position p rotates
	// pair i of a head by p·θ^(−2i/headDim).
	BlockRopeBase = 10000.0
	// BlockMaskValue is added to the attention scores of masked (future)
	// positions before the softmax.
	BlockMaskValue = -1e9
)

// BlockLossErrorBound returns the largest relative error accepted for a
// step's loss in d, a mean of n squared errors, against a float64
// reference: BlockRelErrorBound plus 8·√n·u for unit round-off u of d. The
// second term is the sum's rounding, which grows like √n·u when it is
// accumulated in d in plain order (observed: 1.7e-4 in fp32 at n = 524288,
// the small preset); a loss of the wrong elements or the wrong scale is
// off by 1e-2 and more.
func BlockLossErrorBound(d DType, n int) float64 {
	u := math.Ldexp(1, -53)
	switch d {
	case FP32, TF32:
		u = math.Ldexp(1, -24)
	case BF16:
		u = math.Ldexp(1, -8)
	case FP16:
		u = math.Ldexp(1, -11)
	}
	return BlockRelErrorBound(d) + 8*math.Sqrt(float64(n))*u
}
