package gpu

import (
	"fmt"
	"math"

	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/kernels"
	kcuda "github.com/flopcast/flopcast/kernels/cuda"
)

// Phases and kinds of the step's operations, as backend.BlockTiming names
// them.
const (
	phaseForward   = "forward"
	phaseBackward  = "backward"
	phaseOptimizer = "optimizer"
	kindGEMM       = "gemm"
	kindAttention  = "attention"
	kindOther      = "other"
)

// blockOp is one enqueued operation of the step: a GEMM, a kernel launch
// or a zeroing memset. It is data, so that tests can run the step's
// operations on the host (emulate) without a GPU.
type blockOp struct {
	name, phase, kind string

	// A GEMM: spec on a, b, c, d, run by g (nil when emulated).
	spec       *blaslt.GeneralSpec
	a, b, c, d driver.Ptr
	g          *blaslt.General

	// A kernel launch: its arguments are computed when it is enqueued.
	kernel string
	launch blockLaunch
	args   func() []any

	// A memset of words 32-bit zeros at zero.
	zero  driver.Ptr
	words int64
}

// opBuilder appends the step's operations in order. With emulate set it
// creates no cuBLASLt descriptors and looks up no kernels.
type opBuilder struct {
	s       *blockStep
	phase   string
	emulate bool
	err     error
}

func (b *opBuilder) add(op blockOp) {
	op.phase = b.phase
	b.s.ops = append(b.s.ops, op)
}

// gemm adds D = op(A)·op(B) + beta·C with every operand in the stored
// type, accumulating in fp32.
func (b *opBuilder) gemm(name, kind string, spec blaslt.GeneralSpec, a, bm, c, d driver.Ptr) {
	b.gemmTo(b.s.prec.lt, name, kind, spec, a, bm, c, d)
}

// gemmTo is gemm with C and D of type cd (fp32 for the attention scores
// and their gradient).
func (b *opBuilder) gemmTo(cd blaslt.DataType, name, kind string, spec blaslt.GeneralSpec, a, bm, c, d driver.Ptr) {
	if b.err != nil {
		return
	}
	s := b.s
	spec.AB, spec.CD, spec.Compute = s.prec.lt, cd, blaslt.Compute32F
	op := blockOp{name: name, kind: kind, spec: &spec, a: a, b: bm, c: c, d: d}
	if err := spec.Validate(); err != nil {
		b.err = fmt.Errorf("GEMM %s: %w", name, err)
		return
	}
	if !b.emulate {
		g, err := s.bk.lt.NewGeneral(spec, s.bk.workspace, Workspace)
		if err != nil {
			b.err = fmt.Errorf("GEMM %s (%s): %w", name, spec, err)
			return
		}
		op.g = g
	}
	b.add(op)
}

// launch adds a kernel launch with fixed arguments.
func (b *opBuilder) launch(name, kind, kernel string, l blockLaunch, args ...any) {
	b.launchFn(name, kind, kernel, l, func() []any { return args })
}

// launchFn adds a kernel launch whose arguments args computes when the
// launch is enqueued.
func (b *opBuilder) launchFn(name, kind, kernel string, l blockLaunch, args func() []any) {
	if _, ok := b.s.fns[kernel]; !ok && !b.emulate && b.err == nil {
		b.err = fmt.Errorf("kernel %s not loaded", kernel)
	}
	b.add(blockOp{name: name, kind: kind, kernel: kernel, launch: l, args: args})
}

// zero adds a memset of words 32-bit zeros at p.
func (b *opBuilder) zero(name string, p driver.Ptr, words int64) {
	b.add(blockOp{name: name, kind: kindOther, zero: p, words: words})
}

// run enqueues op on the step's stream.
func (s *blockStep) run(op blockOp) error {
	switch {
	case op.spec != nil:
		return op.g.Run(op.a, op.b, op.c, op.d, s.bk.stream)
	case op.kernel != "":
		l := op.launch
		return s.fns[op.kernel].Launch(driver.Dim3{X: l.grid[0], Y: l.grid[1], Z: l.grid[2]},
			driver.Dim3{X: l.block[0], Y: l.block[1], Z: l.block[2]}, 0, s.bk.stream, op.args()...)
	}
	return s.bk.stream.Memset32Async(op.zero, 0, op.words)
}

