package cpu

import (
	"runtime"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu/block"
)

var _ backend.BlockBackend = (*Backend)(nil)

// NewBlockStep implements backend.BlockBackend with the gorgonia step of
// kernels/cpu/block and block.DefaultAdamW.
func (b *Backend) NewBlockStep(cfg kernels.BlockConfig, d kernels.DType, seed uint64) (backend.BlockStep, error) {
	before := heapInUse()
	s, err := block.New(cfg, d, seed, block.DefaultAdamW)
	if err != nil {
		return nil, err
	}
	return &blockStep{s: s, heapBefore: before}, nil
}

// blockStep times the gorgonia step. The first Step also measures the
// memory the step holds; later ones time a separate forward-only pass
// first, so the phase split has a forward time (the backward is the
// forward-and-backward run less it).
type blockStep struct {
	s          *block.Step
	heapBefore uint64
	memory     int64
	steps      int
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func (b *blockStep) Step() (backend.BlockTiming, error) {
	first := b.steps == 0
	tm, err := b.s.Step(!first)
	if err != nil {
		return backend.BlockTiming{}, err
	}
	b.steps++
	if first {
		if after := heapInUse(); after > b.heapBefore {
			b.memory = int64(after - b.heapBefore)
		}
	}
	out := backend.BlockTiming{Seconds: tm.Seconds, Kinds: map[string]float64{
		"gemm":      tm.GEMM,
		"attention": tm.AttentionGEMM,
		"other":     max(tm.Seconds-tm.GEMM-tm.AttentionGEMM, 0),
	}}
	if tm.Forward > 0 {
		out.Phases = map[string]float64{
			"forward":   tm.Forward,
			"backward":  max(tm.ForwardBackward-tm.Forward, 0),
			"optimizer": tm.Optimizer,
		}
	}
	return out, nil
}

func (b *blockStep) Attention() string { return b.s.Attention() }

// KindsMeaning implements backend.KindDescriber: on the CPU the kinds are
// the BLAS calls, timed one by one.
func (b *blockStep) KindsMeaning() string {
	return "kinds on the CPU: gemm = the projections' and MLP's BLAS matrix products, attention = its score and context products (forward and backward), other = everything else (norms, rotary embedding, softmax and mask, activations, residuals, loss, optimizer)"
}

func (b *blockStep) Snapshot() (map[string][]float64, []float64, []float64) {
	return b.s.Params(), b.s.Input(), b.s.Target()
}

func (b *blockStep) Loss() float64     { return b.s.Loss() }
func (b *blockStep) Output() []float64 { return b.s.Output() }

func (b *blockStep) Gradient(name string) []float64 {
	if name == "input" {
		return b.s.InputGradient()
	}
	return b.s.Gradient(name)
}

func (b *blockStep) MemoryBytes() int64 { return b.memory }
func (b *blockStep) Release()           { b.s.Close() }
