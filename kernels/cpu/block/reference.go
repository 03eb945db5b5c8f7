package block

import (
	"fmt"
	"math"

	"github.com/flopcast/flopcast/kernels"
)

// Reference computes the block's forward pass and loss in float64 with
// plain loops, independently of gorgonia: the implementation every other
// (the gorgonia step, a GPU step) is checked against. params maps each
// name of cfg.Params() to its row-major values; x and target are
// tokens×hidden, token b·seq+s being position s of sequence b. It returns
// the block's output (tokens×hidden) and the mean squared error against
// target.
func Reference(cfg kernels.BlockConfig, params map[string][]float64, x, target []float64) (out []float64, loss float64, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, 0, err
	}
	for _, p := range cfg.Params() {
		if len(params[p.Name]) != p.Size() {
			return nil, 0, fmt.Errorf("reference: parameter %s has %d values, want %d", p.Name, len(params[p.Name]), p.Size())
		}
	}
	t, d := cfg.Tokens(), cfg.Hidden
	if len(x) != t*d || len(target) != t*d {
		return nil, 0, fmt.Errorf("reference: input %d and target %d values, want %d", len(x), len(target), t*d)
	}
	P := func(name string) []float64 { return params[name] }
	gpt := cfg.Arch == kernels.GPT

	var xn []float64
	if gpt {
		xn = layerNorm(x, t, d, P("attn_norm"), P("attn_norm_bias"))
	} else {
		xn = rmsNorm(x, t, d, P("attn_norm"))
	}
	kv := cfg.KVDim()
	q := matmul(xn, P("wq"), t, d, d)
	k := matmul(xn, P("wk"), t, d, kv)
	v := matmul(xn, P("wv"), t, d, kv)
	if gpt {
		addBias(q, P("bq"))
		addBias(k, P("bk"))
		addBias(v, P("bv"))
	} else {
		rope(q, cfg.Seq, cfg.Heads, cfg.HeadDim())
		rope(k, cfg.Seq, cfg.KVHeads, cfg.HeadDim())
	}
	ctx := attention(cfg, q, k, v)
	attn := matmul(ctx, P("wo"), t, d, d)
	if gpt {
		addBias(attn, P("bo"))
	}
	h := make([]float64, t*d)
	for i := range h {
		h[i] = x[i] + attn[i]
	}

	f := cfg.FFN
	var act []float64
	if gpt {
		hn := layerNorm(h, t, d, P("mlp_norm"), P("mlp_norm_bias"))
		act = matmul(hn, P("w_up"), t, d, f)
		addBias(act, P("b_up"))
		for i, u := range act {
			act[i] = gelu(u)
		}
	} else {
		hn := rmsNorm(h, t, d, P("mlp_norm"))
		gate := matmul(hn, P("w_gate"), t, d, f)
		act = matmul(hn, P("w_up"), t, d, f)
		for i, g := range gate {
			act[i] *= g / (1 + math.Exp(-g))
		}
	}
	down := matmul(act, P("w_down"), t, f, d)
	if gpt {
		addBias(down, P("b_down"))
	}
	out = make([]float64, t*d)
	for i := range out {
		out[i] = h[i] + down[i]
		e := out[i] - target[i]
		loss += e * e
	}
	return out, loss / float64(len(out)), nil
}

// matmul returns a (m×k) · b (k×n), row-major.
func matmul(a, b []float64, m, k, n int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			bp := b[p*n : (p+1)*n]
			for j := range ci {
				ci[j] += av * bp[j]
			}
		}
	}
	return c
}

func addBias(x, b []float64) {
	n := len(b)
	for i := range x {
		x[i] += b[i%n]
	}
}

// rmsNorm returns x_i / sqrt(mean(x²) + eps) · g_i per row.
func rmsNorm(x []float64, rows, cols int, g []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		var ss float64
		for _, v := range row {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(cols)+kernels.BlockNormEps)
		for j, v := range row {
			out[r*cols+j] = v * inv * g[j]
		}
	}
	return out
}

// layerNorm returns (x_i − mean) / sqrt(var + eps) · g_i + b_i per row,
// with the biased variance.
func layerNorm(x []float64, rows, cols int, g, b []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		var mean float64
		for _, v := range row {
			mean += v
		}
		mean /= float64(cols)
		var vr float64
		for _, v := range row {
			vr += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(vr/float64(cols)+kernels.BlockNormEps)
		for j, v := range row {
			out[r*cols+j] = (v-mean)*inv*g[j] + b[j]
		}
	}
	return out
}

// rope rotates, in place, every head of x (tokens × heads·headDim) by its
// token's position: pair (i, i+headDim/2) by angle pos·base^(−2i/headDim)
// (the rotate-half form).
func rope(x []float64, seq, heads, hd int) {
	half := hd / 2
	tokens := len(x) / (heads * hd)
	for t := 0; t < tokens; t++ {
		pos := float64(t % seq)
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*hd : (t*heads+h+1)*hd]
			for i := 0; i < half; i++ {
				s, c := math.Sincos(pos * ropeFreq(i, hd))
				a, b := v[i], v[i+half]
				v[i] = a*c - b*s
				v[i+half] = b*c + a*s
			}
		}
	}
}

// ropeFreq returns base^(−2i/headDim).
func ropeFreq(i, hd int) float64 {
	return math.Pow(kernels.BlockRopeBase, -2*float64(i)/float64(hd))
}

// attention returns the causal softmax(q·kᵀ/√headDim)·v context,
// tokens × heads·headDim; query head h reads key/value head
// h / (heads/kvHeads).
func attention(cfg kernels.BlockConfig, q, k, v []float64) []float64 {
	hd, H, KV, S := cfg.HeadDim(), cfg.Heads, cfg.KVHeads, cfg.Seq
	group := H / KV
	scale := 1 / math.Sqrt(float64(hd))
	ctx := make([]float64, len(q))
	p := make([]float64, S)
	for b := 0; b < cfg.Batch; b++ {
		for h := 0; h < H; h++ {
			kh := h / group
			for i := 0; i < S; i++ {
				qi := q[((b*S+i)*H+h)*hd:][:hd]
				top := math.Inf(-1)
				for j := 0; j <= i; j++ {
					kj := k[((b*S+j)*KV+kh)*hd:][:hd]
					var s float64
					for e := range qi {
						s += qi[e] * kj[e]
					}
					p[j] = s * scale
					top = math.Max(top, p[j])
				}
				var sum float64
				for j := 0; j <= i; j++ {
					p[j] = math.Exp(p[j] - top)
					sum += p[j]
				}
				ci := ctx[((b*S+i)*H+h)*hd:][:hd]
				for j := 0; j <= i; j++ {
					vj := v[((b*S+j)*KV+kh)*hd:][:hd]
					w := p[j] / sum
					for e := range ci {
						ci[e] += w * vj[e]
					}
				}
			}
		}
	}
	return ctx
}

// gelu is the tanh approximation of GELU used by GPT-2 and GPT-3.
func gelu(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}
