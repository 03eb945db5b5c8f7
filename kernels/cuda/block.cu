// flopcast's transformer-block kernels (the block workload's non-GEMM
// work), compiled at run time with NVRTC for the device's own
// architecture. No headers: 16-bit values are handled as raw bits.
//
// The activation storage type is chosen when compiling, with
// --define-macro=FLOPCAST_ACT=N: 0 fp32, 1 bf16, 2 fp16. Every kernel
// computes and accumulates in fp32 whatever the storage type; the
// optimizer's master weights and moments are always fp32.
//
// Layouts (row-major): token-major activations are tokens×width with token
// b·seq+s; head-major ones are [batch, heads, seq, headDim]. Attention
// scores and probabilities are [batch·kvHeads, group·seq, seq]: row
// g·seq+s of batch entry b·kvHeads+kh is query position s of head
// kh·group+g, so the query heads sharing a key/value head form one matrix.

#ifndef FLOPCAST_ACT
#define FLOPCAST_ACT 0
#endif

#if FLOPCAST_ACT == 0
typedef float act_t;
__device__ __forceinline__ float ld(act_t v) { return v; }
__device__ __forceinline__ act_t st(float f) { return f; }
#elif FLOPCAST_ACT == 1
typedef unsigned short act_t;
__device__ __forceinline__ float ld(act_t v) { return __uint_as_float(((unsigned int)v) << 16); }
// Round to nearest even; NaN stays a (quiet) NaN.
__device__ __forceinline__ act_t st(float f) {
	unsigned int u = __float_as_uint(f);
	if ((u & 0x7fffffffu) > 0x7f800000u) {
		return (act_t)((u >> 16) | 0x40u);
	}
	u += 0x7fffu + ((u >> 16) & 1u);
	return (act_t)(u >> 16);
}
#elif FLOPCAST_ACT == 2
typedef unsigned short act_t;
__device__ __forceinline__ float ld(act_t v) {
	float f;
	asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v));
	return f;
}
__device__ __forceinline__ act_t st(float f) {
	act_t h;
	asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
	return h;
}
#else
#error "FLOPCAST_ACT must be 0 (fp32), 1 (bf16) or 2 (fp16)"
#endif

typedef unsigned long long u64;

// Grid-stride loop over n elements.
#define FOR_EACH(i, n) \
	for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// block_sum returns the sum of v over the thread block (blockDim.x a
// multiple of 32, at most 1024) to every thread. scratch holds 32 floats.
__device__ float block_sum(float v, float *scratch) {
	for (int o = 16; o > 0; o >>= 1) {
		v += __shfl_xor_sync(0xffffffffu, v, o);
	}
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
	__syncthreads(); // scratch may still be read by a previous call
	if (lane == 0) {
		scratch[warp] = v;
	}
	__syncthreads();
	v = lane < warps ? scratch[lane] : 0.0f;
	for (int o = 16; o > 0; o >>= 1) {
		v += __shfl_xor_sync(0xffffffffu, v, o);
	}
	return v;
}

// block_max is block_sum's maximum.
__device__ float block_max(float v, float *scratch) {
	for (int o = 16; o > 0; o >>= 1) {
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	}
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
	__syncthreads();
	if (lane == 0) {
		scratch[warp] = v;
	}
	__syncthreads();
	v = lane < warps ? scratch[lane] : -3.0e38f;
	for (int o = 16; o > 0; o >>= 1) {
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	}
	return v;
}

// flopcast_norm_fwd normalises each of rows rows of x (cols wide), one
// thread block per row: RMSNorm y = x·inv·g with inv = 1/√(mean(x²)+eps)
// when layer is 0; LayerNorm y = (x−mean)·inv·g + b with the biased
// variance when layer is 1. mean (LayerNorm only) and inv are saved per
// row for the backward pass.
extern "C" __global__ void flopcast_norm_fwd(const act_t *__restrict__ x, const act_t *__restrict__ g,
                                             const act_t *__restrict__ b, act_t *__restrict__ y,
                                             float *__restrict__ mean, float *__restrict__ inv, int rows,
                                             int cols, float eps, int layer) {
	__shared__ float scratch[32];
	int r = blockIdx.x;
	if (r >= rows) {
		return;
	}
	const act_t *xr = x + (u64)r * cols;
	act_t *yr = y + (u64)r * cols;
	float mu = 0.0f;
	if (layer) {
		float s = 0.0f;
		for (int j = threadIdx.x; j < cols; j += blockDim.x) {
			s += ld(xr[j]);
		}
		mu = block_sum(s, scratch) / cols;
	}
	float ss = 0.0f;
	for (int j = threadIdx.x; j < cols; j += blockDim.x) {
		float c = ld(xr[j]) - mu;
		ss += c * c;
	}
	float rs = rsqrtf(block_sum(ss, scratch) / cols + eps);
	for (int j = threadIdx.x; j < cols; j += blockDim.x) {
		float v = (ld(xr[j]) - mu) * rs * ld(g[j]);
		if (layer) {
			v += ld(b[j]);
		}
		yr[j] = st(v);
	}
	if (threadIdx.x == 0) {
		inv[r] = rs;
		if (layer) {
			mean[r] = mu;
		}
	}
}

