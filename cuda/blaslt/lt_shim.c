#include "lt_shim.h"

// P turns a device address into the pointer cuBLASLt takes.
#define P(x) ((void *)(uintptr_t)(x))

typedef ltStatus (*create_fn)(void **);
typedef ltStatus (*destroy_fn)(void *);
typedef size_t (*version_fn)(void);
typedef const char *(*str_fn)(ltStatus);
typedef ltStatus (*desc_create_fn)(void **, int, int);
typedef ltStatus (*set_attr_fn)(void *, int, const void *, size_t);
typedef ltStatus (*layout_create_fn)(void **, int, uint64_t, uint64_t, int64_t);
typedef ltStatus (*heuristic_fn)(void *, void *, void *, void *, void *, void *, void *, int, flop_lt_heuristic *, int *);
typedef ltStatus (*matmul_fn)(void *, void *, const void *, const void *, void *, const void *, void *, const void *,
                              const void *, void *, void *, void *, const flop_lt_algo *, void *, size_t, void *);
typedef int (*record_fn)(void *, void *);

ltStatus flop_lt_create(void *f, void **h) { return ((create_fn)f)(h); }
ltStatus flop_lt_destroy(void *f, void *h) { return ((destroy_fn)f)(h); }
size_t flop_lt_version(void *f) { return ((version_fn)f)(); }
const char *flop_lt_str(void *f, ltStatus s) { return ((str_fn)f)(s); }
ltStatus flop_lt_desc_create(void *f, void **d, int compute, int scale) { return ((desc_create_fn)f)(d, compute, scale); }
ltStatus flop_lt_set_attr(void *f, void *d, int attr, const void *buf, size_t n) { return ((set_attr_fn)f)(d, attr, buf, n); }
ltStatus flop_lt_layout_create(void *f, void **l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
	return ((layout_create_fn)f)(l, type, rows, cols, ld);
}
ltStatus flop_lt_pref_create(void *f, void **p) { return ((create_fn)f)(p); }
ltStatus flop_lt_get_heuristic(void *f, void *h, void *desc, void *a, void *b, void *c, void *d, void *pref,
                           int requested, flop_lt_heuristic *out, int *returned) {
	return ((heuristic_fn)f)(h, desc, a, b, c, d, pref, requested, out, returned);
}
ltStatus flop_lt_matmul(void *f, void *h, void *desc, const void *alpha, uint64_t a, void *adesc,
                        uint64_t b, void *bdesc, const void *beta, uint64_t c, void *cdesc, uint64_t d,
                        void *ddesc, const flop_lt_algo *algo, uint64_t ws, size_t wsSize, void *stream) {
	return ((matmul_fn)f)(h, desc, alpha, P(a), adesc, P(b), bdesc, beta, P(c), cdesc, P(d), ddesc, algo, P(ws), wsSize, stream);
}
int flop_lt_matmul_timed(void *record, void *start, void *stop, int *which,
                         void *f, void *h, void *desc, const void *alpha, uint64_t a, void *adesc,
                         uint64_t b, void *bdesc, const void *beta, uint64_t c, void *cdesc, uint64_t d,
                         void *ddesc, const flop_lt_algo *algo, uint64_t ws, size_t wsSize, void *stream) {
	int rc = ((record_fn)record)(start, stream);
	if (rc != 0) { *which = 0; return rc; }
	rc = ((matmul_fn)f)(h, desc, alpha, P(a), adesc, P(b), bdesc, beta, P(c), cdesc, P(d), ddesc, algo, P(ws), wsSize, stream);
	if (rc != 0) { *which = 1; return rc; }
	rc = ((record_fn)record)(stop, stream);
	*which = 2;
	return rc;
}
