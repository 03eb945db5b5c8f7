package backend

import "github.com/flopcast/flopcast/kernels"

// BlockBackend is a Backend that also trains a transformer block (the
// "block" workload). A GPU backend implements the same step with its own
// kernels; the runner checks each against the float64 reference forward
// in kernels/cpu/block.
type BlockBackend interface {
	Backend
	// NewBlockStep builds the block's step in dtype d, with parameters,
	// input and target drawn from seed by kernels.InitBlockParam and
	// kernels.FillUniform64 (parameters in cfg.Params() order, then the
	// input, then the target). It may refuse a configuration that does not
	// fit in memory.
	NewBlockStep(cfg kernels.BlockConfig, d kernels.DType, seed uint64) (BlockStep, error)
}

// BlockStep is one block ready to train. Methods are called from one
// goroutine at a time.
type BlockStep interface {
	// Step runs one training step (forward, loss, backward for every
	// parameter and the input, AdamW update) and returns its timing.
	Step() (BlockTiming, error)
	// Attention names the attention implementation that runs
	// (kernels.AttentionUnfused or kernels.AttentionFlash).
	Attention() string
	// Snapshot returns float64 copies of the current parameters, by name,
	// and of the input and target: what the next Step computes with.
	Snapshot() (params map[string][]float64, input, target []float64)
	// Loss, Output and Gradient are the last step's loss, output
	// (tokens × hidden) and d loss / d parameter, computed before its
	// update; Gradient("input") is d loss / d input.
	Loss() float64
	Output() []float64
	Gradient(name string) []float64
	// MemoryBytes is the memory the step holds, measured the device's way
	// (heap growth on the CPU, free-memory drop on a GPU); 0 when unknown.
	MemoryBytes() int64
	// Release frees the step.
	Release()
}

// BlockMemoryPlanner is implemented by block backends that know their own
// memory recipe: the analytic estimate in the precisions they keep each
// part in (e.g. bf16 weights with fp32 master weights and moments), and
// the bytes their buffers will take, both before anything is allocated.
type BlockMemoryPlanner interface {
	BlockMemory(cfg kernels.BlockConfig, d kernels.DType) (estimate kernels.BlockMemory, planned int64, err error)
}

// KindDescriber is implemented by block steps that say what each of their
// time kinds holds, where the kinds are not whole kernels (the CPU's).
type KindDescriber interface {
	KindsMeaning() string
}

// BlockTiming is the time of one step, whole and split.
type BlockTiming struct {
	// Seconds is the whole step, measured the device's way.
	Seconds float64
	// Phases splits the step into "forward", "backward" and "optimizer",
	// where measured; nil otherwise.
	Phases map[string]float64
	// Kinds splits it into "gemm", "attention" and "other" kernels, where
	// measured; nil otherwise.
	Kinds map[string]float64
}
