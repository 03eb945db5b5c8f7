package block

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/flopcast/flopcast/kernels"
)

// graph is the block's expression graph: inputs, parameters, the constant
// tables, the output, the loss and the symbolic gradients.
type graph struct {
	g      *G.ExprGraph
	dt     tensor.Dtype
	x      *G.Node // tokens × hidden
	target *G.Node // tokens × hidden
	params []*G.Node
	consts []*G.Node // rotary tables and the causal mask
	out    *G.Node
	loss   *G.Node
	grads  []*G.Node // d loss / d params[i]
	xGrad  *G.Node   // d loss / d x
}

// buildGraph builds the block's graph in dtype dt with the given parameter,
// input and target values (their backing slices stay bound to the nodes,
// so writing into them changes the next run's inputs). Gorgonia panics on
// shape errors while building; they come back as errors.
func buildGraph(cfg kernels.BlockConfig, dt tensor.Dtype, params []*tensor.Dense, x, target *tensor.Dense) (gr *graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			gr, err = nil, fmt.Errorf("block graph: %v", r)
		}
	}()
	b := &builder{cfg: cfg, gr: &graph{g: G.NewGraph(), dt: dt}}
	gr = b.gr
	gr.x = b.input("x", x)
	gr.target = b.input("target", target)
	P := map[string]*G.Node{}
	for i, p := range cfg.Params() {
		n := b.input(p.Name, params[i])
		gr.params = append(gr.params, n)
		P[p.Name] = n
	}
	if cfg.Arch == kernels.GPT {
		gr.out = b.gpt(P)
	} else {
		gr.out = b.llama(P)
	}
	diff := G.Must(G.Sub(gr.out, gr.target))
	gr.loss = G.Must(G.Mean(G.Must(G.Square(diff))))
	grads, err := G.Grad(gr.loss, append(append([]*G.Node{}, gr.params...), gr.x)...)
	if err != nil {
		return nil, fmt.Errorf("block graph: gradients: %v", err)
	}
	gr.grads, gr.xGrad = grads[:len(gr.params)], grads[len(gr.params)]
	return gr, nil
}

type builder struct {
	cfg kernels.BlockConfig
	gr  *graph
}

// input adds a node bound to v, a vector when v is one row.
func (b *builder) input(name string, v *tensor.Dense) *G.Node {
	s := v.Shape()
	if s.Dims() == 2 && s[0] == 1 {
		v.Reshape(s[1])
	}
	return G.NewTensor(b.gr.g, b.gr.dt, v.Dims(), G.WithShape(v.Shape()...), G.WithName(name), G.WithValue(v))
}

// constant adds a constant table as an input node that takes no gradient.
func (b *builder) constant(name string, v *tensor.Dense) *G.Node {
	n := b.input(name, v)
	b.gr.consts = append(b.gr.consts, n)
	return n
}

