// cuda_shim.h: flopcast's own minimal declarations for the CUDA driver
// API (opaque handles as pointers, enums and results as ints) and the C
// trampolines that call a function pointer bound with dlsym.
#ifndef FLOPCAST_CUDA_SHIM_H
#define FLOPCAST_CUDA_SHIM_H
#include <stdint.h>
#include <stdlib.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUstream;
typedef void *CUevent;
typedef void *CUmodule;
typedef void *CUfunction;

CUresult flop_cu_u(void *f, unsigned a);
CUresult flop_cu_pint(void *f, int *a);
CUresult flop_cu_devget(void *f, CUdevice *d, int o);
CUresult flop_cu_name(void *f, char *s, int n, CUdevice d);
CUresult flop_cu_uuid(void *f, unsigned char *u, CUdevice d);
CUresult flop_cu_attr(void *f, int *v, int a, CUdevice d);
CUresult flop_cu_totalmem(void *f, size_t *v, CUdevice d);
CUresult flop_cu_retain(void *f, CUcontext *c, CUdevice d);
CUresult flop_cu_dev(void *f, CUdevice d);
CUresult flop_cu_ptr(void *f, void *p);
CUresult flop_cu_void(void *f);
CUresult flop_cu_meminfo(void *f, size_t *a, size_t *b);
CUresult flop_cu_alloc(void *f, CUdeviceptr *p, size_t n);
CUresult flop_cu_dfree(void *f, CUdeviceptr p);
CUresult flop_cu_hostalloc(void *f, void **p, size_t n, unsigned fl);
CUresult flop_cu_htod(void *f, CUdeviceptr d, const void *s, size_t n);
CUresult flop_cu_dtoh(void *f, void *d, CUdeviceptr s, size_t n);
CUresult flop_cu_htod_a(void *f, CUdeviceptr d, const void *s, size_t n, CUstream st);
CUresult flop_cu_dtoh_a(void *f, void *d, CUdeviceptr s, size_t n, CUstream st);
CUresult flop_cu_dtod_a(void *f, CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st);
CUresult flop_cu_memset16(void *f, CUdeviceptr d, unsigned short v, size_t n, CUstream st);
CUresult flop_cu_memset32(void *f, CUdeviceptr d, unsigned v, size_t n, CUstream st);
CUresult flop_cu_create(void *f, void **h, unsigned fl);
CUresult flop_cu_record(void *f, CUevent e, CUstream s);
CUresult flop_cu_elapsed(void *f, float *ms, CUevent a, CUevent b);
CUresult flop_cu_modload(void *f, CUmodule *m, const void *img);
CUresult flop_cu_getfunc(void *f, CUfunction *fn, CUmodule m, const char *n);
CUresult flop_cu_launch(void *f, CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                         unsigned shmem, CUstream s, void **params);
CUresult flop_cu_errstr(void *f, CUresult r, const char **s);

#endif
