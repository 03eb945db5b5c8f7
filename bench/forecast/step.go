package forecast

import (
	"math"
	"strings"

	"github.com/flopcast/flopcast/kernels"
)

// Layout is how a run is split across GPUs.
type Layout struct {
	TP int `json:"tp"`
	PP int `json:"pp"`
	DP int `json:"dp"`
	CP int `json:"cp"`
	// EP is the expert-parallel size: the routed experts are split over
	// EP ranks carved from the dp x tp x cp ranks of a pipeline stage
	// (1 for dense models).
	EP int `json:"ep"`
	// MicroBatch is in sequences.
	MicroBatch int `json:"micro_batch"`
	// GlobalBatch is in sequences; GlobalBatchTokens is GlobalBatch·seq.
	GlobalBatch       int `json:"global_batch"`
	GlobalBatchTokens int `json:"global_batch_tokens"`
	// Schedule is the pipeline schedule: "1f1b", "interleaved",
	// "zero-bubble" (ZB-H1) or "dualpipe".
	Schedule string `json:"schedule"`
	// VirtualStages is the number of model chunks per pipeline stage (1:
	// 1F1B and zero-bubble; 2: DualPipe's two directions; v ≥ 2:
	// interleaved).
	VirtualStages int `json:"virtual_stages"`
	// Recompute is one of Recomputes: "none", "selective", "op" or "full".
	Recompute string `json:"recompute"`
	// ZeRO is the optimizer-sharding stage 0..3 over the data-parallel
	// group (3 is FSDP).
	ZeRO int `json:"zero"`
}

// Schedules are the pipeline schedules the step model knows (Layout.Schedule).
var Schedules = []string{"1f1b", "interleaved", "zero-bubble", "dualpipe"}

// Kernels describes the training software: its kernels, which change the
// element-wise and attention cost, and how much of each communication it
// hides behind compute. Every overlap is an assumption shown in --explain.
type Kernels struct {
	// FlashAttention: fused attention that skips the causal mask's upper
	// half and keeps no seq² score matrix.
	FlashAttention bool `json:"flash_attention"`
	// SequenceParallel: norms and dropouts split across tensor-parallel
	// ranks (Korthikanti et al. 2022).
	SequenceParallel bool `json:"sequence_parallel"`
	// GradOverlap is the fraction of the data-parallel gradient
	// reduce-scatter / all-reduce (and ZeRO-3 / FSDP parameter
	// all-gathers, prefetched) hidden behind compute, never more than one
	// micro-batch's compute per exchange.
	GradOverlap float64 `json:"grad_overlap"`
	// TPOverlap is the fraction of tensor-parallel all-gathers and
	// reduce-scatters hidden behind the GEMMs (async TP, userbuffers).
	TPOverlap float64 `json:"tp_overlap,omitempty"`
	// CPOverlap is the fraction of the context-parallel K/V ring exchange
	// hidden behind the attention core.
	CPOverlap float64 `json:"cp_overlap,omitempty"`
	// EPOverlap is the fraction of the expert-parallel all-to-all hidden
	// behind compute (DualPipe hides all of it: see DualPipeEPOverlap).
	EPOverlap float64 `json:"ep_overlap,omitempty"`
	// PPOverlap is the fraction of pipeline point-to-point sends hidden.
	PPOverlap float64 `json:"pp_overlap,omitempty"`
	// SMReserve is the fraction of the GPU's SMs kept for communication
	// kernels; compute runs on the rest.
	SMReserve float64 `json:"sm_reserve,omitempty"`
	// FP8CastBytes is the memory traffic per element of a linear layer's
	// input (forward) and output gradient (backward) to cast it to fp8;
	// zero means DefaultFP8CastBytes.
	FP8CastBytes float64 `json:"fp8_cast_bytes,omitempty"`
}

// ModernKernels is the default of a 2024-2026 framework (Megatron-Core,
// NeMo): FlashAttention, sequence parallelism, gradient reduction and
// parameter gathers overlapped (overlap_grad_reduce,
// overlap_param_gather), tensor-parallel communication overlapped with
// the GEMMs (tp_comm_overlap, userbuffers: 0.9; PyTorch's async TP
// hides about half, the ×1.09-1.16 torchtitan reports, see the
// back-test), the CP ring and the pipeline sends mostly overlapped. The overlaps are assumptions; the step efficiency per GPU
// generation was fitted with them in place.
var ModernKernels = Kernels{FlashAttention: true, SequenceParallel: true, GradOverlap: 0.9, TPOverlap: 0.9, CPOverlap: 0.9, PPOverlap: 0.9}

