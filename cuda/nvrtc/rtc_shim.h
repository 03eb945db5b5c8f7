// rtc_shim.h: flopcast's own minimal declarations for NVRTC (the program
// as an opaque pointer, results as ints) and its C trampolines.
#ifndef FLOPCAST_RTC_SHIM_H
#define FLOPCAST_RTC_SHIM_H
#include <stddef.h>

int flop_rtc_version(void *f, int *major, int *minor);
int flop_rtc_create(void *f, void **prog, const char *src, const char *name);
int flop_rtc_compile(void *f, void *prog, int n, const char **opts);
int flop_rtc_size(void *f, void *prog, size_t *n);
int flop_rtc_get(void *f, void *prog, char *buf);
int flop_rtc_destroy(void *f, void **prog);
const char *flop_rtc_str(void *f, int rc);
int flop_rtc_pint(void *f, int *v);

#endif