// flopcast_norm_bwd is the input gradient of flopcast_norm_fwd plus a
// residual gradient: with x̂ = (x−mean)·inv and gy = g⊙dy,
//
//	dx = resid + inv·(gy − x̂·mean(gy⊙x̂))              RMSNorm
//	dx = resid + inv·(gy − mean(gy) − x̂·mean(gy⊙x̂))    LayerNorm
//
// one thread block per row. dx may alias resid.
extern "C" __global__ void flopcast_norm_bwd(const act_t *__restrict__ dy, const act_t *__restrict__ x,
                                             const act_t *__restrict__ g, const float *__restrict__ mean,
                                             const float *__restrict__ inv, const act_t *resid, act_t *dx, int rows,
                                             int cols, int layer) {
	__shared__ float scratch[32];
	int r = blockIdx.x;
	if (r >= rows) {
		return;
	}
	u64 off = (u64)r * cols;
	float mu = layer ? mean[r] : 0.0f, rs = inv[r];
	float sg = 0.0f, sgx = 0.0f;
	for (int j = threadIdx.x; j < cols; j += blockDim.x) {
		float gy = ld(g[j]) * ld(dy[off + j]);
		float xh = (ld(x[off + j]) - mu) * rs;
		sg += gy;
		sgx += gy * xh;
	}
	float mg = layer ? block_sum(sg, scratch) / cols : 0.0f;
	float mgx = block_sum(sgx, scratch) / cols;
	for (int j = threadIdx.x; j < cols; j += blockDim.x) {
		float gy = ld(g[j]) * ld(dy[off + j]);
		float xh = (ld(x[off + j]) - mu) * rs;
		dx[off + j] = st(ld(resid[off + j]) + rs * (gy - mg - xh * mgx));
	}
}

// flopcast_col_reduce adds, for every column j of the rows×cols matrix a,
// Σ_r a[r,j]·w[r,j] into acc[j] (fp32, atomically), where w is 1 when x is
// null and else the normalised input x̂ = (x[r,j] − mean[r])·inv[r] (mean
// null: 0). It gives the bias gradients (x null) and the norm gains'
// gradients. Block (256, 1), grid (⌈cols/256⌉, row chunks); each thread
// sums rowsPerBlock rows of one column before its one atomic add.
extern "C" __global__ void flopcast_col_reduce(const act_t *__restrict__ a, const act_t *__restrict__ x,
                                               const float *__restrict__ mean, const float *__restrict__ inv,
                                               float *__restrict__ acc, int rows, int cols, int rowsPerBlock) {
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= cols) {
		return;
	}
	for (int r0 = blockIdx.y * rowsPerBlock; r0 < rows; r0 += gridDim.y * rowsPerBlock) {
		int r1 = min(rows, r0 + rowsPerBlock);
		float s = 0.0f;
		for (int r = r0; r < r1; r++) {
			u64 i = (u64)r * cols + j;
			float w = 1.0f;
			if (x) {
				w = (ld(x[i]) - (mean ? mean[r] : 0.0f)) * inv[r];
			}
			s += ld(a[i]) * w;
		}
		atomicAdd(acc + j, s);
	}
}

// flopcast_from_f32 stores n fp32 values in the activation type.
extern "C" __global__ void flopcast_from_f32(const float *__restrict__ in, act_t *__restrict__ out, u64 n) {
	FOR_EACH(i, n) { out[i] = st(in[i]); }
}

