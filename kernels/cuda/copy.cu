// flopcast's memory kernels, compiled at run time with NVRTC for the
// device's own architecture. No headers: only built-in vector types.

// flopcast_copy16 copies n 16-byte vectors from src to dst with a
// grid-stride loop: each thread moves one uint4 (a 128-bit load and a
// 128-bit store) per step, so every access is full-width and coalesced.
// Bytes moved per call: 2 * 16 * n (read plus written).
extern "C" __global__ void flopcast_copy16(const uint4 *__restrict__ src, uint4 *__restrict__ dst,
                                           unsigned long long n) {
	unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
	for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
		dst[i] = src[i];
	}
}

// flopcast_poison fills n 32-bit words with pattern. With 0x7ff87ff8 every
// element reads as NaN whether the buffer holds fp32, fp64, fp16 or bf16,
// so an output element a kernel never writes cannot pass a check.
extern "C" __global__ void flopcast_poison(unsigned int *__restrict__ dst, unsigned int pattern,
                                           unsigned long long n) {
	unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
	for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
		dst[i] = pattern;
	}
}
