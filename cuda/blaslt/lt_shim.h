// lt_shim.h: flopcast's own minimal declarations for cuBLASLt (opaque
// handles as pointers, enums and statuses as ints) and the C trampolines
// that call functions bound with dlsym.
#ifndef FLOPCAST_LT_SHIM_H
#define FLOPCAST_LT_SHIM_H
#include <stddef.h>
#include <stdint.h>

typedef int ltStatus;

// cublasLtMatmulAlgo_t: 8 opaque 64-bit words.
typedef struct { uint64_t data[8]; } flop_lt_algo;

// cublasLtMatmulHeuristicResult_t.
typedef struct {
	flop_lt_algo algo;
	size_t workspaceSize;
	int state;
	float wavesCount;
	int reserved[4];
} flop_lt_heuristic;

ltStatus flop_lt_create(void *f, void **h);
ltStatus flop_lt_destroy(void *f, void *h);
size_t flop_lt_version(void *f);
const char *flop_lt_str(void *f, ltStatus s);
ltStatus flop_lt_desc_create(void *f, void **d, int compute, int scale);
ltStatus flop_lt_set_attr(void *f, void *d, int attr, const void *buf, size_t n);
ltStatus flop_lt_layout_create(void *f, void **l, int type, uint64_t rows, uint64_t cols, int64_t ld);
ltStatus flop_lt_pref_create(void *f, void **p);
ltStatus flop_lt_get_heuristic(void *f, void *h, void *desc, void *a, void *b, void *c, void *d, void *pref,
                           int requested, flop_lt_heuristic *out, int *returned);
ltStatus flop_lt_matmul(void *f, void *h, void *desc, const void *alpha, uint64_t a, void *adesc,
                        uint64_t b, void *bdesc, const void *beta, uint64_t c, void *cdesc, uint64_t d,
                        void *ddesc, const flop_lt_algo *algo, uint64_t ws, size_t wsSize, void *stream);
// flop_lt_matmul_timed records start on the stream, runs the matmul and
// records stop, all in one call so no host time falls between them.
int flop_lt_matmul_timed(void *record, void *start, void *stop, int *which,
                         void *f, void *h, void *desc, const void *alpha, uint64_t a, void *adesc,
                         uint64_t b, void *bdesc, const void *beta, uint64_t c, void *cdesc, uint64_t d,
                         void *ddesc, const flop_lt_algo *algo, uint64_t ws, size_t wsSize, void *stream);

#endif