// Assumed constants of the step model, each stated in the output's sources.
const (
	// DefaultStepEfficiency is the A100 step efficiency: the fraction of
	// the kernel-level (roofline) speed a whole training step achieves
	// (launch gaps, tails, optimizer, data loading, synchronisation).
	// Fitted on the Megatron-LM weak-scaling table (Narayanan et al.
	// 2021, Table 1) with communication exposed, as it was then. Other
	// generations: see StepEfficiencyFor.
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
	// CollectiveHopLatency is the latency one step of a ring collective
	// adds across nodes (assumption: 8 µs, InfiniBand with NCCL's
	// low-latency protocols; a fifth of it inside a node). A ring over n
	// ranks pays n-1 of them per collective.
	CollectiveHopLatency = 8e-6
	// DefaultFP8CastBytes is the fp8 cast traffic per element when the
	// casts are fused into the preceding norm or activation kernel, as
	// Transformer Engine does (assumption: 1 byte, the fp8 write; PyTorch's
	// torchao Float8 with dynamic scaling is given 4 in the back-test:
	// an amax pass and a bf16 read plus fp8 write, partly fused by
	// torch.compile).
	DefaultFP8CastBytes = 1.0
	// DualPipeEPOverlap is the share of the expert all-to-all DualPipe
	// hides (DeepSeek-V3 report, section 3.2.1: "both all-to-all and PP
	// communication can be fully hidden during execution").
	DualPipeEPOverlap = 1.0
	// DefaultJitter is the relative spread of one GPU's step time; the
	// slowest of N GPUs, which every synchronous step waits for, is
	// about jitter·sqrt(2·ln N) slower (assumption: 1 %, i.e. +4.4 % at
	// 16,384 GPUs; the scale-loss term).
	DefaultJitter = 0.01
)

// hw is what the step model needs of the hardware.
type hw struct {
	domain        int     // GPUs that share the fast intra-node link
	intraBps      float64 // bytes/s per GPU per direction, achieved
	interBps      float64 // bytes/s per GPU per direction, achieved
	memoryBytes   float64
	elem          int // bytes per element of bf16/fp16 GEMM operands
	linElem       int // bytes per element of linear-layer GEMM operands (1 for fp8)
	stepEfficient float64
	// a2aIntraBps and a2aInterBps are measured all-to-all busbw (bytes/s)
	// inside a node and across nodes; zero: priced at intraBps, interBps.
	a2aIntraBps, a2aInterBps float64
}

// env is everything a step depends on besides the layout.
type env struct {
	m         kernels.Model
	a         arch
	k         Kernels
	sp        Speed // attention core, output layer, element-wise
	lsp       Speed // linear-layer GEMMs (fp8 when training in fp8)
	h         hw
	nodeLimit int // MoE: nodes a token may be sent to (0: no limit)
	gpus      int
	jitter    float64
}

// cost is one layer's (or the output layer's) time per micro-batch on one
// GPU, by cause, with exposed communication, and its stored activations.
type cost struct {
	compute, recompute, tp, cp, ep float64
	tpRaw, cpRaw, epRaw            float64
	act                            float64 // stored bytes per micro-batch
	work                           float64 // bytes without recomputation (one layer's working set)
}

func (c cost) total() float64 { return c.compute + c.recompute + c.tp + c.cp + c.ep }

func (c cost) add(o cost, n float64) cost {
	c.compute += n * o.compute
	c.recompute += n * o.recompute
	c.tp += n * o.tp
	c.cp += n * o.cp
	c.ep += n * o.ep
	c.tpRaw += n * o.tpRaw
	c.cpRaw += n * o.cpRaw
	c.epRaw += n * o.epRaw
	c.act += n * o.act
	return c
}

// step is the modelled time of one optimizer step, split by cause.
type step struct {
	compute, recompute, tpComm, cpComm, epComm, ppBubble, dpExposed, scaleLoss float64
	dpRaw                                                                      float64
	memory                                                                     float64 // bytes per GPU at peak
	stage                                                                      float64 // bottleneck device time per micro-batch
	micro                                                                      float64 // micro-batches per pipeline
}

func (s step) total() float64 {
	return s.compute + s.recompute + s.tpComm + s.cpComm + s.epComm + s.ppBubble + s.dpExposed + s.scaleLoss
}

