package forecast

import (
	"math"

	"github.com/flopcast/flopcast/kernels"
)

// Layout is how a run is split across GPUs.
type Layout struct {
	TP int `json:"tp"`
	PP int `json:"pp"`
	DP int `json:"dp"`
	CP int `json:"cp"`
	// MicroBatch is in sequences.
	MicroBatch int `json:"micro_batch"`
	// GlobalBatch is in sequences; GlobalBatchTokens is GlobalBatch·seq.
	GlobalBatch       int `json:"global_batch"`
	GlobalBatchTokens int `json:"global_batch_tokens"`
	// VirtualStages is the number of interleaved model chunks per pipeline
	// stage (1: plain 1F1B).
	VirtualStages int `json:"virtual_stages"`
	// Recompute is "none", "selective" or "full".
	Recompute string `json:"recompute"`
	// ZeRO is the optimizer-sharding stage 0..3 over the data-parallel
	// group.
	ZeRO int `json:"zero"`
}

// Kernels describes the training software's kernels, which change the
// element-wise and attention cost.
type Kernels struct {
	// FlashAttention: fused attention that skips the causal mask's upper
	// half and keeps no seq² score matrix.
	FlashAttention bool `json:"flash_attention"`
	// SequenceParallel: norms and dropouts split across tensor-parallel
	// ranks (Korthikanti et al. 2022).
	SequenceParallel bool `json:"sequence_parallel"`
	// GradOverlap is the fraction of the data-parallel gradient reduction
	// hidden behind the backward pass.
	GradOverlap float64 `json:"grad_overlap"`
}

// ModernKernels is the default: FlashAttention, sequence parallelism and
// half of the gradient reduction overlapped with backward (an assumption;
// frameworks overlap bucketed reductions with the remaining backward).
var ModernKernels = Kernels{FlashAttention: true, SequenceParallel: true, GradOverlap: 0.5}

// Assumed constants of the step model, each stated in the output's sources.
const (
	// DefaultStepEfficiency is the fraction of the kernel-level (roofline)
	// speed a whole training step achieves: kernel launch gaps, tails,
	// optimizer, data loading and synchronisation. Calibrated once on the
	// Megatron-LM weak-scaling table (Narayanan et al. 2021, Table 1); see
	// docs/forecast.md.
	DefaultStepEfficiency = 0.74
	// StepEfficiencySpread is the relative uncertainty of the step
	// efficiency used for the low/high range.
	StepEfficiencySpread = 0.12
	// LinkEfficiency is the achieved fraction of a link's nominal
	// per-direction bandwidth for large collectives (assumption).
	LinkEfficiency = 0.8
	// ElementwiseTraffic is how many times the stored activation bytes
	// move through memory per layer and micro-batch: written in forward,
	// read and their gradients written in backward.
	ElementwiseTraffic = 3.0
	// OptimizerBytesPerParam is the memory traffic of a mixed-precision
	// Adam update per locally owned parameter (read and write of fp32
	// master, two moments and gradient, write of the bf16 copy).
	OptimizerBytesPerParam = 34.0
	// UsableMemory is the fraction of GPU memory a layout may plan to use
	// (the rest: CUDA context, allocator fragmentation, buffers).
	UsableMemory = 0.9
)

// hw is what the step model needs of the hardware.
type hw struct {
	domain        int     // GPUs that share the fast intra-node link
	intraBps      float64 // bytes/s per GPU per direction, achieved
	interBps      float64 // bytes/s per GPU per direction, achieved
	memoryBytes   float64
	elem          int // bytes per GEMM operand element
	stepEfficient float64
}

// step is the modelled time of one optimizer step, split by cause.
type step struct {
	compute, tpComm, ppBubble, dpExposed float64
	memory                               float64 // bytes per GPU at peak
	hardwareFLOPs                        float64 // per step, whole job, recomputation included
}

func (s step) total() float64 { return s.compute + s.tpComm + s.ppBubble + s.dpExposed }

