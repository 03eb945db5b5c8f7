package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu/block"
	kcuda "github.com/flopcast/flopcast/kernels/cuda"
)

// emulator runs a GPU block step's operations on the host in float64:
// every buffer of the fp32 arena is a run of float64 slots (4 bytes a
// slot), every kernel is re-implemented from block.cu's documented
// semantics and every GEMM is the row-major product its spec means (the
// cuBLASLt layouts are checked against that in cuda/blaslt). It checks the
// wiring (operation order, buffers, aliasing, specs, launch arguments)
// without a GPU.
type emulator struct {
	s   *blockStep
	mem []float64
}

const emuBase = driver.Ptr(1 << 30)

func newEmulator(t *testing.T, cfg kernels.BlockConfig, seed uint64) *emulator {
	t.Helper()
	prec, _ := blockPrecisionFor(kernels.FP32)
	ar, pl := blockArena(cfg, prec)
	s := &blockStep{bk: &Backend{info: result.Device{Cores: 4}}, cfg: cfg, prec: prec, ar: ar, pl: pl,
		dims: dimsOf(cfg), opt: BlockAdamW, base: emuBase}
	if err := s.buildOps(true); err != nil {
		t.Fatal(err)
	}
	e := &emulator{s: s, mem: make([]float64, ar.size/4)}
	params, x, target := hostInit(cfg, pl, seed)
	copy(e.at(s.buf("weights")), params)
	copy(e.at(s.buf("x")), x)
	copy(e.at(s.buf("target")), target)
	d := s.dims
	half := d.hd / 2
	cosT, sinT := e.at(s.buf("cos")), e.at(s.buf("sin"))
	for p := 0; p < d.S; p++ {
		for i := 0; i < half; i++ {
			sinT[p*half+i], cosT[p*half+i] = math.Sincos(float64(p) * math.Pow(kernels.BlockRopeBase, -2*float64(i)/float64(d.hd)))
		}
	}
	return e
}

// at returns the slots from address p to the end of memory.
func (e *emulator) at(p driver.Ptr) []float64 {
	if p == 0 {
		return nil
	}
	off := int64(p - emuBase)
	if off%4 != 0 || off < 0 || off/4 >= int64(len(e.mem)) {
		panic(fmt.Sprintf("address %#x outside the arena", uint64(p)))
	}
	return e.mem[off/4:]
}

func (e *emulator) step(t *testing.T) {
	t.Helper()
	e.s.steps++
	for _, op := range e.s.ops {
		switch {
		case op.spec != nil:
			e.gemm(op)
		case op.kernel != "":
			e.kernel(t, op.kernel, op.args())
		default:
			z := e.at(op.zero)
			for i := int64(0); i < op.words; i++ {
				z[i] = 0
			}
		}
	}
}

func (e *emulator) gemm(op blockOp) {
	s := op.spec
	A, B, D := e.at(op.a), e.at(op.b), e.at(op.d)
	var C []float64
	if s.Beta != 0 {
		C = e.at(op.c)
	}
	out := make([]float64, s.M*s.N)
	for n := 0; n < max(s.Batch, 1); n++ {
		a, b := A[int64(n)*s.StrideA:], B[int64(n)*s.StrideB:]
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				var sum float64
				for k := 0; k < s.K; k++ {
					av, bv := a[i*s.K+k], b[k*s.N+j]
					if s.TransA {
						av = a[k*s.M+i]
					}
					if s.TransB {
						bv = b[j*s.K+k]
					}
					sum += av * bv
				}
				if C != nil {
					sum += float64(s.Beta) * C[int64(n)*s.StrideC+int64(i*s.N+j)]
				}
				out[i*s.N+j] = sum
			}
		}
		copy(D[int64(n)*s.StrideC:], out)
	}
}