// linSeconds is one linear layer's forward time for M tokens with tensor
// parallelism t.
func (e env) linSeconds(l lin, m, t int) float64 {
	sh := kernels.GEMMShape{M: m, N: l.n, K: l.k}
	switch l.split {
	case 'n':
		sh.N = ceilDiv(sh.N, t)
	case 'k':
		sh.K = ceilDiv(sh.K, t)
	}
	return e.lsp.seconds(sh, e.h.linElem)
}

// layer returns the cost of one dense (moe false) or mixture-of-experts
// layer for one micro-batch.
func (e env) layer(l Layout, moe bool) cost {
	a, k := e.a, e.k
	t, c, ep := l.TP, l.CP, max(l.EP, 1)
	T := max(1, l.MicroBatch*e.m.Seq/c) // tokens of this CP rank
	var gemm, castElems float64
	fp8 := e.h.linElem == 1
	tpLin := func(x lin) {
		gemm += e.linSeconds(x, T, t)
		n, k := float64(x.n), float64(x.k)
		switch x.split {
		case 'n':
			n /= float64(t)
		case 'k':
			k /= float64(t)
		}
		castElems += float64(T) * (n + k)
	}
	for _, x := range a.attn {
		tpLin(x)
	}
	actTok := a.attnActBytes()
	h := float64(a.h)
	// fp8 training keeps the linear layers' saved inputs in fp8 (1 byte,
	// not 2): the QKV and output projections' inputs and the MLP's.
	mlpIn := float64(a.ffn)
	if moe {
		mlpIn = float64(a.topK*a.expertFFN + a.sharedFFN)
	}
	if fp8 {
		actTok -= 2*h + float64(a.heads*a.vHead) + mlpIn
	}
	if moe {
		for _, x := range a.shared {
			tpLin(x)
		}
		local := float64(ceilDiv(T, t))
		if a.router > 0 {
			gemm += e.sp.seconds(kernels.GEMMShape{M: int(local), N: a.router, K: a.h}, e.h.elem)
		}
		// Routed experts: this GPU's tokens x topK pairs, spread over its
		// experts/EP local experts (balanced routing), each a GEMM of
		// the routed tokens.
		localExperts := float64(ceilDiv(a.experts, ep))
		perExpert := max(1, int(math.Round(local*float64(a.topK)/localExperts)))
		for _, x := range a.expert {
			gemm += localExperts * e.lsp.seconds(kernels.GEMMShape{M: perExpert, N: x.n, K: x.k}, e.h.linElem)
			castElems += localExperts * float64(perExpert) * float64(x.n+x.k)
		}
		actTok += a.moeActBytes()
	} else {
		for _, x := range a.mlp {
			tpLin(x)
		}
		actTok += a.mlpActBytes()
	}
	// Attention core: QKᵀ and PV, 2·tokens·seq·(qk + v head widths) FLOPs
	// per head forward; FlashAttention skips the masked half; CP ranks
	// hold load-balanced (zigzag) chunks, so each does 1/c of it.
	headShare := float64(ceilDiv(a.heads, t)) / float64(a.heads)
	core := float64(T) * a.coreFull * headShare
	scoreTok := 0.0
	if k.FlashAttention {
		core = float64(T) * a.coreCausal * headShare
	} else {
		scoreTok = float64(a.heads) * float64(e.m.Seq) * 2
		if a.dropout {
			scoreTok += float64(a.heads) * float64(e.m.Seq) * 3
		}
		actTok += scoreTok
	}
	attn := core / e.sp.rate(kernels.GEMMShape{M: T, N: e.m.Seq, K: a.qkHead}, e.h.elem)
	// Stored activations: all split by t with sequence parallelism; the
	// norms' inputs, the QKV and MLP inputs and dropout masks are
	// replicated without it (Korthikanti et al. 2022's 10·s·b·h).
	var act float64
	if k.SequenceParallel {
		act = float64(T) * actTok / float64(t)
	} else {
		repl := 2 * 4 * h
		if a.dropout {
			repl += 2 * h
		}
		act = float64(T) * (repl + (actTok-repl)/float64(t))
	}
	elementwise := ElementwiseTraffic * act / e.sp.MemoryBytesPerSecond
	if fp8 {
		// Casts to fp8: each GEMM's input in forward and its output
		// gradient in backward read in bf16 and written in fp8.
		cb := k.FP8CastBytes
		if cb <= 0 {
			cb = DefaultFP8CastBytes
		}
		elementwise += cb * castElems / e.sp.MemoryBytesPerSecond
	}
	fwd := gemm + attn
	var out cost
	eff := e.h.stepEfficient * (1 - k.SMReserve)
	out.compute = (3*fwd + elementwise) / eff
	out.work = act
	out.act = act
	calls := 4.0
	// The element-wise outputs (the norms' and the MLP activation's)
	// that "op" and selective recomputation do not store.
	dropped := float64(T) * 2 * (2*h + mlpIn) / float64(t)
	switch l.Recompute {
	case "full":
		out.recompute = (fwd + elementwise/ElementwiseTraffic) / eff
		calls = 6
		out.act = float64(T) * 2 * h
		if k.SequenceParallel {
			out.act /= float64(t)
		}
	case "op":
		// Op-level selective checkpointing (torchtitan's "op" policy):
		// element-wise outputs and every other matmul output are not
		// stored and are recomputed in backward.
		gemmOut := float64(T) * 2 * (float64(a.heads*a.qkHead+a.kvHeads*(a.qkHead+a.vHead)) + 2*h + 2*mlpIn) / float64(t)
		out.act = act - dropped - gemmOut/2
		out.recompute = (gemm/2 + ElementwiseTraffic*dropped/e.sp.MemoryBytesPerSecond) / eff
	case "selective":
		if !k.FlashAttention {
			// Korthikanti et al.: recompute the attention core, drop
			// the seq² scores.
			out.recompute = attn / eff
			out.act = act - float64(T)*scoreTok/float64(t)
		} else {
			// With FlashAttention (which already recomputes its
			// scores), selective recomputation keeps the GEMM and
			// attention outputs and recomputes the cheap element-wise
			// ops: the norms' outputs and the MLP activation's output
			// are not stored (torchtitan's and Megatron-Core's
			// selective policies).
			out.act = act - dropped
			out.recompute = ElementwiseTraffic * dropped / e.sp.MemoryBytesPerSecond / eff
		}
	}
	// Tensor parallelism: with sequence parallelism, an all-gather and a
	// reduce-scatter per block and pass (the volume of 4 all-reduces per
	// layer, 6 with full recomputation) of tokens x hidden bf16 values.
	if t > 1 {
		bw := e.h.intraBps
		if t > e.h.domain {
			bw = e.h.interBps
		}
		out.tpRaw = calls * 2 * float64(t-1) / float64(t) * 2 * float64(T) * h / bw
		out.tp = out.tpRaw - min(k.TPOverlap*out.tpRaw, 3*gemm/eff)
	}
	// Context parallelism: the ring passes each rank's K and V to the c-1
	// others in forward, K, V and their gradients in backward.
	if c > 1 {
		bw := e.h.intraBps
		if t*c > e.h.domain {
			bw = e.h.interBps
		}
		kv := float64(c-1) * float64(T) * float64(a.kvHeads*(a.qkHead+a.vHead)) * 2 / float64(t)
		passes := 3.0
		if l.Recompute == "full" {
			passes = 4
		}
		out.cpRaw = passes * kv / bw
		out.cp = out.cpRaw - min(k.CPOverlap*out.cpRaw, 3*attn/eff)
	}
	// Expert parallelism: dispatch and combine all-to-all per MoE layer,
	// forward and backward (again when recomputing), of this GPU's tokens
	// x topK hidden vectors; dispatch in the linear layers' dtype.
	if moe && ep > 1 {
		local := float64(T) / float64(t)
		dispatch := e.allToAll(local, ep, float64(e.h.linElem))
		combine := e.allToAll(local, ep, 2)
		out.epRaw = calls / 2 * (dispatch + combine)
		ov := k.EPOverlap
		if l.Schedule == "dualpipe" {
			ov = max(ov, DualPipeEPOverlap)
		}
		out.ep = out.epRaw - min(ov*out.epRaw, out.compute)
	}
	return out
}