// scalar returns a constant scalar of the graph's dtype.
func (b *builder) scalar(v float64) *G.Node {
	if b.gr.dt == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// table returns a dense tensor of the graph's dtype filled from f.
func (b *builder) table(f func(i int) float64, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if b.gr.dt == tensor.Float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(f(i))
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = f(i)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// rows applies a per-row vector r (one value per row of x) to x with op.
func rows(op func(a, b *G.Node, l, r []byte) (*G.Node, error), x, r *G.Node) *G.Node {
	return G.Must(op(x, r, nil, []byte{1}))
}

// cols applies a per-column vector c (one value per column of x) to x.
func cols(op func(a, b *G.Node, l, r []byte) (*G.Node, error), x, c *G.Node) *G.Node {
	return G.Must(op(x, c, nil, []byte{0}))
}

// invSqrt is 1/√x. Gorgonia v0.9.18's InverseSqrt has a wrong gradient
// (found by the finite-difference test), so it is composed of Sqrt and
// Inverse.
func (b *builder) invSqrt(x *G.Node) *G.Node {
	return G.Must(G.Inverse(G.Must(G.Sqrt(x))))
}

// rmsNorm is x / sqrt(mean(x²) + eps) · g, per row.
func (b *builder) rmsNorm(x, g *G.Node) *G.Node {
	ms := G.Must(G.Mean(G.Must(G.Square(x)), 1))
	inv := b.invSqrt(G.Must(G.Add(ms, b.scalar(kernels.BlockNormEps))))
	return cols(G.BroadcastHadamardProd, rows(G.BroadcastHadamardProd, x, inv), g)
}

// layerNorm is (x − mean) / sqrt(var + eps) · g + bias, per row.
func (b *builder) layerNorm(x, g, bias *G.Node) *G.Node {
	xc := rows(G.BroadcastSub, x, G.Must(G.Mean(x, 1)))
	vr := G.Must(G.Mean(G.Must(G.Square(xc)), 1))
	inv := b.invSqrt(G.Must(G.Add(vr, b.scalar(kernels.BlockNormEps))))
	return cols(G.BroadcastAdd, cols(G.BroadcastHadamardProd, rows(G.BroadcastHadamardProd, xc, inv), g), bias)
}

// rope rotates every head of x (tokens × heads·headDim) by its token's
// position (ropeOp).
func (b *builder) rope(x *G.Node, heads int) *G.Node {
	return G.Must(G.ApplyOp(newRope(b.cfg.Seq, heads, b.cfg.HeadDim()), x))
}

// attention is causal softmax(q·kᵀ/√headDim)·v. The query heads that share
// a key/value head are stacked as one (group·seq)-row matrix, so each
// batched product runs once per (sequence, kv head) and no key or value is
// copied.
func (b *builder) attention(q, k, v *G.Node) *G.Node {
	c := b.cfg
	B, S, KV, hd := c.Batch, c.Seq, c.KVHeads, c.HeadDim()
	grp := c.Heads / KV
	// B, S, KV, grp, hd → B, KV, grp, S, hd
	qs := permute(q, tensor.Shape{B, S, KV, grp, hd}, []int{0, 2, 3, 1, 4}, tensor.Shape{B * KV, grp * S, hd})
	kvs := func(n *G.Node) *G.Node { // B, S, KV, hd → B, KV, S, hd
		return permute(n, tensor.Shape{B, S, KV, hd}, []int{0, 2, 1, 3}, tensor.Shape{B * KV, S, hd})
	}
	ks, vs := kvs(k), kvs(v)
	scores := G.Must(G.BatchedMatMul(qs, ks, false, true)) // B·KV, grp·S, S
	scores = G.Must(G.Mul(scores, b.scalar(1/math.Sqrt(float64(hd)))))
	mask := b.constant("causal_mask", b.table(func(i int) float64 {
		row, col := (i/S)%(grp*S), i%S
		if col > row%S {
			return kernels.BlockMaskValue
		}
		return 0
	}, B*KV, grp*S, S))
	probs := G.Must(G.SoftMax(G.Must(G.Add(scores, mask)), 2))
	ctx := G.Must(G.BatchedMatMul(probs, vs)) // B·KV, grp·S, hd
	// B, KV, grp, S, hd → B, S, KV, grp, hd
	return permute(ctx, tensor.Shape{B, KV, grp, S, hd}, []int{0, 3, 1, 2, 4}, tensor.Shape{c.Tokens(), c.Hidden})
}

func (b *builder) llama(P map[string]*G.Node) *G.Node {
	x := b.gr.x
	xn := b.rmsNorm(x, P["attn_norm"])
	q := b.rope(G.Must(G.Mul(xn, P["wq"])), b.cfg.Heads)
	k := b.rope(G.Must(G.Mul(xn, P["wk"])), b.cfg.KVHeads)
	v := G.Must(G.Mul(xn, P["wv"]))
	attn := G.Must(G.Mul(b.attention(q, k, v), P["wo"]))
	h := G.Must(G.Add(x, attn))
	hn := b.rmsNorm(h, P["mlp_norm"])
	gate := G.Must(G.Mul(hn, P["w_gate"]))
	up := G.Must(G.Mul(hn, P["w_up"]))
	silu := G.Must(G.HadamardProd(gate, G.Must(G.Sigmoid(gate))))
	down := G.Must(G.Mul(G.Must(G.HadamardProd(silu, up)), P["w_down"]))
	return G.Must(G.Add(h, down))
}

func (b *builder) gpt(P map[string]*G.Node) *G.Node {
	x := b.gr.x
	linear := func(in *G.Node, w, bias string) *G.Node {
		return cols(G.BroadcastAdd, G.Must(G.Mul(in, P[w])), P[bias])
	}
	xn := b.layerNorm(x, P["attn_norm"], P["attn_norm_bias"])
	q, k, v := linear(xn, "wq", "bq"), linear(xn, "wk", "bk"), linear(xn, "wv", "bv")
	attn := linear(b.attention(q, k, v), "wo", "bo")
	h := G.Must(G.Add(x, attn))
	hn := b.layerNorm(h, P["mlp_norm"], P["mlp_norm_bias"])
	down := linear(b.gelu(linear(hn, "w_up", "b_up")), "w_down", "b_down")
	return G.Must(G.Add(h, down))
}

// gelu is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (b *builder) gelu(x *G.Node) *G.Node {
	inner := G.Must(G.Add(x, G.Must(G.Mul(G.Must(G.Cube(x)), b.scalar(0.044715)))))
	th := G.Must(G.Tanh(G.Must(G.Mul(inner, b.scalar(math.Sqrt(2/math.Pi))))))
	return G.Must(G.Mul(G.Must(G.HadamardProd(x, G.Must(G.Add(th, b.scalar(1))))), b.scalar(0.5)))
}
