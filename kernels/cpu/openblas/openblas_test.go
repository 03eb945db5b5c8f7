package openblas

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func loadOrSkip(t *testing.T) *Library {
	t.Helper()
	lib, err := Load()
	if err != nil {
		t.Skipf("needs libopenblas.so.0 (apt-get install libopenblas0): %v", err)
	}
	return lib
}

func TestLoadDescribesLibrary(t *testing.T) {
	lib := loadOrSkip(t)
	if !strings.HasPrefix(lib.Path, "/") || lib.Version() == "" || lib.CoreName == "" {
		t.Errorf("path %q version %q core %q", lib.Path, lib.Version(), lib.CoreName)
	}
	lib.SetThreads(1)
	if n := lib.Threads(); n != 1 {
		t.Errorf("threads = %d after SetThreads(1)", n)
	}
}

func TestGemmMatchesGonum(t *testing.T) {
	lib := loadOrSkip(t)
	ref := gonum.Implementation{}
	for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
		for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			m, n, k := 13, 7, 29
			lda, ldb := k, n
			if tA == blas.Trans {
				lda = m
			}
			if tB == blas.Trans {
				ldb = k
			}
			a64, b64 := make([]float64, m*k), make([]float64, k*n)
			for i := range a64 {
				a64[i] = math.Sin(float64(i))
			}
			for i := range b64 {
				b64[i] = math.Cos(float64(i))
			}
			c64, want64 := make([]float64, m*n), make([]float64, m*n)
			for i := range c64 {
				c64[i], want64[i] = 1, 1
			}
			lib.Dgemm(tA, tB, m, n, k, 0.5, a64, lda, b64, ldb, 2, c64, n)
			ref.Dgemm(tA, tB, m, n, k, 0.5, a64, lda, b64, ldb, 2, want64, n)
			a32, b32 := make([]float32, len(a64)), make([]float32, len(b64))
			for i, v := range a64 {
				a32[i] = float32(v)
			}
			for i, v := range b64 {
				b32[i] = float32(v)
			}
			c32 := make([]float32, m*n)
			lib.Sgemm(tA, tB, m, n, k, 0.5, a32, lda, b32, ldb, 0, c32, n)
			for i := range c64 {
				if math.Abs(c64[i]-want64[i]) > 1e-12 {
					t.Fatalf("dgemm %v%v element %d: %v, want %v", tA, tB, i, c64[i], want64[i])
				}
				if d := float64(c32[i]) - (want64[i] - 2); math.Abs(d) > 1e-4 {
					t.Fatalf("sgemm %v%v element %d: %v, want %v", tA, tB, i, c32[i], want64[i]-2)
				}
			}
		}
	}
}

func TestGemmRejectsShortSlices(t *testing.T) {
	lib := loadOrSkip(t)
	defer func() {
		if recover() == nil {
			t.Fatal("short C slice did not panic before reaching C")
		}
	}()
	lib.Sgemm(blas.NoTrans, blas.NoTrans, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 15), 4)
}

func TestLoadReportsEveryCandidate(t *testing.T) {
	_, err := load([]string{"/nonexistent/libopenblas.so.0", "libdoesnotexist.so.9"})
	if err == nil {
		t.Fatal("loaded a library that does not exist")
	}
	for _, want := range []string{"/nonexistent/libopenblas.so.0", "libdoesnotexist.so.9"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// A real library without CBLAS symbols is refused.
	if _, err := load([]string{"libc.so.6"}); err == nil || !strings.Contains(err.Error(), "not a CBLAS library") {
		t.Errorf("libc accepted as BLAS: %v", err)
	}
}