// allToAll is the time of one expert all-to-all of tokens x topK vectors
// of hidden width at the given bytes per element over ep ranks. Inside
// the NVLink domain all of it crosses NVLink; beyond it the share bound
// for other nodes crosses the network, at most nodeLimit copies per token
// (node-limited routing sends a token once per node and forwards it
// there), and the two run concurrently. Each part is priced at the
// measured all-to-all busbw of its scope where a fleet run gave one (the
// bytes crossing a rank's link over busbw is nccl-tests' definition of
// busbw), else at the link.
func (e env) allToAll(tokens float64, ep int, bytes float64) float64 {
	a := e.a
	vec := float64(a.h) * bytes
	k := float64(a.topK)
	intraBps, interBps := e.h.intraBps, e.h.interBps
	if e.h.a2aIntraBps > 0 {
		intraBps = e.h.a2aIntraBps
	}
	if e.h.a2aInterBps > 0 {
		interBps = e.h.a2aInterBps
	}
	intra := tokens * k * vec * float64(ep-1) / float64(ep) / intraBps
	if ep <= e.h.domain {
		return intra
	}
	nodes := float64(ceilDiv(ep, e.h.domain))
	remote := k * (nodes - 1) / nodes
	if e.nodeLimit > 0 {
		remote = min(remote, float64(e.nodeLimit))
	}
	inter := tokens * remote * vec / interBps
	return max(intra, inter)
}