// flopcast_heads converts between the token-major tokens×(heads·headDim)
// layout and the head-major [batch, heads, seq, headDim] one, rotating
// each head by its position on the way (rotary embedding, rotate-half
// form: pair (i, i+headDim/2) by angle pos·θ_i, with cos and sin tables
// [seq, headDim/2]).
//
//	toHeads 1: in token-major, out head-major, rotation by +angle (rope
//	           forward, or, with rotate 0, a plain permute)
//	toHeads 0: in head-major, out token-major, rotation by −angle (the
//	           rope's gradient, a rotation being orthogonal)
//
// One thread per pair: batch·seq·heads·headDim/2 threads.
extern "C" __global__ void flopcast_heads(const act_t *__restrict__ in, act_t *__restrict__ out,
                                          const float *__restrict__ cosT, const float *__restrict__ sinT, int batch,
                                          int seq, int heads, int hd, int rotate, int toHeads) {
	int half = hd >> 1;
	u64 n = (u64)batch * seq * heads * half;
	FOR_EACH(t, n) {
		int i = (int)(t % half);
		u64 rest = t / half;
		int h = (int)(rest % heads);
		rest /= heads;
		int s = (int)(rest % seq);
		int b = (int)(rest / seq);
		u64 tok = (((u64)b * seq + s) * heads + h) * hd;  // token-major head start
		u64 hm = (((u64)b * heads + h) * seq + s) * hd;   // head-major head start
		u64 src = toHeads ? tok : hm, dst = toHeads ? hm : tok;
		float a = ld(in[src + i]), c = ld(in[src + i + half]);
		if (rotate) {
			float co = cosT[s * half + i], si = sinT[s * half + i];
			if (!toHeads) {
				si = -si;
			}
			float ra = a * co - c * si, rc = c * co + a * si;
			a = ra;
			c = rc;
		}
		out[dst + i] = st(a);
		out[dst + i + half] = st(c);
	}
}

// flopcast_softmax_fwd turns one row of raw fp32 scores into causal
// probabilities p_j = exp(scale·s_j − max) / Σ over the visible keys
// j ≤ pos, 0 for the masked ones, where pos = row mod seq. One thread
// block per row of seq scores.
extern "C" __global__ void flopcast_softmax_fwd(const float *__restrict__ scores, act_t *__restrict__ probs,
                                                u64 rows, int seq, float scale) {
	__shared__ float scratch[32];
	u64 r = blockIdx.x;
	if (r >= rows) {
		return;
	}
	int pos = (int)(r % seq);
	const float *sr = scores + r * seq;
	act_t *pr = probs + r * seq;
	float m = -3.0e38f;
	for (int j = threadIdx.x; j <= pos; j += blockDim.x) {
		m = fmaxf(m, scale * sr[j]);
	}
	m = block_max(m, scratch);
	float s = 0.0f;
	for (int j = threadIdx.x; j <= pos; j += blockDim.x) {
		s += __expf(scale * sr[j] - m);
	}
	float is = 1.0f / block_sum(s, scratch);
	for (int j = threadIdx.x; j < seq; j += blockDim.x) {
		pr[j] = st(j <= pos ? __expf(scale * sr[j] - m) * is : 0.0f);
	}
}

// flopcast_softmax_bwd is the gradient through the scaled causal softmax:
// with probabilities p (activation type) and their gradient dp (fp32),
// ds_j = scale·p_j·(dp_j − Σ_k dp_k·p_k), written over p. One thread block
// per row.
extern "C" __global__ void flopcast_softmax_bwd(act_t *probs, const float *__restrict__ dprobs, u64 rows, int seq,
                                                float scale) {
	__shared__ float scratch[32];
	u64 r = blockIdx.x;
	if (r >= rows) {
		return;
	}
	int pos = (int)(r % seq);
	act_t *pr = probs + r * seq;
	const float *dr = dprobs + r * seq;
	float dot = 0.0f;
	for (int j = threadIdx.x; j <= pos; j += blockDim.x) {
		dot += ld(pr[j]) * dr[j];
	}
	dot = block_sum(dot, scratch);
	for (int j = threadIdx.x; j < seq; j += blockDim.x) {
		pr[j] = st(j <= pos ? scale * ld(pr[j]) * (dr[j] - dot) : 0.0f);
	}
}

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + __expf(-x)); }

// flopcast_swiglu_fwd: act = silu(gate)·up, silu(x) = x·σ(x).
extern "C" __global__ void flopcast_swiglu_fwd(const act_t *__restrict__ gate, const act_t *__restrict__ up,
                                               act_t *__restrict__ act, u64 n) {
	FOR_EACH(i, n) {
		float g = ld(gate[i]);
		act[i] = st(g * sigmoidf(g) * ld(up[i]));
	}
}