// layerTimes returns the forward GEMM, attention-core and element-wise
// seconds of one layer for one micro-batch on one GPU, and the
// activation bytes the layer stores.
func layerTimes(m kernels.Model, l Layout, k Kernels, sp Speed, elem int) (gemm, attn, elementwise, actBytes float64) {
	t, c := l.TP, l.CP
	tokens := l.MicroBatch * m.Seq / c
	gemms, err := m.Layer(tokens).GEMMs()
	if err != nil {
		return math.Inf(1), 0, 0, 0
	}
	for _, g := range gemms {
		sh := g.Shape
		switch g.Name {
		case "qkv", "mlp_up":
			sh.N = ceilDiv(sh.N, t)
		default:
			sh.K = ceilDiv(sh.K, t)
		}
		sec := sp.seconds(sh, elem)
		if m.Experts > 0 && (g.Name == "mlp_up" || g.Name == "mlp_down") {
			sec *= float64(m.ActiveExperts)
		}
		gemm += sec
	}
	// Attention core: QKᵀ and PV, 2·2·tokens·seq·hidden FLOPs forward over
	// all heads; FlashAttention skips the masked half.
	hd := m.HeadDim()
	heads := ceilDiv(m.Heads, t)
	core := 4 * float64(tokens) * float64(m.Seq) * float64(hd) * float64(heads)
	if k.FlashAttention {
		core /= 2
	}
	attn = core / sp.rate(kernels.GEMMShape{M: tokens, N: m.Seq, K: hd}, elem)
	// Activations stored per layer (Korthikanti et al. 2022, eq. 1-2):
	// s·b·h·(34 + 5·a·s/h)/t with sequence parallelism,
	// s·b·h·(10 + 24/t + 5·a·s/(h·t)) without; the a·s² score term is
	// absent with FlashAttention.
	sbh := float64(tokens) * float64(m.Hidden)
	scores := 0.0
	if !k.FlashAttention {
		scores = 5 * float64(m.Heads) * float64(m.Seq) / float64(m.Hidden) / float64(t)
	}
	if k.SequenceParallel {
		actBytes = sbh * (34/float64(t) + scores)
	} else {
		actBytes = sbh * (10 + 24/float64(t) + scores)
	}
	elementwise = ElementwiseTraffic * actBytes / sp.MemoryBytesPerSecond
	return gemm, attn, elementwise, actBytes
}

