// Package openblas loads OpenBLAS (libopenblas.so.0) at run time with dlopen
// and exposes its single- and double-precision GEMM as a gonum BLAS
// implementation, so gorgonia's tensor package can run its matmuls on it.
//
// Nothing of OpenBLAS is needed at build time: the few functions used are
// declared here by hand and bound by name. When the library is absent, Load
// returns an error naming every path tried, and callers keep gonum's
// pure-Go BLAS.
package openblas

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

// CBLAS enums as plain ints: row-major 101, no-trans 111, trans 112.
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_int_fn)(void);
typedef char *(*get_str_fn)(void);

static void call_sgemm(void *f, int order, int ta, int tb, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
	((sgemm_fn)f)(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
static void call_dgemm(void *f, int order, int ta, int tb, int m, int n, int k, double alpha,
                       const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc) {
	((dgemm_fn)f)(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
static void call_set_threads(void *f, int n) { ((set_threads_fn)f)(n); }
static int call_get_int(void *f) { return ((get_int_fn)f)(); }
static const char *call_get_str(void *f) { return ((get_str_fn)f)(); }

static const char *lib_path(void *sym) {
	Dl_info info;
	if (dladdr(sym, &info) == 0 || info.dli_fname == NULL) return NULL;
	return info.dli_fname;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// EnvPath names an environment variable holding an explicit path to the
// OpenBLAS shared library; it is tried before the loader's search path.
const EnvPath = "FLOPCAST_OPENBLAS"

// Library is a loaded OpenBLAS. Its Sgemm and Dgemm call OpenBLAS; every
// other BLAS routine falls through to gonum's pure-Go implementation, which
// Library embeds.
type Library struct {
	gonum.Implementation

	// Path is the file the dynamic loader opened.
	Path string
	// Config is OpenBLAS's build description (openblas_get_config), which
	// starts with its version, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
	Config string
	// CoreName is the kernel family OpenBLAS chose for this CPU, e.g. "Zen".
	CoreName string

	handle     unsafe.Pointer
	sgemm      unsafe.Pointer
	dgemm      unsafe.Pointer
	setThreads unsafe.Pointer
	getThreads unsafe.Pointer
}

// Version returns the version number from Config, e.g. "0.3.21", or "" when
// the library does not report one.
func (l *Library) Version() string {
	f := strings.Fields(l.Config)
	if len(f) >= 2 && f[0] == "OpenBLAS" {
		return f[1]
	}
	return ""
}

var (
	loadOnce sync.Once
	loaded   *Library
	loadErr  error
)

// candidates returns the library names tried, in order. Only absolute paths
// and bare sonames (resolved by the dynamic loader's own search path) are
// used, never a path relative to the working directory.
func candidates() []string {
	var c []string
	if p := os.Getenv(EnvPath); p != "" && filepath.IsAbs(p) {
		c = append(c, p)
	}
	return append(c, "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0")
}

// Load opens OpenBLAS once per process and returns it. The error joins the
// reason each candidate failed.
func Load() (*Library, error) {
	loadOnce.Do(func() { loaded, loadErr = load(candidates()) })
	return loaded, loadErr
}

func load(names []string) (*Library, error) {
	runtime.LockOSThread() // dlerror is per thread
	defer runtime.UnlockOSThread()
	var errs []error
	if p := os.Getenv(EnvPath); p != "" && !filepath.IsAbs(p) {
		errs = append(errs, fmt.Errorf("%s=%q ignored: not an absolute path", EnvPath, p))
	}
	for _, name := range names {
		cname := C.CString(name)
		h := C.dlopen(cname, C.RTLD_NOW|C.RTLD_LOCAL)
		C.free(unsafe.Pointer(cname))
		if h == nil {
			errs = append(errs, errors.New(C.GoString(C.dlerror())))
			continue
		}
		lib, err := bind(h)
		if err != nil {
			C.dlclose(h)
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
			continue
		}
		return lib, nil
	}
	return nil, errors.Join(errs...)
}

func bind(h unsafe.Pointer) (*Library, error) {
	sym := func(name string) unsafe.Pointer {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		return C.dlsym(h, cname)
	}
	l := &Library{
		handle:     h,
		sgemm:      sym("cblas_sgemm"),
		dgemm:      sym("cblas_dgemm"),
		setThreads: sym("openblas_set_num_threads"),
		getThreads: sym("openblas_get_num_threads"),
	}
	if l.sgemm == nil || l.dgemm == nil {
		return nil, errors.New("no cblas_sgemm/cblas_dgemm symbols: not a CBLAS library")
	}
	if f := sym("openblas_get_config"); f != nil {
		l.Config = strings.TrimSpace(C.GoString(C.call_get_str(f)))
	}
	if f := sym("openblas_get_corename"); f != nil {
		l.CoreName = strings.TrimSpace(C.GoString(C.call_get_str(f)))
	}
	if p := C.lib_path(l.sgemm); p != nil {
		l.Path = C.GoString(p)
		if real, err := filepath.EvalSymlinks(l.Path); err == nil {
			l.Path = real
		}
	}
	return l, nil
}

// SetThreads sets the number of threads OpenBLAS uses for each call.
func (l *Library) SetThreads(n int) {
	if l.setThreads != nil && n > 0 {
		C.call_set_threads(l.setThreads, C.int(n))
	}
}

// Threads returns the number of threads OpenBLAS uses, or 0 if unknown.
func (l *Library) Threads() int {
	if l.getThreads == nil {
		return 0
	}
	return int(C.call_get_int(l.getThreads))
}

func trans(t blas.Transpose) C.int {
	if t == blas.NoTrans {
		return cblasNoTrans
	}
	return cblasTrans
}

// checkGemm panics exactly where gonum's BLAS would, so a bad call fails
// loudly in Go instead of reading out of bounds in C. Callers in flopcast
// validate shapes before they get here.
func checkGemm(tA, tB blas.Transpose, m, n, k, lda, ldb, ldc, la, lb, lc int) {
	rowsA, colsA := m, k
	if tA != blas.NoTrans {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if tB != blas.NoTrans {
		rowsB, colsB = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		panic("openblas: negative dimension")
	case lda < max(1, colsA) || ldb < max(1, colsB) || ldc < max(1, n):
		panic("openblas: bad leading dimension")
	case m == 0 || n == 0:
		return
	case la < lda*(rowsA-1)+colsA || lb < ldb*(rowsB-1)+colsB || lc < ldc*(m-1)+n:
		panic("openblas: slice too short")
	}
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C in float32 with OpenBLAS;
// all matrices are row-major.
func (l *Library) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, lda, ldb, ldc, len(a), len(b), len(c))
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// OpenBLAS needs non-empty A and B; C = beta·C is gonum's job.
		l.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.call_sgemm(l.sgemm, cblasRowMajor, trans(tA), trans(tB), C.int(m), C.int(n), C.int(k),
		C.float(alpha), (*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb),
		C.float(beta), (*C.float)(&c[0]), C.int(ldc))
}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C in float64 with OpenBLAS;
// all matrices are row-major.
func (l *Library) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(tA, tB, m, n, k, lda, ldb, ldc, len(a), len(b), len(c))
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		l.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.call_dgemm(l.dgemm, cblasRowMajor, trans(tA), trans(tB), C.int(m), C.int(n), C.int(k),
		C.double(alpha), (*C.double)(&a[0]), C.int(lda), (*C.double)(&b[0]), C.int(ldb),
		C.double(beta), (*C.double)(&c[0]), C.int(ldc))
}