// outputLayer is the logits GEMM (forward and backward) and the loss's
// element-wise traffic of one micro-batch on the last stage.
func (e env) outputLayer(l Layout) cost {
	if e.m.Vocab == 0 {
		return cost{}
	}
	T := max(1, l.MicroBatch*e.m.Seq/l.CP)
	v := ceilDiv(e.m.Vocab, l.TP)
	eff := e.h.stepEfficient * (1 - e.k.SMReserve)
	g := 3 * e.sp.seconds(kernels.GEMMShape{M: T, N: v, K: e.m.Hidden}, e.h.elem)
	loss := 3 * 4 * float64(T) * float64(v) / e.sp.MemoryBytesPerSecond
	return cost{compute: (g + loss) / eff}
}

// devices splits the layers (dense first, then MoE) and the output layer
// into p·v contiguous chunks minimising the slowest chunk (uneven stages:
// layers need not divide p·v, and the last chunk holds fewer layers to
// make room for the output layer), deals the chunks to p devices
// (interleaved: chunk i to device i mod p; DualPipe: chunks i and 2p-1-i
// to device i) and returns the slowest device's total.
func devices(dense, moe, out cost, nDense, nMoE, p, v int, schedule string) cost {
	n := nDense + nMoE
	item := func(i int) cost {
		switch {
		case i < nDense:
			return dense
		case i < n:
			return moe
		}
		return out
	}
	items := n + 1
	chunks := p * v
	sum, big := 0.0, 0.0
	for i := 0; i < items; i++ {
		x := item(i).total()
		sum += x
		big = max(big, x)
	}
	// Greedy check: how many chunks a threshold needs (the output layer
	// may form the last chunk alone).
	need := func(limit float64) (int, []int) {
		var starts []int
		cur := math.Inf(1)
		for i := 0; i < items; i++ {
			x := item(i).total()
			if cur+x > limit*(1+1e-12) && (i < n || x > 0) {
				starts = append(starts, i)
				cur = 0
			}
			cur += x
		}
		return len(starts), starts
	}
	lo, hi := big, sum
	for iter := 0; iter < 40 && hi-lo > 1e-6*hi; iter++ {
		mid := (lo + hi) / 2
		if k, _ := need(mid); k <= chunks {
			hi = mid
		} else {
			lo = mid
		}
	}
	_, starts := need(hi)
	loads := make([]cost, p)
	for ci, s := range starts {
		end := items
		if ci+1 < len(starts) {
			end = starts[ci+1]
		}
		var c cost
		for i := s; i < end; i++ {
			c = c.add(item(i), 1)
		}
		d := ci % p
		if schedule == "dualpipe" && ci >= p {
			d = 2*p - 1 - ci
			if d < 0 {
				d = 0
			}
		}
		loads[d] = loads[d].add(c, 1)
	}
	best := loads[0]
	for _, c := range loads {
		if c.total() > best.total() {
			best = c
		}
	}
	return best
}

// bubbleStages is the pipeline bubble in units of the slowest device's
// time per micro-batch: (p-1) for 1F1B, (p-1)/v interleaved, (p-1)/3 for
// zero-bubble ZB-H1 (Qi et al. 2023: forward, input-gradient and
// weight-gradient passes of equal time, bubble (p-1)(F+B-2W)), and
// (p/2-1)·F for DualPipe (DeepSeek-V3 report, Table 2, with a device's
// two chunks worth 6F per micro-batch).
func bubbleStages(schedule string, p, v int) float64 {
	if p <= 1 {
		return 0
	}
	switch schedule {
	case "interleaved":
		return float64(p-1) / float64(max(v, 1))
	case "zero-bubble":
		return float64(p-1) / 3
	case "dualpipe":
		return max(0, float64(p)/2-1) / 6
	}
	return float64(p - 1)
}

