package gpu

import (
	"fmt"

	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/kernels"
)

// blockPrecision is how a block step stores its activations, weights and
// gradients: fp32 (the checking mode), bf16 or fp16, with fp32 master
// weights, moments and accumulation in every case.
type blockPrecision struct {
	dtype kernels.DType
	// macro selects block.cu's activation type (kcuda.BlockActMacro).
	macro int
	// lt is the cuBLASLt type of the stored values.
	lt blaslt.DataType
	// size is the bytes of one stored value.
	size int64
}

// blockPrecisionFor returns the precision of dtype d, or an error for a
// dtype the GPU block step does not run.
func blockPrecisionFor(d kernels.DType) (blockPrecision, error) {
	switch d {
	case kernels.FP32:
		return blockPrecision{d, 0, blaslt.R32F, 4}, nil
	case kernels.BF16:
		return blockPrecision{d, 1, blaslt.R16BF, 2}, nil
	case kernels.FP16:
		return blockPrecision{d, 2, blaslt.R16F, 2}, nil
	}
	return blockPrecision{}, fmt.Errorf("block: dtype %s does not run on the GPU (fp32, bf16, fp16 do)", d)
}

// mixed says whether the stored weights differ from the fp32 master copy.
func (p blockPrecision) mixed() bool { return p.dtype != kernels.FP32 }

// paramAlign is the alignment, in elements, of every parameter in the
// flat parameter, gradient and optimizer buffers (256 bytes in fp32).
const paramAlign = 64

// bufAlign is the alignment in bytes of every device buffer in the arena.
const bufAlign = 256

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// paramLayout places the block's parameters in one flat buffer, in
// cfg.Params() order, each at a multiple of paramAlign elements; the
// gaps hold zeros, so one optimizer launch covers every parameter.
type paramLayout struct {
	params []kernels.BlockParam
	// offset is each parameter's first element; total the buffer's
	// elements.
	offset []int64
	total  int64
	// vecOffset is, for vector parameters (gains and biases), the offset
	// of their fp32 gradient accumulator; -1 for matrices. vecTotal is
	// the accumulators' elements.
	vecOffset []int64
	vecTotal  int64
}

func newParamLayout(cfg kernels.BlockConfig) paramLayout {
	l := paramLayout{params: cfg.Params()}
	for _, p := range l.params {
		l.offset = append(l.offset, l.total)
		l.total += alignUp(int64(p.Size()), paramAlign)
		if p.Rows == 1 {
			l.vecOffset = append(l.vecOffset, l.vecTotal)
			l.vecTotal += alignUp(int64(p.Size()), paramAlign)
		} else {
			l.vecOffset = append(l.vecOffset, -1)
		}
	}
	return l
}