func (e *emulator) kernel(t *testing.T, name string, a []any) {
	p := func(i int) []float64 { return e.at(a[i].(driver.Ptr)) }
	i32 := func(i int) int { return int(a[i].(int32)) }
	u64 := func(i int) int { return int(a[i].(uint64)) }
	f32 := func(i int) float64 { return float64(a[i].(float32)) }
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	const c, k = 0.7978845608028654, 0.044715
	switch name {
	case kcuda.BlockNormFwd:
		x, g, b, y, mean, inv := p(0), p(1), p(2), p(3), p(4), p(5)
		rows, cols, eps, layer := i32(6), i32(7), f32(8), i32(9) == 1
		for r := 0; r < rows; r++ {
			row := x[r*cols : (r+1)*cols]
			mu := 0.0
			if layer {
				for _, v := range row {
					mu += v
				}
				mu /= float64(cols)
			}
			var ss float64
			for _, v := range row {
				ss += (v - mu) * (v - mu)
			}
			rs := 1 / math.Sqrt(ss/float64(cols)+eps)
			for j, v := range row {
				y[r*cols+j] = (v - mu) * rs * g[j]
				if layer {
					y[r*cols+j] += b[j]
				}
			}
			inv[r] = rs
			if layer {
				mean[r] = mu
			}
		}
	case kcuda.BlockNormBwd:
		dy, x, g, mean, inv, resid, dx := p(0), p(1), p(2), p(3), p(4), p(5), p(6)
		rows, cols, layer := i32(7), i32(8), i32(9) == 1
		for r := 0; r < rows; r++ {
			mu, rs := 0.0, inv[r]
			if layer {
				mu = mean[r]
			}
			var sg, sgx float64
			for j := 0; j < cols; j++ {
				gy := g[j] * dy[r*cols+j]
				sg += gy
				sgx += gy * (x[r*cols+j] - mu) * rs
			}
			mg, mgx := sg/float64(cols), sgx/float64(cols)
			if !layer {
				mg = 0
			}
			for j := 0; j < cols; j++ {
				gy := g[j] * dy[r*cols+j]
				xh := (x[r*cols+j] - mu) * rs
				dx[r*cols+j] = resid[r*cols+j] + rs*(gy-mg-xh*mgx)
			}
		}
	case kcuda.BlockColReduce:
		am, x, mean, inv, acc := p(0), p(1), p(2), p(3), p(4)
		rows, cols := i32(5), i32(6)
		for j := 0; j < cols; j++ {
			for r := 0; r < rows; r++ {
				w := 1.0
				if x != nil {
					mu := 0.0
					if mean != nil {
						mu = mean[r]
					}
					w = (x[r*cols+j] - mu) * inv[r]
				}
				acc[j] += am[r*cols+j] * w
			}
		}
	case kcuda.BlockFromF32:
		copy(p(1)[:u64(2)], p(0)[:u64(2)])
	case kcuda.BlockHeads:
		in, out, cosT, sinT := p(0), p(1), p(2), p(3)
		B, S, nh, hd, rotate, toHeads := i32(4), i32(5), i32(6), i32(7), i32(8) == 1, i32(9) == 1
		half := hd / 2
		for b := 0; b < B; b++ {
			for s := 0; s < S; s++ {
				for h := 0; h < nh; h++ {
					tok, hm := ((b*S+s)*nh+h)*hd, ((b*nh+h)*S+s)*hd
					src, dst := hm, tok
					if toHeads {
						src, dst = tok, hm
					}
					for i := 0; i < half; i++ {
						x0, x1 := in[src+i], in[src+i+half]
						if rotate {
							co, si := cosT[s*half+i], sinT[s*half+i]
							if !toHeads {
								si = -si
							}
							x0, x1 = x0*co-x1*si, x1*co+x0*si
						}
						out[dst+i], out[dst+i+half] = x0, x1
					}
				}
			}
		}
	case kcuda.BlockSoftmaxFwd:
		sc, pr := p(0), p(1)
		rows, seq, scale := u64(2), i32(3), f32(4)
		for r := 0; r < rows; r++ {
			pos := r % seq
			m := math.Inf(-1)
			for j := 0; j <= pos; j++ {
				m = math.Max(m, scale*sc[r*seq+j])
			}
			var sum float64
			for j := 0; j <= pos; j++ {
				sum += math.Exp(scale*sc[r*seq+j] - m)
			}
			for j := 0; j < seq; j++ {
				pr[r*seq+j] = 0
				if j <= pos {
					pr[r*seq+j] = math.Exp(scale*sc[r*seq+j]-m) / sum
				}
			}
		}
	case kcuda.BlockSoftmaxBwd:
		pr, dp := p(0), p(1)
		rows, seq, scale := u64(2), i32(3), f32(4)
		for r := 0; r < rows; r++ {
			pos := r % seq
			var dot float64
			for j := 0; j <= pos; j++ {
				dot += pr[r*seq+j] * dp[r*seq+j]
			}
			for j := 0; j < seq; j++ {
				v := 0.0
				if j <= pos {
					v = scale * pr[r*seq+j] * (dp[r*seq+j] - dot)
				}
				pr[r*seq+j] = v
			}
		}
	case kcuda.BlockSwiGLUFwd:
		g, u, act := p(0), p(1), p(2)
		for i := 0; i < u64(3); i++ {
			act[i] = g[i] * sigmoid(g[i]) * u[i]
		}
	case kcuda.BlockSwiGLUBwd:
		d, g, u := p(0), p(1), p(2)
		for i := 0; i < u64(3); i++ {
			sg := sigmoid(g[i])
			g[i], u[i] = d[i]*u[i]*sg*(1+g[i]*(1-sg)), d[i]*g[i]*sg
		}
	case kcuda.BlockGELUFwd:
		u, act := p(0), p(1)
		for i := 0; i < u64(2); i++ {
			x := u[i]
			act[i] = 0.5 * x * (1 + math.Tanh(c*(x+k*x*x*x)))
		}
	case kcuda.BlockGELUBwd:
		d, u := p(0), p(1)
		for i := 0; i < u64(2); i++ {
			x := u[i]
			th := math.Tanh(c * (x + k*x*x*x))
			u[i] = d[i] * (0.5*(1+th) + 0.5*x*(1-th*th)*c*(1+3*k*x*x))
		}
	case kcuda.BlockAdd:
		x, y, z := p(0), p(1), p(2)
		for i := 0; i < u64(3); i++ {
			z[i] = x[i] + y[i]
		}
	case kcuda.BlockAddBias:
		y, b, n, cols := p(0), p(1), u64(2), i32(3)
		for i := 0; i < n; i++ {
			y[i] += b[i%cols]
		}
	case kcuda.BlockMSE:
		out, tg, dout, sum, n := p(0), p(1), p(2), p(3), u64(4)
		for i := 0; i < n; i++ {
			d := out[i] - tg[i]
			dout[i] = 2 * d / float64(n)
			sum[0] += d * d
		}
	case kcuda.BlockAdamW:
		master, w, g, m, v, n := p(0), p(1), p(2), p(3), p(4), u64(5)
		b1, b2, eps, decay, lrc1, ic2 := f32(6), f32(7), f32(8), f32(9), f32(10), f32(11)
		for i := 0; i < n; i++ {
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			master[i] = master[i]*decay - lrc1*m[i]/(math.Sqrt(v[i]*ic2)+eps)
			w[i] = master[i]
		}
	default:
		t.Fatalf("no emulation of kernel %s", name)
	}
}

