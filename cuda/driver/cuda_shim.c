#include "cuda_shim.h"

CUresult flop_cu_u(void *f, unsigned a) { return ((CUresult (*)(unsigned))f)(a); }
CUresult flop_cu_pint(void *f, int *a) { return ((CUresult (*)(int *))f)(a); }
CUresult flop_cu_devget(void *f, CUdevice *d, int o) { return ((CUresult (*)(CUdevice *, int))f)(d, o); }
CUresult flop_cu_name(void *f, char *s, int n, CUdevice d) { return ((CUresult (*)(char *, int, CUdevice))f)(s, n, d); }
CUresult flop_cu_uuid(void *f, unsigned char *u, CUdevice d) { return ((CUresult (*)(unsigned char *, CUdevice))f)(u, d); }
CUresult flop_cu_attr(void *f, int *v, int a, CUdevice d) { return ((CUresult (*)(int *, int, CUdevice))f)(v, a, d); }
CUresult flop_cu_totalmem(void *f, size_t *v, CUdevice d) { return ((CUresult (*)(size_t *, CUdevice))f)(v, d); }
CUresult flop_cu_retain(void *f, CUcontext *c, CUdevice d) { return ((CUresult (*)(CUcontext *, CUdevice))f)(c, d); }
CUresult flop_cu_dev(void *f, CUdevice d) { return ((CUresult (*)(CUdevice))f)(d); }
CUresult flop_cu_ptr(void *f, void *p) { return ((CUresult (*)(void *))f)(p); }
CUresult flop_cu_void(void *f) { return ((CUresult (*)(void))f)(); }
CUresult flop_cu_meminfo(void *f, size_t *a, size_t *b) { return ((CUresult (*)(size_t *, size_t *))f)(a, b); }
CUresult flop_cu_alloc(void *f, CUdeviceptr *p, size_t n) { return ((CUresult (*)(CUdeviceptr *, size_t))f)(p, n); }
CUresult flop_cu_dfree(void *f, CUdeviceptr p) { return ((CUresult (*)(CUdeviceptr))f)(p); }
CUresult flop_cu_hostalloc(void *f, void **p, size_t n, unsigned fl) { return ((CUresult (*)(void **, size_t, unsigned))f)(p, n, fl); }
CUresult flop_cu_htod(void *f, CUdeviceptr d, const void *s, size_t n) { return ((CUresult (*)(CUdeviceptr, const void *, size_t))f)(d, s, n); }
CUresult flop_cu_dtoh(void *f, void *d, CUdeviceptr s, size_t n) { return ((CUresult (*)(void *, CUdeviceptr, size_t))f)(d, s, n); }
CUresult flop_cu_htod_a(void *f, CUdeviceptr d, const void *s, size_t n, CUstream st) { return ((CUresult (*)(CUdeviceptr, const void *, size_t, CUstream))f)(d, s, n, st); }
CUresult flop_cu_dtoh_a(void *f, void *d, CUdeviceptr s, size_t n, CUstream st) { return ((CUresult (*)(void *, CUdeviceptr, size_t, CUstream))f)(d, s, n, st); }
CUresult flop_cu_dtod_a(void *f, CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return ((CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))f)(d, s, n, st); }
CUresult flop_cu_memset16(void *f, CUdeviceptr d, unsigned short v, size_t n, CUstream st) { return ((CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream))f)(d, v, n, st); }
CUresult flop_cu_memset32(void *f, CUdeviceptr d, unsigned v, size_t n, CUstream st) { return ((CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))f)(d, v, n, st); }
CUresult flop_cu_create(void *f, void **h, unsigned fl) { return ((CUresult (*)(void **, unsigned))f)(h, fl); }
CUresult flop_cu_record(void *f, CUevent e, CUstream s) { return ((CUresult (*)(CUevent, CUstream))f)(e, s); }
CUresult flop_cu_elapsed(void *f, float *ms, CUevent a, CUevent b) { return ((CUresult (*)(float *, CUevent, CUevent))f)(ms, a, b); }
CUresult flop_cu_modload(void *f, CUmodule *m, const void *img) { return ((CUresult (*)(CUmodule *, const void *))f)(m, img); }
CUresult flop_cu_getfunc(void *f, CUfunction *fn, CUmodule m, const char *n) { return ((CUresult (*)(CUfunction *, CUmodule, const char *))f)(fn, m, n); }
CUresult flop_cu_launch(void *f, CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                         unsigned shmem, CUstream s, void **params) {
	return ((CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **, void **))f)(
		fn, gx, gy, gz, bx, by, bz, shmem, s, params, NULL);
}
CUresult flop_cu_errstr(void *f, CUresult r, const char **s) { return ((CUresult (*)(CUresult, const char **))f)(r, s); }
