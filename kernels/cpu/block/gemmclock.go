package block

import (
	"slices"
	"sync/atomic"
	"time"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/tensor"
)

// gemmClock is the BLAS a step runs on while it is timed: the one in use
// (OpenBLAS or gonum) with the time of every matrix product added to one
// of two totals, attention or the rest, told apart by shape. The graph's
// attention runs one product per (sequence, kv head) with the m, n and k
// of {group·seq, seq, headDim} in some order (scores, context and their
// gradients); the projections and the MLP multiply tokens × hidden-sized
// matrices. The two can only be confused by a configuration where those
// dimension sets coincide (batch 1, hidden = seq, one kv head's width =
// headDim), which no preset has.
type gemmClock struct {
	tensor.BLAS
	attention  [3]int // sorted {group·seq, seq, headDim}
	gemm, attn atomic.Int64
	// gemmCalls and attnCalls count the products of each kind.
	gemmCalls, attnCalls atomic.Int64
}

func newGEMMClock(inner tensor.BLAS, groupSeq, seq, headDim int) *gemmClock {
	c := &gemmClock{BLAS: inner, attention: [3]int{groupSeq, seq, headDim}}
	slices.Sort(c.attention[:])
	return c
}

func (c *gemmClock) add(m, n, k int, d time.Duration) {
	s := [3]int{m, n, k}
	slices.Sort(s[:])
	if s == c.attention {
		c.attn.Add(int64(d))
		c.attnCalls.Add(1)
	} else {
		c.gemm.Add(int64(d))
		c.gemmCalls.Add(1)
	}
}

// Sgemm times the wrapped Sgemm.
func (c *gemmClock) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	start := time.Now()
	c.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
	c.add(m, n, k, time.Since(start))
}

// Dgemm times the wrapped Dgemm.
func (c *gemmClock) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, cm []float64, ldc int) {
	start := time.Now()
	c.BLAS.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
	c.add(m, n, k, time.Since(start))
}

// seconds returns the two totals.
func (c *gemmClock) seconds() (gemm, attention float64) {
	return time.Duration(c.gemm.Load()).Seconds(), time.Duration(c.attn.Load()).Seconds()
}
