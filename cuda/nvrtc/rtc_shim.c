#include "rtc_shim.h"

int flop_rtc_version(void *f, int *major, int *minor) { return ((int (*)(int *, int *))f)(major, minor); }
int flop_rtc_create(void *f, void **prog, const char *src, const char *name) {
	return ((int (*)(void **, const char *, const char *, int, const char *const *, const char *const *))f)(prog, src, name, 0, NULL, NULL);
}
int flop_rtc_compile(void *f, void *prog, int n, const char **opts) { return ((int (*)(void *, int, const char **))f)(prog, n, opts); }
int flop_rtc_size(void *f, void *prog, size_t *n) { return ((int (*)(void *, size_t *))f)(prog, n); }
int flop_rtc_get(void *f, void *prog, char *buf) { return ((int (*)(void *, char *))f)(prog, buf); }
int flop_rtc_destroy(void *f, void **prog) { return ((int (*)(void **))f)(prog); }
const char *flop_rtc_str(void *f, int rc) { return ((const char *(*)(int))f)(rc); }
int flop_rtc_pint(void *f, int *v) { return ((int (*)(int *))f)(v); }