// index returns the position of parameter name, -1 when unknown.
func (l paramLayout) index(name string) int {
	for i, p := range l.params {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// arena places named device buffers in one allocation.
type arena struct {
	names []string
	off   map[string]int64
	bytes map[string]int64
	size  int64
}

func newArena() *arena { return &arena{off: map[string]int64{}, bytes: map[string]int64{}} }

// add places a buffer of n bytes; a name added twice panics (a layout
// bug).
func (a *arena) add(name string, n int64) {
	if _, dup := a.off[name]; dup {
		panic("gpu: arena buffer " + name + " added twice")
	}
	a.names = append(a.names, name)
	a.off[name] = a.size
	a.bytes[name] = n
	a.size += alignUp(max(n, 1), bufAlign)
}

// blockDims are the block's dimensions as the step uses them.
type blockDims struct {
	B, S, H, KV, hd, D, F int
	T, group              int
	// G is group·seq, the rows of one attention score matrix; BK is
	// batch·kvHeads, the batch of the attention products.
	G, BK int
}

func dimsOf(cfg kernels.BlockConfig) blockDims {
	d := blockDims{B: cfg.Batch, S: cfg.Seq, H: cfg.Heads, KV: cfg.KVHeads, hd: cfg.HeadDim(), D: cfg.Hidden, F: cfg.FFN,
		T: cfg.Tokens(), group: cfg.Heads / cfg.KVHeads}
	d.G, d.BK = d.group*d.S, d.B*d.KV
	return d
}

// scoreElements returns batch·heads·seq², the elements of the attention
// scores (and of the probabilities).
func (d blockDims) scoreElements() int64 { return int64(d.BK) * int64(d.G) * int64(d.S) }

// blockArena lays out every device buffer of a step: the parameter
// region (weights in the stored type, gradients, fp32 master copy when
// mixed, AdamW moments, vector-gradient accumulators), the activations
// the backward pass reads, the transient gradients, the fp32 attention
// scores and the rotary tables. Its size is what the step allocates.
func blockArena(cfg kernels.BlockConfig, p blockPrecision) (*arena, paramLayout) {
	pl := newParamLayout(cfg)
	d := dimsOf(cfg)
	a := newArena()
	s := p.size
	a.add("weights", pl.total*s)
	a.add("grads", pl.total*s)
	if p.mixed() {
		a.add("master", pl.total*4)
	}
	a.add("adam_m", pl.total*4)
	a.add("adam_v", pl.total*4)
	a.add("vec_acc", pl.vecTotal*4)

	t, D, KV, F := int64(d.T), int64(d.D), int64(d.KV*d.hd), int64(d.F)
	for _, n := range []string{"x", "target", "xn", "q", "qh", "ctxh", "ctx", "h", "hn", "out", "dout", "dtmp", "dh", "dx"} {
		a.add(n, t*D*s)
	}
	for _, n := range []string{"k", "v", "kh", "vh"} {
		a.add(n, t*KV*s)
	}
	ffn := []string{"gate", "up", "act"}
	if cfg.Arch == kernels.GPT {
		ffn = []string{"up", "act"}
	}
	for _, n := range ffn {
		a.add(n, t*F*s)
	}
	a.add("probs", d.scoreElements()*s)
	a.add("scores", d.scoreElements()*4)
	for _, n := range []string{"mean1", "inv1", "mean2", "inv2"} {
		a.add(n, t*4)
	}
	half := int64(d.S) * int64(max(d.hd/2, 1))
	a.add("cos", half*4)
	a.add("sin", half*4)
	a.add("loss", 8)
	return a, pl
}

// BlockDeviceBytes returns the device memory a GPU block step of cfg in
// dtype d allocates (its arena, not counting cuBLASLt's workspace and the
// loaded kernels), or an error for a dtype it does not run.
func BlockDeviceBytes(cfg kernels.BlockConfig, d kernels.DType) (int64, error) {
	p, err := blockPrecisionFor(d)
	if err != nil {
		return 0, err
	}
	a, _ := blockArena(cfg, p)
	return a.size, nil
}

// BlockMemory implements backend.BlockMemoryPlanner: the analytic
// estimate with this step's recipe (weights, gradients and activations in
// d, master weights and AdamW moments in fp32, unfused attention) and the
// arena it allocates, which also holds the fp32 attention scores beside
// the probabilities and the transient gradients.
func (bk *Backend) BlockMemory(cfg kernels.BlockConfig, d kernels.DType) (kernels.BlockMemory, int64, error) {
	planned, err := BlockDeviceBytes(cfg, d)
	if err != nil {
		return kernels.BlockMemory{}, 0, err
	}
	return cfg.MemoryEstimate(d, kernels.FP32, kernels.AttentionUnfused), planned, nil
}

// blockLaunch is a kernel's grid and block.
type blockLaunch struct{ grid, block [3]uint32 }

// rowThreads returns the threads of a one-block-per-row kernel over rows
// of n elements: a multiple of 32 from 32 to 256.
func rowThreads(n int) uint32 {
	t := (n + 31) / 32 * 32
	return uint32(min(max(t, 32), 256))
}

// colReduceRows is how many rows one thread of flopcast_col_reduce sums
// before its atomic add.
const colReduceRows = 64

// colReduceLaunch returns flopcast_col_reduce's launch for a rows×cols
// matrix: 256 columns per block, colReduceRows rows per block row, at
// most 65535 block rows (the kernel loops over the rest).
func colReduceLaunch(rows, cols int) blockLaunch {
	gx := (cols + 255) / 256
	gy := min((rows+colReduceRows-1)/colReduceRows, 65535)
	return blockLaunch{grid: [3]uint32{uint32(gx), uint32(max(gy, 1)), 1}, block: [3]uint32{256, 1, 1}}
}