// params returns the weights one GPU holds that are replicated over the
// data-parallel group (dense) and over the expert data-parallel group
// (experts), for the device with the most (first or last stage).
func (e env) params(l Layout) (dense, experts float64) {
	a := e.a
	p := l.PP
	nonExpert, exp := a.moeLayerParams()
	layers := float64(a.dense)*a.denseLayerParams() + float64(a.moeLayers)*nonExpert
	embed := float64(e.m.Vocab) * float64(a.h)
	ends := embed // input embedding on the first stage, output on the last
	if p == 1 && !e.m.Tied() {
		ends = 2 * embed
	}
	dense = (layers/float64(p) + ends) / float64(l.TP)
	experts = float64(a.moeLayers) * exp / float64(p) / float64(max(l.EP, 1))
	return dense, experts
}

// modelStep computes one optimizer step of layout l, or returns memory
// only (fast path) when the layout cannot fit.
func (e env) modelStep(l Layout) step {
	var st step
	a := e.a
	t, p, d, c, b, v := l.TP, l.PP, l.DP, l.CP, l.MicroBatch, max(l.VirtualStages, 1)
	ep := max(l.EP, 1)
	micro := float64(l.GlobalBatch) / float64(d*b)
	st.micro = micro
	dense := e.layer(l, false)
	var moe cost
	if a.moeLayers > 0 {
		moe = e.layer(l, true)
	}
	// Memory first.
	st.memory = e.memory(l, dense, moe, micro)
	out := e.outputLayer(l)
	// Work per device: the layers and the output layer split over the p
	// devices (frameworks set the first and last stages' layer counts,
	// e.g. Megatron-Core's num_layers_in_last_pipeline_stage, and an
	// interleaved device's v chunks add up to its share).
	dev := devices(dense, moe, out, a.dense, a.moeLayers, p, 1, "1f1b")
	S := dev.total()
	st.stage = S
	bubble := bubbleStages(l.Schedule, p, v) * S
	var p2p float64
	if p > 1 {
		T := float64(b * e.m.Seq / c)
		bw := e.h.interBps
		if e.gpus <= e.h.domain {
			bw = e.h.intraBps
		}
		p2p = micro * 2 * float64(v) * 2 * T * float64(a.h) / float64(t) / bw * (1 - e.k.PPOverlap)
	}
	// Data parallelism: gradients reduced over the dp x cp replicas
	// (experts over dp x tp x cp / ep); ZeRO-1/2 reduce-scatter then
	// all-gather (an all-reduce's volume), ZeRO-3 / FSDP also gathers
	// the parameters for forward and backward of every micro-batch.
	denseP, expP := e.params(l)
	dg := d * c
	edg := max(1, d*t*c/ep)
	bw := e.h.interBps
	if e.gpus <= e.h.domain {
		bw = e.h.intraBps
	}
	vol := func(n int, params float64) float64 {
		if n <= 1 {
			return 0
		}
		return float64(n-1) / float64(n) * 2 * params / bw
	}
	// Ring all-gathers and reduce-scatters pay a hop latency per rank,
	// once per layer's bucket: the collective-latency part of the loss
	// with scale.
	hop := CollectiveHopLatency
	if e.gpus <= e.h.domain {
		hop /= 5
	}
	buckets := float64(ceilDiv(a.dense+a.moeLayers, p))
	lat := func(n int) float64 { return float64(max(n-1, 0)) * hop * buckets }
	perPass := vol(dg, denseP) + vol(edg, expP) + lat(dg)
	if expP > 0 {
		perPass += lat(edg)
	}
	ov := e.k.GradOverlap
	if l.ZeRO == 3 {
		// FSDP: every micro-batch gathers the parameters for forward
		// (hidden behind the forward, a third of the work) and again
		// for backward with the gradients' reduce-scatter (behind the
		// backward, two thirds).
		st.dpRaw = micro * 3 * perPass
		fwd := perPass - min(ov*perPass, S/3)
		bwd := 2*perPass - min(ov*2*perPass, 2*S/3)
		st.dpExposed = micro * (fwd + bwd)
	} else {
		raw := 2 * perPass
		st.dpRaw = raw
		st.dpExposed = raw - min(ov*raw, S)
	}
	owned := denseP + expP
	if l.ZeRO >= 1 {
		owned = denseP/float64(dg) + expP/float64(edg)
	}
	optimizer := owned * OptimizerBytesPerParam / e.sp.MemoryBytesPerSecond / e.h.stepEfficient
	st.compute = micro*dev.compute + optimizer
	st.recompute = micro * dev.recompute
	st.tpComm = micro * dev.tp
	st.cpComm = micro * dev.cp
	st.epComm = micro * dev.ep
	st.ppBubble = bubble + p2p
	if e.jitter > 0 && e.gpus > 1 {
		st.scaleLoss = (st.total()) * e.jitter * math.Sqrt(2*math.Log(float64(e.gpus)))
	}
	return st
}