// flopcast_swiglu_bwd: dgate = dact·up·σ(g)·(1 + g·(1−σ(g))) and
// dup = dact·silu(g), written over gate and up.
extern "C" __global__ void flopcast_swiglu_bwd(const act_t *__restrict__ dact, act_t *gate, act_t *up, u64 n) {
	FOR_EACH(i, n) {
		float g = ld(gate[i]), u = ld(up[i]), d = ld(dact[i]);
		float sg = sigmoidf(g);
		gate[i] = st(d * u * sg * (1.0f + g * (1.0f - sg)));
		up[i] = st(d * g * sg);
	}
}

#define GELU_C 0.7978845608028654f // √(2/π)
#define GELU_A 0.044715f

// flopcast_gelu_fwd: act = 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³))).
extern "C" __global__ void flopcast_gelu_fwd(const act_t *__restrict__ u, act_t *__restrict__ act, u64 n) {
	FOR_EACH(i, n) {
		float x = ld(u[i]);
		act[i] = st(0.5f * x * (1.0f + tanhf(GELU_C * (x + GELU_A * x * x * x))));
	}
}

// flopcast_gelu_bwd: du = dact·gelu'(u), written over u.
extern "C" __global__ void flopcast_gelu_bwd(const act_t *__restrict__ dact, act_t *u, u64 n) {
	FOR_EACH(i, n) {
		float x = ld(u[i]);
		float t = tanhf(GELU_C * (x + GELU_A * x * x * x));
		float d = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * x * x);
		u[i] = st(ld(dact[i]) * d);
	}
}

// flopcast_add: y = a + b (a residual add); y may alias a or b.
extern "C" __global__ void flopcast_add(const act_t *a, const act_t *b, act_t *y, u64 n) {
	FOR_EACH(i, n) { y[i] = st(ld(a[i]) + ld(b[i])); }
}

// flopcast_add_bias: y[r,j] += bias[j] over a rows×cols matrix (n =
// rows·cols).
extern "C" __global__ void flopcast_add_bias(act_t *y, const act_t *__restrict__ bias, u64 n, int cols) {
	FOR_EACH(i, n) { y[i] = st(ld(y[i]) + ld(bias[i % cols])); }
}

// flopcast_mse: the mean-squared-error loss and its gradient. dout =
// 2·(out − target)/n, and Σ (out − target)² is added to *sum (fp64, one
// atomic add per block; the host divides by n). Block size a multiple of
// 32.
extern "C" __global__ void flopcast_mse(const act_t *__restrict__ out, const act_t *__restrict__ target,
                                        act_t *__restrict__ dout, double *sum, u64 n) {
	__shared__ float scratch[32];
	float s = 0.0f;
	float k = 2.0f / (float)n;
	FOR_EACH(i, n) {
		float e = ld(out[i]) - ld(target[i]);
		dout[i] = st(k * e);
		s += e * e;
	}
	s = block_sum(s, scratch);
	if (threadIdx.x == 0) {
		atomicAdd(sum, (double)s);
	}
}

// flopcast_adamw is PyTorch's AdamW on fp32 master weights, for n
// parameters at once: with gradient g (activation type)
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	p ← p·decay − lrc1·m / (√(v·ic2) + eps)
//
// where decay = 1 − lr·weightDecay, lrc1 = lr/(1−β₁ᵗ), ic2 = 1/(1−β₂ᵗ).
// The updated weight is stored in master and, rounded, in weights (the
// copy the step computes with; it may be master itself in fp32).
extern "C" __global__ void flopcast_adamw(float *master, act_t *weights, const act_t *__restrict__ grad,
                                          float *__restrict__ m, float *__restrict__ v, u64 n, float b1, float b2,
                                          float eps, float decay, float lrc1, float ic2) {
	FOR_EACH(i, n) {
		float g = ld(grad[i]);
		float mi = b1 * m[i] + (1.0f - b1) * g;
		float vi = b2 * v[i] + (1.0f - b2) * g * g;
		m[i] = mi;
		v[i] = vi;
		float p = master[i] * decay - lrc1 * mi / (sqrtf(vi * ic2) + eps);
		master[i] = p;
		weights[i] = st(p);
	}
}
