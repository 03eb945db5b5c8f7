package cuda

import _ "embed"

// BlockSource is the CUDA C source of the transformer-block kernels (the
// Block* kernel names). Compile it once per activation type with
// BlockActMacro.
//
//go:embed block.cu
var BlockSource string

// BlockSourceName is the file name NVRTC reports for BlockSource.
const BlockSourceName = "flopcast_block.cu"

// BlockActMacro returns the NVRTC option that selects BlockSource's
// activation storage type: act 0 fp32, 1 bf16, 2 fp16.
func BlockActMacro(act int) string { return "--define-macro=FLOPCAST_ACT=" + string(rune('0'+act)) }

// Kernel names in BlockSource (extern "C", so unmangled); block.cu
// documents each one's arguments.
const (
	BlockNormFwd    = "flopcast_norm_fwd"
	BlockNormBwd    = "flopcast_norm_bwd"
	BlockColReduce  = "flopcast_col_reduce"
	BlockFromF32    = "flopcast_from_f32"
	BlockHeads      = "flopcast_heads"
	BlockSoftmaxFwd = "flopcast_softmax_fwd"
	BlockSoftmaxBwd = "flopcast_softmax_bwd"
	BlockSwiGLUFwd  = "flopcast_swiglu_fwd"
	BlockSwiGLUBwd  = "flopcast_swiglu_bwd"
	BlockGELUFwd    = "flopcast_gelu_fwd"
	BlockGELUBwd    = "flopcast_gelu_bwd"
	BlockAdd        = "flopcast_add"
	BlockAddBias    = "flopcast_add_bias"
	BlockMSE        = "flopcast_mse"
	BlockAdamW      = "flopcast_adamw"
)

// BlockKernels lists every kernel in BlockSource.
var BlockKernels = []string{BlockNormFwd, BlockNormBwd, BlockColReduce, BlockFromF32, BlockHeads,
	BlockSoftmaxFwd, BlockSoftmaxBwd, BlockSwiGLUFwd, BlockSwiGLUBwd, BlockGELUFwd, BlockGELUBwd,
	BlockAdd, BlockAddBias, BlockMSE, BlockAdamW}
