// Package block is the transformer-block training step on the CPU: one
// decoder layer (kernels.BlockConfig) as a gorgonia expression graph whose
// matrix products run on the BLAS chosen by kernels/cpu.UseFastestBLAS,
// differentiated by gorgonia for every parameter and the input, with an
// AdamW update. Reference is an independent float64 forward pass that this
// step and any other implementation are checked against.
package block

import (
	"fmt"
	"math"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/flopcast/flopcast/kernels"
)

// AdamW are the optimizer's hyper-parameters. The update is PyTorch's
// AdamW: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + eps), with bias-corrected moments
// m̂, v̂, applied to every parameter.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

// DefaultAdamW is the Llama 3 recipe's β₁ 0.9, β₂ 0.95 and weight decay 0.1
// with learning rate 1e-3.
var DefaultAdamW = AdamW{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}

// Timing is the wall-clock time of one step, whole and by phase.
type Timing struct {
	// Seconds is the step: forward, loss, backward and optimizer update.
	Seconds float64
	// ForwardBackward and Optimizer split Seconds.
	ForwardBackward, Optimizer float64
	// Forward is a separate forward-only pass over the same inputs just
	// before the step, zero unless the step was asked to time one.
	Forward float64
	// GEMM and AttentionGEMM are the parts of Seconds spent in matrix
	// products: the projections' and MLP's, and attention's score and
	// context products (forward and backward). The rest of Seconds is the
	// other operations: norms, rotary embedding, softmax and mask,
	// activations, residuals, the loss and the optimizer.
	GEMM, AttentionGEMM float64
	// GEMMCalls and AttentionGEMMCalls count those products.
	GEMMCalls, AttentionGEMMCalls int
}

// Step is one block with its parameters, optimizer state, input and
// target, ready to train. It is not safe for concurrent use.
type Step struct {
	cfg   kernels.BlockConfig
	dtype kernels.DType
	adamw AdamW
	gr    *graph
	full  G.VM // forward and backward
	fwd   G.VM // forward only, built on first use

	x, target *tensor.Dense
	values    []*tensor.Dense // parameter values, bound to the graph
	m, v      []*tensor.Dense // AdamW moments
	t         int             // updates done
}

// New builds the step for cfg in dtype d (FP32 or FP64) with parameters
// initialised by kernels.InitBlockParam and input and target uniform in
// [-1, 1), all drawn from seed.
func New(cfg kernels.BlockConfig, d kernels.DType, seed uint64, opt AdamW) (*Step, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var dt tensor.Dtype
	switch d {
	case kernels.FP32:
		dt = tensor.Float32
	case kernels.FP64:
		dt = tensor.Float64
	default:
		return nil, fmt.Errorf("block: dtype %s does not run on the CPU (fp32, fp64 do)", d)
	}
	r := kernels.NewRand(seed)
	s := &Step{cfg: cfg, dtype: d, adamw: opt}
	for _, p := range cfg.Params() {
		vals := make([]float64, p.Size())
		kernels.InitBlockParam(p, r, vals)
		s.values = append(s.values, dense(dt, vals, p.Rows, p.Cols))
		s.m = append(s.m, dense(dt, make([]float64, p.Size()), p.Size()))
		s.v = append(s.v, dense(dt, make([]float64, p.Size()), p.Size()))
	}
	t := cfg.Tokens() * cfg.Hidden
	xs, ts := make([]float64, t), make([]float64, t)
	kernels.FillUniform64(r, xs)
	kernels.FillUniform64(r, ts)
	s.x = dense(dt, xs, cfg.Tokens(), cfg.Hidden)
	s.target = dense(dt, ts, cfg.Tokens(), cfg.Hidden)
	gr, err := buildGraph(cfg, dt, s.values, s.x, s.target)
	if err != nil {
		return nil, err
	}
	s.gr = gr
	prog, locs, err := G.Compile(gr.g)
	if err != nil {
		return nil, fmt.Errorf("block: compiling the graph: %v", err)
	}
	// The machine reuses registers, so a value bound to a node can be
	// overwritten by a later instruction; the nodes read after a run keep
	// their own copies (TraceExec on a watch list).
	watch := []any{gr.out, gr.loss, gr.xGrad}
	for _, n := range gr.grads {
		watch = append(watch, n)
	}
	s.full = G.NewTapeMachine(gr.g, G.WithPrecompiled(prog, locs), G.TraceExec(), G.WithWatchlist(watch...))
	return s, nil
}

