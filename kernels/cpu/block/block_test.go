package block

import (
	"math"
	"testing"

	"github.com/flopcast/flopcast/kernels"
)

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func diffNorm(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

// blocks are small shapes that exercise grouped-query attention (kv-heads
// < heads), multi-head attention, one and several sequences.
var blocks = []kernels.BlockConfig{
	{Arch: kernels.Llama, Hidden: 16, Heads: 4, KVHeads: 2, FFN: 24, Seq: 5, Batch: 2},
	{Arch: kernels.Llama, Hidden: 12, Heads: 3, KVHeads: 3, FFN: 20, Seq: 7, Batch: 1},
	{Arch: kernels.Llama, Hidden: 16, Heads: 4, KVHeads: 1, FFN: 8, Seq: 3, Batch: 3},
	{Arch: kernels.GPT, Hidden: 16, Heads: 4, KVHeads: 4, FFN: 32, Seq: 5, Batch: 2},
	{Arch: kernels.GPT, Hidden: 16, Heads: 4, KVHeads: 2, FFN: 24, Seq: 6, Batch: 1},
}

func newStep(t *testing.T, cfg kernels.BlockConfig, d kernels.DType, seed uint64, o AdamW) *Step {
	t.Helper()
	s, err := New(cfg, d, seed, o)
	if err != nil {
		t.Fatalf("%s %s: %v", cfg, d, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestForwardMatchesReference compares gorgonia's output and loss with the
// plain-loop float64 reference, before and after an update.
func TestForwardMatchesReference(t *testing.T) {
	m, _ := kernels.LookupModel("tiny")
	cfgs := append(blocks, kernels.BlockFromModel(m))
	for _, cfg := range cfgs {
		for _, d := range []kernels.DType{kernels.FP64, kernels.FP32} {
			t.Run(cfg.String()+"/"+d.String(), func(t *testing.T) {
				s := newStep(t, cfg, d, 11, DefaultAdamW)
				bound := kernels.BlockRelErrorBound(d)
				for step := 0; step < 2; step++ {
					params, x, target := s.Params(), s.Input(), s.Target()
					out, loss, err := Reference(cfg, params, x, target)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.Step(false); err != nil {
						t.Fatal(err)
					}
					if e := kernels.RelError(s.Output(), out); !(e <= bound) {
						t.Errorf("step %d: output relative error %.2e > %.0e", step, e, bound)
					}
					if e, lb := math.Abs(s.Loss()-loss)/loss, kernels.BlockLossErrorBound(d, len(out)); !(e <= lb) {
						t.Errorf("step %d: loss %g, reference %g (relative error %.2e > %.1e)", step, s.Loss(), loss, e, lb)
					}
				}
			})
		}
	}
}

// TestReferenceCatchesWrongBlocks makes sure the comparison above can fail:
// the reference differs clearly when any one parameter changes.
func TestReferenceCatchesWrongBlocks(t *testing.T) {
	cfg := blocks[0]
	s := newStep(t, cfg, kernels.FP64, 3, DefaultAdamW)
	params := s.Params()
	base, _, err := Reference(cfg, params, s.Input(), s.Target())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Params() {
		changed := map[string][]float64{}
		for k, v := range params {
			changed[k] = v
		}
		w := append([]float64(nil), params[p.Name]...)
		w[len(w)/2] += 0.05
		changed[p.Name] = w
		out, _, err := Reference(cfg, changed, s.Input(), s.Target())
		if err != nil {
			t.Fatal(err)
		}
		if e := kernels.RelError(out, base); e < 1e-6 {
			t.Errorf("changing %s[%d] by 0.05 moves the output by only %.1e", p.Name, len(w)/2, e)
		}
	}
	if _, _, err := Reference(cfg, map[string][]float64{}, s.Input(), s.Target()); err == nil {
		t.Error("missing parameters accepted")
	}
}

// TestGradientsMatchFiniteDifferences checks gorgonia's gradient of every
// parameter and of the input against central differences of the fp64
// loss, on a sample of elements of each. With h = 1e-5 the truncation
// error is about h²·|f”'| and the rounding error about 1e-16/h, both
// below 1e-9 of the gradients here; the bound, 1e-6 relative over each
// tensor's sample, is far below the error of a wrong gradient (order 1).
// The norm compared against is at least 1e-4, because the GPT key bias's
// gradient is zero in exact arithmetic (it shifts a row of scores by a
// constant, which softmax cancels) and both sides are rounding noise.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	const h, bound, samples = 1e-5, 1e-6, 6
	for _, cfg := range []kernels.BlockConfig{blocks[0], blocks[3]} {
		t.Run(cfg.String(), func(t *testing.T) {
			s := newStep(t, cfg, kernels.FP64, 5, DefaultAdamW)
			if err := s.ForwardBackward(); err != nil {
				t.Fatal(err)
			}
			type tensorGrad struct {
				name  string
				grad  []float64
				value []float64
				set   func(i int, v float64) error
			}
			var all []tensorGrad
			for _, p := range cfg.Params() {
				name := p.Name
				all = append(all, tensorGrad{name, s.Gradient(name), s.Param(name),
					func(i int, v float64) error { return s.SetParam(name, i, v) }})
			}
			all = append(all, tensorGrad{"input", s.InputGradient(), s.Input(), s.SetInput})
			r := kernels.NewRand(9)
			for _, tg := range all {
				if len(tg.grad) != len(tg.value) {
					t.Fatalf("%s: gradient has %d values, parameter %d", tg.name, len(tg.grad), len(tg.value))
				}
				idx := []int{0, len(tg.value) - 1}
				for len(idx) < samples {
					idx = append(idx, r.IntN(len(tg.value)))
				}
				var fd, an []float64
				for _, i := range idx {
					loss := func(v float64) float64 {
						if err := tg.set(i, v); err != nil {
							t.Fatal(err)
						}
						l, err := s.Forward()
						if err != nil {
							t.Fatal(err)
						}
						return l
					}
					x := tg.value[i]
					d := (loss(x+h) - loss(x-h)) / (2 * h)
					loss(x)
					fd = append(fd, d)
					an = append(an, tg.grad[i])
				}
				e := diffNorm(an, fd) / math.Max(norm(fd), 1e-4)
				if !(e <= bound) {
					t.Errorf("%s: gradient %v, finite differences %v: relative error %.2e > %.0e", tg.name, an, fd, e, bound)
				} else {
					t.Logf("%s: relative error %.1e", tg.name, e)
				}
			}
		})
	}
}

// TestFiftyStepsReduceLoss trains the tiny block on a fixed input and
// target: the loss must fall below half its first value and rise on at
// most 5 of the 49 steps.
func TestFiftyStepsReduceLoss(t *testing.T) {
	m, _ := kernels.LookupModel("tiny")
	for _, c := range []struct {
		arch kernels.Arch
		d    kernels.DType
	}{{kernels.Llama, kernels.FP32}, {kernels.GPT, kernels.FP64}} {
		cfg := kernels.BlockFromModel(m)
		cfg.Arch = c.arch
		t.Run(cfg.String()+"/"+c.d.String(), func(t *testing.T) {
			s := newStep(t, cfg, c.d, 21, DefaultAdamW)
			first := s.Param("wq")
			var losses []float64
			for i := 0; i < 50; i++ {
				tm, err := s.Step(i == 10)
				if err != nil {
					t.Fatal(err)
				}
				if !(tm.Seconds > 0 && tm.ForwardBackward > 0 && tm.Optimizer > 0) || (i == 10) != (tm.Forward > 0) {
					t.Fatalf("step %d: timing %+v", i, tm)
				}
				losses = append(losses, s.Loss())
			}
			rises := 0
			for i := 1; i < len(losses); i++ {
				if losses[i] >= losses[i-1] {
					rises++
				}
			}
			if last := losses[len(losses)-1]; !(last < 0.5*losses[0]) || rises > 5 {
				t.Errorf("losses %.4g … %.4g (ratio %.3f), %d rises", losses[0], last, last/losses[0], rises)
			}
			if kernels.RelError(s.Param("wq"), first) < 1e-3 {
				t.Error("the update did not move wq")
			}
		})
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	if _, err := New(kernels.BlockConfig{Arch: kernels.Llama, Hidden: 10, Heads: 3, KVHeads: 1, FFN: 4, Seq: 2, Batch: 1}, kernels.FP32, 1, DefaultAdamW); err == nil {
		t.Error("heads that do not divide hidden accepted")
	}
	if _, err := New(blocks[0], kernels.BF16, 1, DefaultAdamW); err == nil {
		t.Error("bf16 accepted on the CPU")
	}
}

// TestStepTimesItsMatrixProductsByKind: every matrix product of a step is
// timed and put in the right kind. Per step, attention runs its score and
// context products once per (sequence, kv head) forward and twice each
// backward (both operands' gradients): 6·batch·kvHeads products. The
// projections and the MLP (7 weight matrices for llama, 6 for gpt) run once
// forward and twice backward.
func TestStepTimesItsMatrixProductsByKind(t *testing.T) {
	for _, cfg := range blocks {
		for _, d := range []kernels.DType{kernels.FP32, kernels.FP64} {
			s := newStep(t, cfg, d, 3, DefaultAdamW)
			tm, err := s.Step(false)
			if err != nil {
				t.Fatal(err)
			}
			weights := 7
			if cfg.Arch == kernels.GPT {
				weights = 6
			}
			if tm.AttentionGEMMCalls != 6*cfg.Batch*cfg.KVHeads || tm.GEMMCalls != 3*weights {
				t.Errorf("%s %s: %d attention and %d other products, want %d and %d", cfg, d,
					tm.AttentionGEMMCalls, tm.GEMMCalls, 6*cfg.Batch*cfg.KVHeads, 3*weights)
			}
			if !(tm.GEMM > 0 && tm.AttentionGEMM > 0 && tm.GEMM+tm.AttentionGEMM < tm.Seconds) {
				t.Errorf("%s %s: gemm %g s + attention %g s against a %g s step", cfg, d, tm.GEMM, tm.AttentionGEMM, tm.Seconds)
			}
		}
	}
}