// elems is a grid-stride launch over n elements.
func (b *opBuilder) elems(n int64) blockLaunch {
	g, k := launchDims(uint64(n), b.s.bk.info.Cores)
	return blockLaunch{grid: [3]uint32{g.X, 1, 1}, block: [3]uint32{k.X, 1, 1}}
}

// perRow is one block per row of cols elements.
func perRow(rows int64, cols int) blockLaunch {
	return blockLaunch{grid: [3]uint32{uint32(rows), 1, 1}, block: [3]uint32{rowThreads(cols), 1, 1}}
}

// projection returns the spec of Y (T×out) = X (T×in) · W (in×out).
func projection(t, in, out int) blaslt.GeneralSpec { return blaslt.GeneralSpec{M: t, N: out, K: in} }

// weightGrad returns the spec of dW (in×out) = Xᵀ (in×T) · dY (T×out).
func weightGrad(t, in, out int) blaslt.GeneralSpec {
	return blaslt.GeneralSpec{M: in, N: out, K: t, TransA: true}
}

// inputGrad returns the spec of dX (T×in) = dY (T×out) · Wᵀ (out×in),
// accumulating into dX when beta is 1.
func inputGrad(t, in, out int, beta float32) blaslt.GeneralSpec {
	return blaslt.GeneralSpec{M: t, N: in, K: out, TransB: true, Beta: beta}
}

// attentionSpecs are the six batched attention products, over batch·kvHeads
// entries of G = group·seq query rows: scores = Q·Kᵀ, ctx = P·V, and in
// backward dP = dCtx·Vᵀ, dV = Pᵀ·dCtx, dQ = dS·K, dK = dSᵀ·Q. Q, the
// context and their gradients are head-major [batch, heads, seq, headDim],
// K and V [batch, kvHeads, seq, headDim], scores and probabilities
// [batch·kvHeads, G, seq]. Types are set by the caller.
func attentionSpecs(d blockDims) (scores, ctx, dP, dV, dQ, dK blaslt.GeneralSpec) {
	q, kv, sc := int64(d.G*d.hd), int64(d.S*d.hd), int64(d.G)*int64(d.S)
	bt := func(s blaslt.GeneralSpec, sa, sb, scc int64) blaslt.GeneralSpec {
		s.Batch, s.StrideA, s.StrideB, s.StrideC = d.BK, sa, sb, scc
		return s
	}
	scores = bt(blaslt.GeneralSpec{M: d.G, N: d.S, K: d.hd, TransB: true}, q, kv, sc)
	ctx = bt(blaslt.GeneralSpec{M: d.G, N: d.hd, K: d.S}, sc, kv, q)
	dP = bt(blaslt.GeneralSpec{M: d.G, N: d.S, K: d.hd, TransB: true}, q, kv, sc)
	dV = bt(blaslt.GeneralSpec{M: d.S, N: d.hd, K: d.G, TransA: true}, sc, q, kv)
	dQ = bt(blaslt.GeneralSpec{M: d.G, N: d.hd, K: d.S}, sc, kv, q)
	dK = bt(blaslt.GeneralSpec{M: d.S, N: d.hd, K: d.G, TransA: true}, sc, q, kv)
	return
}