// inFlight is how many micro-batches' activations the first stage holds.
func inFlight(l Layout, micro float64) float64 {
	p := float64(l.PP)
	n := min(p, micro)
	switch l.Schedule {
	case "interleaved":
		n *= 1 + (p-1)/(p*float64(max(l.VirtualStages, 1)))
	case "dualpipe":
		n = min(p+1, micro)
	}
	return n
}

// memory estimates the peak bytes per GPU: weights, gradients and Adam
// states (bf16 weights and gradients, fp32 master weights and two
// moments: 2+2+12 bytes per parameter, sharded by ZeRO stage over the
// data-parallel group), activations of the micro-batches in flight on
// the first stage (stage outputs are freed once sent, so each layer's
// input is held once), and the logits on the last.
func (e env) memory(l Layout, dense, moe cost, micro float64) float64 {
	a := e.a
	denseP, expP := e.params(l)
	dg := float64(l.DP * l.CP)
	edg := float64(max(1, l.DP*l.TP*l.CP/max(l.EP, 1)))
	states := func(p, n float64) float64 {
		switch l.ZeRO {
		case 0:
			return 16 * p
		case 1:
			return (4 + 12/n) * p
		case 2:
			return (2 + 14/n) * p
		}
		return 16 / n * p
	}
	s := states(denseP, dg) + states(expP, edg)
	if l.Schedule == "dualpipe" {
		s += 2 * (denseP + expP) // DualPipe keeps two copies of the parameters
	}
	per := ceilDiv(a.dense+a.moeLayers, l.PP)
	nDense := min(a.dense, per)
	nMoE := per - nDense
	acts := (float64(nDense)*dense.act + float64(nMoE)*moe.act) * inFlight(l, micro)
	if l.Recompute == "full" {
		acts += max(dense.work, moe.work)
	}
	T := float64(l.MicroBatch * e.m.Seq / l.CP)
	logits := 4 * T * float64(e.m.Vocab) / float64(l.TP)
	if l.PP == 1 || l.Schedule == "dualpipe" || l.Schedule == "interleaved" {
		return s + acts + logits
	}
	last := float64(nDense)*dense.act + float64(nMoE)*moe.act + logits
	return s + max(acts, last)
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return a
	}
	return (a + b - 1) / b
}

// HopperStepEfficiency is the step efficiency of H100/H800/H200-class
// GPUs, fitted with overlap modelled on the Megatron-Core r0.8 H100
// weak-scaling table (docs/forecast.md).
const HopperStepEfficiency = 0.65

// StepEfficiencyFor returns the step efficiency of a GPU's generation
// and where it comes from.
func StepEfficiencyFor(gpu string) (float64, string) {
	switch {
	case strings.HasPrefix(gpu, "h1"), strings.HasPrefix(gpu, "h2"), strings.HasPrefix(gpu, "h8"), strings.HasPrefix(gpu, "gh"):
		return HopperStepEfficiency, "Hopper, fitted on the Megatron-Core r0.8 H100 weak-scaling table with overlap modelled"
	case strings.HasPrefix(gpu, "b"), strings.HasPrefix(gpu, "gb"):
		return HopperStepEfficiency, "Blackwell: no calibration row, Hopper's figure (validated against the Megatron-Bridge and NeMo B200/GB200 rows)"
	}
	return DefaultStepEfficiency, "fitted on Megatron-LM Table 1 (A100, communication exposed; Narayanan et al. 2021)"
}