// modelStep computes one optimizer step of layout l on hardware h.
func modelStep(m kernels.Model, l Layout, k Kernels, sp Speed, h hw) step {
	var st step
	t, p, d, c, b, v := l.TP, l.PP, l.DP, l.CP, l.MicroBatch, l.VirtualStages
	micro := float64(l.GlobalBatch) / float64(d*b) // micro-batches per pipeline
	g, a, e, act := layerTimes(m, l, k, sp, h.elem)
	passes := 3.0 // forward, backward (2x)
	layer := passes*(g+a) + e
	tpCalls := 4.0
	switch l.Recompute {
	case "full":
		layer += g + a + e/ElementwiseTraffic
		tpCalls = 6
	case "selective":
		layer += a
		if !k.FlashAttention {
			layer += e * (act - float64(l.MicroBatch*m.Seq/c)*float64(m.Hidden)*34/float64(t)) / act
		}
	}
	layer /= h.stepEfficient
	// Tensor-parallel all-reduces: 4 per layer per micro-batch (6 with full
	// recomputation) of b·s·h bf16 values, ring cost 2(t−1)/t.
	var tpc float64
	if t > 1 {
		bytes := 2 * float64(b*m.Seq/c) * float64(m.Hidden)
		bw := h.intraBps
		if t > h.domain {
			bw = h.interBps
		}
		tpc = tpCalls * 2 * float64(t-1) / float64(t) * bytes / bw
	}
	layersPerStage := float64(ceilDiv(m.Layers, p))
	// Output layer (logits) on the last stage: forward and backward.
	tokens := b * m.Seq / c
	logits := 3 * sp.seconds(kernels.GEMMShape{M: tokens, N: ceilDiv(m.Vocab, t), K: m.Hidden}, h.elem) / h.stepEfficient
	if m.Vocab == 0 {
		logits = 0
	}
	stage := layersPerStage*layer + logits
	stageTP := layersPerStage * tpc
	// Pipeline: (p−1)/v micro-batch times of bubble, and point-to-point
	// activation sends between stages (v times as many when interleaved),
	// split across tensor-parallel ranks.
	var bubble, p2p float64
	if p > 1 {
		bubble = float64(p-1) / float64(v) * (stage + stageTP)
		p2p = micro * float64(v) * 2 * 2 * float64(tokens) * float64(m.Hidden) / float64(t) / h.interBps
	}
	// Data-parallel gradient reduction of this GPU's share of the weights:
	// all-reduce 2(d−1)/d x bytes (ZeRO 1-2: reduce-scatter + all-gather,
	// the same volume), ZeRO-3 adds a parameter all-gather: 3(d−1)/d.
	total, _ := m.Params()
	local := total / float64(t*p)
	var dpc float64
	if d > 1 {
		vol := 2.0
		if l.ZeRO == 3 {
			vol = 3
		}
		bw := h.interBps
		if t*p*c*d <= h.domain {
			bw = h.intraBps
		}
		dpc = vol * float64(d-1) / float64(d) * 2 * local / bw
	}
	owned := local
	if l.ZeRO >= 1 {
		owned /= float64(d)
	}
	optimizer := owned * OptimizerBytesPerParam / sp.MemoryBytesPerSecond / h.stepEfficient
	st.compute = micro*stage + optimizer
	st.tpComm = micro * stageTP
	st.ppBubble = bubble + p2p
	// Overlap hides part of the reduction behind backward, never more than
	// the backward time itself.
	hidden := min(k.GradOverlap*dpc, 2.0/3.0*st.compute)
	st.dpExposed = dpc - hidden
	st.memory = memoryPerGPU(m, l, k, act, local)
	return st
}

// memoryPerGPU estimates the peak bytes on the first pipeline stage:
// weights, gradients and Adam states (2+2+12 bytes per parameter, sharded
// by ZeRO stage), activations of the micro-batches in flight, and the
// logits.
func memoryPerGPU(m kernels.Model, l Layout, k Kernels, actPerLayer, local float64) float64 {
	d := float64(l.DP)
	var states float64
	switch l.ZeRO {
	case 0:
		states = 16 * local
	case 1:
		states = (4 + 12/d) * local
	case 2:
		states = (2 + 14/d) * local
	default:
		states = 16 / d * local
	}
	layers := float64(ceilDiv(m.Layers, l.PP))
	tokens := float64(l.MicroBatch * m.Seq / l.CP)
	perLayer := actPerLayer
	switch l.Recompute {
	case "full":
		perLayer = 2 * tokens * float64(m.Hidden)
		if k.SequenceParallel {
			perLayer /= float64(l.TP)
		}
	case "selective":
		div := 1.0
		if k.SequenceParallel {
			div = float64(l.TP)
		}
		perLayer = tokens * float64(m.Hidden) * 34 / div
		if !k.SequenceParallel {
			perLayer = tokens * float64(m.Hidden) * (10 + 24/float64(l.TP))
		}
	}
	inFlight := float64(l.PP)
	if micro := float64(l.GlobalBatch) / float64(l.DP*l.MicroBatch); micro < inFlight {
		inFlight = micro
	}
	acts := layers * perLayer * inFlight
	if l.PP > 1 && l.VirtualStages > 1 {
		acts *= 1 + float64(l.PP-1)/float64(l.PP*l.VirtualStages)
	}
	if l.Recompute == "full" {
		acts += actPerLayer // one layer's working set while recomputing
	}
	logits := 4 * tokens * float64(m.Vocab) / float64(l.TP)
	return states + acts + logits
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return a
	}
	return (a + b - 1) / b
}