// buildOps builds the step's operations: forward, loss, backward for
// every parameter and the input, AdamW. Unless emulating, the context must
// be current.
func (s *blockStep) buildOps(emulate bool) error {
	b := &opBuilder{s: s, phase: phaseForward, emulate: emulate}
	d := s.dims
	gpt := s.cfg.Arch == kernels.GPT
	layer, rotate := int32(0), int32(1)
	if gpt {
		layer, rotate = 1, 0
	}
	T, D, KV, F := d.T, d.D, d.KV*d.hd, d.F
	t64 := int64(T)
	buf, w, g := s.buf, func(n string) driver.Ptr { return s.param("weights", n) }, func(n string) driver.Ptr { return s.param("grads", n) }
	var null driver.Ptr
	eps := float32(kernels.BlockNormEps)
	scale := float32(1 / math.Sqrt(float64(d.hd)))
	heads := func(name string, in, out driver.Ptr, nh int, rot int32, toHeads int32) {
		n := int64(d.B) * int64(d.S) * int64(nh) * int64(d.hd/2)
		b.launch(name, kindAttention, kcuda.BlockHeads, b.elems(n), in, out, buf("cos"), buf("sin"),
			int32(d.B), int32(d.S), int32(nh), int32(d.hd), rot, toHeads)
	}
	bias := func(name string, y driver.Ptr, p string, cols int) {
		if gpt {
			b.launch(name, kindOther, kcuda.BlockAddBias, b.elems(t64*int64(cols)), y, w(p), uint64(t64*int64(cols)), int32(cols))
		}
	}
	norm1, norm2 := "attn_norm", "mlp_norm"
	normBias := func(n string) driver.Ptr {
		if gpt {
			return w(n + "_bias")
		}
		return null
	}
	scoresSpec, ctxSpec, dPSpec, dVSpec, dQSpec, dKSpec := attentionSpecs(d)
	rows := int64(d.BK) * int64(d.G)

	// Forward.
	b.launch("attn_norm", kindOther, kcuda.BlockNormFwd, perRow(t64, D), buf("x"), w(norm1), normBias(norm1), buf("xn"),
		buf("mean1"), buf("inv1"), int32(T), int32(D), eps, layer)
	b.gemm("q", kindGEMM, projection(T, D, D), buf("xn"), w("wq"), null, buf("q"))
	b.gemm("k", kindGEMM, projection(T, D, KV), buf("xn"), w("wk"), null, buf("k"))
	b.gemm("v", kindGEMM, projection(T, D, KV), buf("xn"), w("wv"), null, buf("v"))
	bias("q_bias", buf("q"), "bq", D)
	bias("k_bias", buf("k"), "bk", KV)
	bias("v_bias", buf("v"), "bv", KV)
	heads("q_heads", buf("q"), buf("qh"), d.H, rotate, 1)
	heads("k_heads", buf("k"), buf("kh"), d.KV, rotate, 1)
	heads("v_heads", buf("v"), buf("vh"), d.KV, 0, 1)
	b.gemmTo(blaslt.R32F, "scores", kindAttention, scoresSpec, buf("qh"), buf("kh"), null, buf("scores"))
	b.launch("softmax", kindAttention, kcuda.BlockSoftmaxFwd, perRow(rows, d.S), buf("scores"), buf("probs"),
		uint64(rows), int32(d.S), scale)
	b.gemm("context", kindAttention, ctxSpec, buf("probs"), buf("vh"), null, buf("ctxh"))
	heads("context_tokens", buf("ctxh"), buf("ctx"), d.H, 0, 0)
	wo := projection(T, D, D)
	wo.Beta = 1 // h = x + ctx·Wo
	b.gemm("o+residual", kindGEMM, wo, buf("ctx"), w("wo"), buf("x"), buf("h"))
	bias("o_bias", buf("h"), "bo", D)
	b.launch("mlp_norm", kindOther, kcuda.BlockNormFwd, perRow(t64, D), buf("h"), w(norm2), normBias(norm2), buf("hn"),
		buf("mean2"), buf("inv2"), int32(T), int32(D), eps, layer)
	nf := uint64(t64 * int64(F))
	if gpt {
		b.gemm("up", kindGEMM, projection(T, D, F), buf("hn"), w("w_up"), null, buf("up"))
		bias("up_bias", buf("up"), "b_up", F)
		b.launch("gelu", kindOther, kcuda.BlockGELUFwd, b.elems(int64(nf)), buf("up"), buf("act"), nf)
	} else {
		b.gemm("gate", kindGEMM, projection(T, D, F), buf("hn"), w("w_gate"), null, buf("gate"))
		b.gemm("up", kindGEMM, projection(T, D, F), buf("hn"), w("w_up"), null, buf("up"))
		b.launch("swiglu", kindOther, kcuda.BlockSwiGLUFwd, b.elems(int64(nf)), buf("gate"), buf("up"), buf("act"), nf)
	}
	down := projection(T, F, D)
	down.Beta = 1 // out = h + act·Wdown
	b.gemm("down+residual", kindGEMM, down, buf("act"), w("w_down"), buf("h"), buf("out"))
	bias("down_bias", buf("out"), "b_down", D)
	nd := uint64(t64 * int64(D))
	b.zero("loss_zero", buf("loss"), 2)
	b.launch("mse", kindOther, kcuda.BlockMSE, b.elems(int64(nd)), buf("out"), buf("target"), buf("dout"), buf("loss"), nd)

	// Backward.
	b.phase = phaseBackward
	if s.pl.vecTotal > 0 {
		b.zero("vec_acc_zero", buf("vec_acc"), s.pl.vecTotal)
	}
	acc := func(p string) driver.Ptr {
		return buf("vec_acc").Add(s.pl.vecOffset[s.pl.index(p)] * 4)
	}
	colReduce := func(name string, a, x, mean, inv driver.Ptr, p string, cols int) {
		b.launch(name, kindOther, kcuda.BlockColReduce, colReduceLaunch(T, cols), a, x, mean, inv, acc(p),
			int32(T), int32(cols), int32(colReduceRows))
	}
	b.gemm("d_w_down", kindGEMM, weightGrad(T, F, D), buf("act"), buf("dout"), null, g("w_down"))
	if gpt {
		colReduce("d_b_down", buf("dout"), null, null, null, "b_down", D)
	}
	b.gemm("d_act", kindGEMM, inputGrad(T, F, D, 0), buf("dout"), w("w_down"), null, buf("act"))
	if gpt {
		b.launch("d_gelu", kindOther, kcuda.BlockGELUBwd, b.elems(int64(nf)), buf("act"), buf("up"), nf)
		colReduce("d_b_up", buf("up"), null, null, null, "b_up", F)
		b.gemm("d_w_up", kindGEMM, weightGrad(T, D, F), buf("hn"), buf("up"), null, g("w_up"))
		b.gemm("d_hn", kindGEMM, inputGrad(T, D, F, 0), buf("up"), w("w_up"), null, buf("dtmp"))
	} else {
		b.launch("d_swiglu", kindOther, kcuda.BlockSwiGLUBwd, b.elems(int64(nf)), buf("act"), buf("gate"), buf("up"), nf)
		b.gemm("d_w_gate", kindGEMM, weightGrad(T, D, F), buf("hn"), buf("gate"), null, g("w_gate"))
		b.gemm("d_w_up", kindGEMM, weightGrad(T, D, F), buf("hn"), buf("up"), null, g("w_up"))
		b.gemm("d_hn_gate", kindGEMM, inputGrad(T, D, F, 0), buf("gate"), w("w_gate"), null, buf("dtmp"))
		b.gemm("d_hn_up", kindGEMM, inputGrad(T, D, F, 1), buf("up"), w("w_up"), buf("dtmp"), buf("dtmp"))
	}
	colReduce("d_mlp_norm", buf("dtmp"), buf("h"), normMean(gpt, buf("mean2")), buf("inv2"), norm2, D)
	if gpt {
		colReduce("d_mlp_norm_bias", buf("dtmp"), null, null, null, norm2+"_bias", D)
	}
	b.launch("d_mlp_norm_x", kindOther, kcuda.BlockNormBwd, perRow(t64, D), buf("dtmp"), buf("h"), w(norm2),
		buf("mean2"), buf("inv2"), buf("dout"), buf("dh"), int32(T), int32(D), layer)
	b.gemm("d_wo", kindGEMM, weightGrad(T, D, D), buf("ctx"), buf("dh"), null, g("wo"))
	if gpt {
		colReduce("d_bo", buf("dh"), null, null, null, "bo", D)
	}
	b.gemm("d_ctx", kindGEMM, inputGrad(T, D, D, 0), buf("dh"), w("wo"), null, buf("dtmp"))
	heads("d_ctx_heads", buf("dtmp"), buf("ctxh"), d.H, 0, 1)
	b.gemmTo(blaslt.R32F, "d_probs", kindAttention, dPSpec, buf("ctxh"), buf("vh"), null, buf("scores"))
	b.gemm("d_v", kindAttention, dVSpec, buf("probs"), buf("ctxh"), null, buf("vh"))
	b.launch("d_softmax", kindAttention, kcuda.BlockSoftmaxBwd, perRow(rows, d.S), buf("probs"), buf("scores"),
		uint64(rows), int32(d.S), scale)
	b.gemm("d_q", kindAttention, dQSpec, buf("probs"), buf("kh"), null, buf("ctxh"))
	b.gemm("d_k", kindAttention, dKSpec, buf("probs"), buf("qh"), null, buf("kh"))
	heads("d_q_tokens", buf("ctxh"), buf("q"), d.H, rotate, 0)
	heads("d_k_tokens", buf("kh"), buf("k"), d.KV, rotate, 0)
	heads("d_v_tokens", buf("vh"), buf("v"), d.KV, 0, 0)
	if gpt {
		colReduce("d_bq", buf("q"), null, null, null, "bq", D)
		colReduce("d_bk", buf("k"), null, null, null, "bk", KV)
		colReduce("d_bv", buf("v"), null, null, null, "bv", KV)
	}
	b.gemm("d_wq", kindGEMM, weightGrad(T, D, D), buf("xn"), buf("q"), null, g("wq"))
	b.gemm("d_wk", kindGEMM, weightGrad(T, D, KV), buf("xn"), buf("k"), null, g("wk"))
	b.gemm("d_wv", kindGEMM, weightGrad(T, D, KV), buf("xn"), buf("v"), null, g("wv"))
	b.gemm("d_xn_q", kindGEMM, inputGrad(T, D, D, 0), buf("q"), w("wq"), null, buf("dtmp"))
	b.gemm("d_xn_k", kindGEMM, inputGrad(T, D, KV, 1), buf("k"), w("wk"), buf("dtmp"), buf("dtmp"))
	b.gemm("d_xn_v", kindGEMM, inputGrad(T, D, KV, 1), buf("v"), w("wv"), buf("dtmp"), buf("dtmp"))
	colReduce("d_attn_norm", buf("dtmp"), buf("x"), normMean(gpt, buf("mean1")), buf("inv1"), norm1, D)
	if gpt {
		colReduce("d_attn_norm_bias", buf("dtmp"), null, null, null, norm1+"_bias", D)
	}
	b.launch("d_attn_norm_x", kindOther, kcuda.BlockNormBwd, perRow(t64, D), buf("dtmp"), buf("x"), w(norm1),
		buf("mean1"), buf("inv1"), buf("dh"), buf("dx"), int32(T), int32(D), layer)
	for i, p := range s.pl.params {
		if s.pl.vecOffset[i] < 0 {
			continue
		}
		n := uint64(p.Size())
		b.launch("d_"+p.Name+"_store", kindOther, kcuda.BlockFromF32, b.elems(int64(n)), acc(p.Name), g(p.Name), n)
	}

	// Optimizer: one launch over the flat parameter buffer; its bias
	// corrections change every step, so the launch reads them then.
	b.phase = phaseOptimizer
	master := buf("weights")
	if s.prec.mixed() {
		master = buf("master")
	}
	b.launchFn("adamw", kindOther, kcuda.BlockAdamW, b.elems(s.pl.total), func() []any {
		o := s.opt
		c1 := 1 - math.Pow(o.Beta1, float64(s.steps))
		c2 := 1 - math.Pow(o.Beta2, float64(s.steps))
		return []any{master, buf("weights"), buf("grads"), buf("adam_m"), buf("adam_v"), uint64(s.pl.total),
			float32(o.Beta1), float32(o.Beta2), float32(o.Eps), float32(1 - o.LR*o.WeightDecay), float32(o.LR / c1), float32(1 / c2)}
	})
	return b.err
}

// normMean is the saved mean for LayerNorm, none for RMSNorm.
func normMean(layer bool, mean driver.Ptr) driver.Ptr {
	if layer {
		return mean
	}
	return 0
}