// relErr is ‖got − want‖₂ / max(‖want‖₂, floor): a gradient that is zero
// in exact arithmetic (the key bias's, softmax being invariant to a shift
// of a row) is compared absolutely.
func relErr(got, want []float64, floor float64) float64 {
	if len(got) != len(want) || len(want) == 0 {
		return math.Inf(1)
	}
	var num, den float64
	for i := range got {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	return math.Sqrt(num) / max(math.Sqrt(den), floor)
}

// TestEmulatedStepMatchesGorgonia runs the GPU step's operations on the
// host in float64 and compares the loss, the output, every parameter's
// gradient, the input's gradient and the parameters after the AdamW update
// with the CPU gorgonia step in fp64, over two steps. The first step's
// gradients agree to float64 rounding; the update passes its
// hyper-parameters as float32 kernel arguments (2e-8 relative), which the
// second step inherits.
func TestEmulatedStepMatchesGorgonia(t *testing.T) {
	tiny, _ := kernels.LookupModel("tiny")
	llama := kernels.BlockFromModel(tiny)
	gpt := llama
	gpt.Arch = kernels.GPT
	mha := kernels.BlockConfig{Arch: kernels.GPT, Hidden: 16, Heads: 4, KVHeads: 4, FFN: 24, Seq: 5, Batch: 2}
	gqa := kernels.BlockConfig{Arch: kernels.Llama, Hidden: 16, Heads: 4, KVHeads: 1, FFN: 8, Seq: 3, Batch: 3}
	const floor = 1e-6
	for _, cfg := range []kernels.BlockConfig{llama, gpt, mha, gqa} {
		t.Run(cfg.String(), func(t *testing.T) {
			e := newEmulator(t, cfg, 5)
			ref, err := block.New(cfg, kernels.FP64, 5, BlockAdamW)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			s := e.s
			n := s.dims.T * s.dims.D
			for step := 0; step < 2; step++ {
				bound, after := 1e-9, 1e-7
				if step > 0 {
					bound = 1e-6
				}
				e.step(t)
				if _, err := ref.Step(false); err != nil {
					t.Fatal(err)
				}
				loss := e.at(s.buf("loss"))[0] / float64(n)
				if r := math.Abs(loss-ref.Loss()) / ref.Loss(); !(r < bound) {
					t.Errorf("step %d: loss %g, gorgonia %g", step, loss, ref.Loss())
				}
				if r := relErr(e.at(s.buf("out"))[:n], ref.Output(), floor); !(r < bound) {
					t.Errorf("step %d: output relative error %.2e", step, r)
				}
				if r := relErr(e.at(s.buf("dx"))[:n], ref.InputGradient(), floor); !(r < bound) {
					t.Errorf("step %d: input gradient relative error %.2e", step, r)
				}
				for _, p := range cfg.Params() {
					got := e.at(s.param("grads", p.Name))[:p.Size()]
					if r := relErr(got, ref.Gradient(p.Name), floor); !(r < bound) {
						t.Errorf("step %d: gradient of %s relative error %.2e", step, p.Name, r)
					}
					// After the update: the new weights.
					if r := relErr(e.at(s.param("weights", p.Name))[:p.Size()], ref.Param(p.Name), floor); !(r < after) {
						t.Errorf("step %d: %s after AdamW relative error %.2e", step, p.Name, r)
					}
				}
			}
		})
	}
}

// TestOpsArePhasedAndKinded checks the op list's bookkeeping: every op has
// a known phase and kind, the phases come in order, the optimizer is one
// launch, attention ops exist, and every op reads only arena addresses.
func TestOpsArePhasedAndKinded(t *testing.T) {
	tiny, _ := kernels.LookupModel("tiny")
	for _, arch := range []kernels.Arch{kernels.Llama, kernels.GPT} {
		cfg := kernels.BlockFromModel(tiny)
		cfg.Arch = arch
		e := newEmulator(t, cfg, 1)
		order := map[string]int{phaseForward: 0, phaseBackward: 1, phaseOptimizer: 2}
		last, kinds, gemms := 0, map[string]int{}, 0
		for _, op := range e.s.ops {
			ph, ok := order[op.phase]
			if !ok || ph < last {
				t.Fatalf("%s: op %s in phase %q after phase %d", arch, op.name, op.phase, last)
			}
			last = ph
			kinds[op.kind]++
			if op.spec != nil {
				gemms++
				for _, p := range []driver.Ptr{op.a, op.b, op.d} {
					e.at(p) // panics outside the arena
				}
			}
		}
		if kinds[kindGEMM] == 0 || kinds[kindAttention] == 0 || kinds[kindOther] == 0 || len(kinds) != 3 {
			t.Errorf("%s: kinds %v", arch, kinds)
		}
		if op := e.s.ops[len(e.s.ops)-1]; op.phase != phaseOptimizer || op.kernel != kcuda.BlockAdamW {
			t.Errorf("%s: last op %s (%s)", arch, op.name, op.phase)
		}
		// 9 forward and 18 backward products for llama (3 fewer for gpt:
		// no gate).
		want := 27
		if arch == kernels.GPT {
			want = 24
		}
		if gemms != want {
			t.Errorf("%s: %d GEMMs, want %d", arch, gemms, want)
		}
	}
}