func dense(dt tensor.Dtype, vals []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		d := make([]float32, len(vals))
		for i, v := range vals {
			d[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
}

// Config returns the block's configuration.
func (s *Step) Config() kernels.BlockConfig { return s.cfg }

// DType returns the step's data type.
func (s *Step) DType() kernels.DType { return s.dtype }

// Attention names the attention implementation: the graph materialises
// the scores.
func (s *Step) Attention() string { return kernels.AttentionUnfused }

// run resets m and runs it once.
func run(m G.VM) error {
	m.Reset()
	return m.RunAll()
}

// ForwardBackward computes the output, the loss and every gradient with
// the current parameters, without updating them.
func (s *Step) ForwardBackward() error {
	if err := run(s.full); err != nil {
		return fmt.Errorf("block %s: %v", s.cfg, err)
	}
	return nil
}

// Forward computes only the loss with the current parameters and returns
// it. Output and gradients then hold stale or partial values until the next
// ForwardBackward.
func (s *Step) Forward() (float64, error) {
	if s.fwd == nil {
		inputs := append(append([]*G.Node{s.gr.x, s.gr.target}, s.gr.params...), s.gr.consts...)
		prog, locs, err := G.CompileFunction(s.gr.g, inputs, []*G.Node{s.gr.loss})
		if err != nil {
			return 0, fmt.Errorf("block: compiling the forward pass: %v", err)
		}
		s.fwd = G.NewTapeMachine(s.gr.g, G.WithPrecompiled(prog, locs), G.TraceExec(), G.WithWatchlist(s.gr.loss))
	}
	if err := run(s.fwd); err != nil {
		return 0, fmt.Errorf("block %s forward: %v", s.cfg, err)
	}
	return s.Loss(), nil
}

// Update applies one AdamW update with the gradients of the last
// ForwardBackward.
func (s *Step) Update() error {
	s.t++
	o := s.adamw
	c1 := 1 - math.Pow(o.Beta1, float64(s.t))
	c2 := 1 - math.Pow(o.Beta2, float64(s.t))
	for i, p := range s.values {
		gv := s.gr.grads[i].Value()
		if gv == nil {
			return fmt.Errorf("block: no gradient for %s", s.cfg.Params()[i].Name)
		}
		switch pd := p.Data().(type) {
		case []float32:
			adamw(pd, gv.Data().([]float32), s.m[i].Data().([]float32), s.v[i].Data().([]float32), o, c1, c2)
		case []float64:
			adamw(pd, gv.Data().([]float64), s.m[i].Data().([]float64), s.v[i].Data().([]float64), o, c1, c2)
		}
	}
	return nil
}

func adamw[T float32 | float64](p, g, m, v []T, o AdamW, c1, c2 float64) {
	if len(g) != len(p) {
		panic(fmt.Sprintf("block: gradient of %d values for a parameter of %d", len(g), len(p)))
	}
	b1, b2 := T(o.Beta1), T(o.Beta2)
	decay := T(1 - o.LR*o.WeightDecay)
	lr1, ic2, eps := T(o.LR/c1), T(1/c2), T(o.Eps)
	for i, gi := range g {
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		p[i] = p[i]*decay - lr1*m[i]/(T(math.Sqrt(float64(v[i]*ic2)))+eps)
	}
}

// Step runs one training step (forward, loss, backward, AdamW update) and
// returns its timing. With forward set it first times a separate
// forward-only pass over the same parameters, for the phase split; that
// pass is not part of Seconds.
func (s *Step) Step(forward bool) (Timing, error) {
	var tm Timing
	if forward {
		start := time.Now()
		if _, err := s.Forward(); err != nil {
			return tm, err
		}
		tm.Forward = time.Since(start).Seconds()
	}
	c := s.cfg
	prev := tensor.WhichBLAS()
	clock := newGEMMClock(prev, c.Heads/c.KVHeads*c.Seq, c.Seq, c.HeadDim())
	tensor.Use(clock)
	defer tensor.Use(prev)
	start := time.Now()
	if err := s.ForwardBackward(); err != nil {
		return tm, err
	}
	mid := time.Now()
	if err := s.Update(); err != nil {
		return tm, err
	}
	end := time.Now()
	tm.ForwardBackward = mid.Sub(start).Seconds()
	tm.Optimizer = end.Sub(mid).Seconds()
	tm.Seconds = end.Sub(start).Seconds()
	tm.GEMM, tm.AttentionGEMM = clock.seconds()
	tm.GEMMCalls, tm.AttentionGEMMCalls = int(clock.gemmCalls.Load()), int(clock.attnCalls.Load())
	return tm, nil
}

// Loss returns the loss of the last forward pass, NaN before the first.
func (s *Step) Loss() float64 {
	v := s.gr.loss.Value()
	if v == nil {
		return math.NaN()
	}
	switch d := v.Data().(type) {
	case float32:
		return float64(d)
	case float64:
		return d
	case []float32:
		return float64(d[0])
	case []float64:
		return d[0]
	}
	return math.NaN()
}

// Output returns a float64 copy of the block's output (tokens × hidden)
// from the last ForwardBackward.
func (s *Step) Output() []float64 { return values(s.gr.out.Value()) }

// Gradient returns a float64 copy of d loss / d parameter from the last
// ForwardBackward, nil for an unknown name.
func (s *Step) Gradient(name string) []float64 {
	for i, p := range s.cfg.Params() {
		if p.Name == name {
			return values(s.gr.grads[i].Value())
		}
	}
	return nil
}

// InputGradient returns a float64 copy of d loss / d input.
func (s *Step) InputGradient() []float64 { return values(s.gr.xGrad.Value()) }

// Param returns a float64 copy of a parameter's current values, nil for an
// unknown name.
func (s *Step) Param(name string) []float64 {
	for i, p := range s.cfg.Params() {
		if p.Name == name {
			return values(s.values[i])
		}
	}
	return nil
}

// Params returns float64 copies of every parameter by name.
func (s *Step) Params() map[string][]float64 {
	out := map[string][]float64{}
	for i, p := range s.cfg.Params() {
		out[p.Name] = values(s.values[i])
	}
	return out
}

// SetParam overwrites element i of a parameter (for finite differences).
func (s *Step) SetParam(name string, i int, v float64) error {
	for j, p := range s.cfg.Params() {
		if p.Name == name {
			return set(s.values[j], i, v)
		}
	}
	return fmt.Errorf("block: no parameter %q", name)
}

// SetInput overwrites element i of the input.
func (s *Step) SetInput(i int, v float64) error { return set(s.x, i, v) }

// Input returns a float64 copy of the input (tokens × hidden).
func (s *Step) Input() []float64 { return values(s.x) }

// Target returns a float64 copy of the target (tokens × hidden).
func (s *Step) Target() []float64 { return values(s.target) }

// Close releases the machines.
func (s *Step) Close() error {
	if s.fwd != nil {
		s.fwd.Close()
	}
	return s.full.Close()
}

func set(t *tensor.Dense, i int, v float64) error {
	switch d := t.Data().(type) {
	case []float32:
		if i < 0 || i >= len(d) {
			return fmt.Errorf("block: index %d out of %d", i, len(d))
		}
		d[i] = float32(v)
	case []float64:
		if i < 0 || i >= len(d) {
			return fmt.Errorf("block: index %d out of %d", i, len(d))
		}
		d[i] = v
	}
	return nil
}

// values copies a tensor's data to float64.
func values(v G.Value) []float64 {
	if v == nil {
		return nil
	}
	switch d := v.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	}
	return nil
}
