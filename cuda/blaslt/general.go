package blaslt

/*
#include <stdlib.h>
#include "lt_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// Matrix layout attributes (cublasLtMatrixLayoutAttribute_t).
const (
	layoutBatchCount  = 5 // int32
	layoutBatchStride = 6 // int64, in elements
)

// GeneralSpec is one row-major product D = op(A)·op(B) + Beta·C, possibly
// a strided batch of them: op(A) is M×K, op(B) K×N, C and D M×N. A is
// stored M×K, or K×M when TransA; B K×N, or N×K when TransB; each operand
// densely (leading dimension its row width), matrix i of a batch Stride
// elements after matrix i−1. C and D share a layout and a type.
type GeneralSpec struct {
	M, N, K        int
	TransA, TransB bool
	// Batch is the number of products (0 or 1: one).
	Batch                     int
	StrideA, StrideB, StrideC int64
	// AB is the type of A and B, CD that of C and D; the product
	// accumulates in Compute with fp32 scalars.
	AB, CD  DataType
	Compute ComputeType
	// Beta scales C; 0 ignores it.
	Beta float32
}

// Validate reports a spec cuBLASLt cannot be given.
func (s GeneralSpec) Validate() error {
	switch {
	case s.M <= 0 || s.N <= 0 || s.K <= 0:
		return fmt.Errorf("cublasLt GEMM %dx%dx%d: dimensions must be > 0", s.M, s.N, s.K)
	case s.Batch < 0:
		return fmt.Errorf("cublasLt GEMM: batch %d", s.Batch)
	case s.AB.Size() == 0 || s.CD.Size() == 0:
		return fmt.Errorf("cublasLt GEMM: data types %d, %d", s.AB, s.CD)
	}
	if s.Batch > 1 {
		a, b, c := s.Elements()
		if s.StrideA < a || s.StrideB < b || s.StrideC < c {
			return fmt.Errorf("cublasLt GEMM: batch strides %d %d %d overlap matrices of %d %d %d elements",
				s.StrideA, s.StrideB, s.StrideC, a, b, c)
		}
	}
	return nil
}

// Elements returns the elements of one A, B and C.
func (s GeneralSpec) Elements() (a, b, c int64) {
	return int64(s.M) * int64(s.K), int64(s.K) * int64(s.N), int64(s.M) * int64(s.N)
}

// Lt returns cuBLASLt's view of the spec. cuBLASLt is column-major and a
// row-major matrix read column-major is its transpose, so it computes
// Dᵀ = op(B)ᵀ·op(A)ᵀ: its A is our B (with our TransB), its B our A
// (with our TransA), its C and D ours, N×M.
func (s GeneralSpec) Lt() (ltA, ltB, ltC Layout, opA, opB Op) {
	// Our B stored K×N row-major is N×K column-major (ld N); stored N×K
	// (TransB), it is K×N column-major (ld K), transposed by the op.
	if s.TransB {
		ltA, opA = Layout{s.AB, s.K, s.N, s.K}, OpT
	} else {
		ltA, opA = Layout{s.AB, s.N, s.K, s.N}, OpN
	}
	if s.TransA {
		ltB, opB = Layout{s.AB, s.M, s.K, s.M}, OpT
	} else {
		ltB, opB = Layout{s.AB, s.K, s.M, s.K}, OpN
	}
	ltC = Layout{s.CD, s.N, s.M, s.N}
	return
}

var (
	layoutSetOnce sync.Once
	layoutSetFn   unsafe.Pointer
	layoutSetErr  error
)

// layoutSet binds cublasLtMatrixLayoutSetAttribute, which Load does not.
func layoutSet() (unsafe.Pointer, error) {
	layoutSetOnce.Do(func() {
		if _, err := Load(); err != nil {
			layoutSetErr = err
			return
		}
		lib, _, err := dl.Load(Spec) // the library Load opened, opened again
		if err != nil {
			layoutSetErr = err
			return
		}
		layoutSetFn, _, layoutSetErr = lib.SymFirst("cublasLtMatrixLayoutSetAttribute")
	})
	return layoutSetFn, layoutSetErr
}

// General is a GeneralSpec made concrete: descriptors and the
// heuristic's first algorithm.
type General struct {
	Spec GeneralSpec
	// Algo is the algorithm used.
	Algo Algo

	h              *Handle
	desc, pref     unsafe.Pointer
	la, lb, lc     unsafe.Pointer
	scalars        unsafe.Pointer // alpha then beta (fp32), in C memory
	workspace      driver.Ptr
	workspaceBytes int64
}

// NewGeneral builds the descriptors for s and picks the heuristic's best
// algorithm that fits workspaceBytes. Call it with the context current.
func (h *Handle) NewGeneral(s GeneralSpec, workspace driver.Ptr, workspaceBytes int64) (*General, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if h == nil || h.h == nil {
		return nil, errors.New("cublasLt: no handle")
	}
	g := &General{Spec: s, h: h, workspace: workspace, workspaceBytes: workspaceBytes}
	if err := g.build(); err != nil {
		g.Destroy()
		return nil, err
	}
	return g, nil
}

func (g *General) build() error {
	s := g.Spec
	setFn, err := layoutSet()
	if err != nil && s.Batch > 1 {
		return err
	}
	if err := newDesc(&g.desc, s.Compute, R32F); err != nil {
		return err
	}
	ltA, ltB, ltC, opA, opB := s.Lt()
	for _, a := range []struct{ attr, v int32 }{{attrTransA, int32(opA)}, {attrTransB, int32(opB)}} {
		v := a.v
		if err := check(fmt.Sprintf("cublasLtMatmulDescSetAttribute(%d)", a.attr),
			C.flop_lt_set_attr(fn["descSet"], g.desc, C.int(a.attr), unsafe.Pointer(&v), attrSizeOp)); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		dst    *unsafe.Pointer
		l      Layout
		stride int64
	}{{&g.la, ltA, s.StrideB}, {&g.lb, ltB, s.StrideA}, {&g.lc, ltC, s.StrideC}} {
		if err := newLayout(l.dst, l.l); err != nil {
			return err
		}
		if s.Batch > 1 {
			n, st := int32(s.Batch), l.stride
			if err := check("cublasLtMatrixLayoutSetAttribute(batch count)",
				C.flop_lt_set_attr(setFn, *l.dst, layoutBatchCount, unsafe.Pointer(&n), attrSizeBatchCount)); err != nil {
				return err
			}
			if err := check("cublasLtMatrixLayoutSetAttribute(batch stride)",
				C.flop_lt_set_attr(setFn, *l.dst, layoutBatchStride, unsafe.Pointer(&st), attrSizeBatchStride)); err != nil {
				return err
			}
		}
	}
	if err := newPreference(&g.pref, g.workspaceBytes); err != nil {
		return err
	}
	g.scalars = C.calloc(2, 4)
	*(*float32)(g.scalars) = 1
	*(*float32)(unsafe.Add(g.scalars, 4)) = s.Beta

	res := (*C.flop_lt_heuristic)(C.calloc(1, C.size_t(unsafe.Sizeof(C.flop_lt_heuristic{}))))
	defer C.free(unsafe.Pointer(res))
	var got C.int
	// C and D share one layout.
	if err := check("cublasLtMatmulAlgoGetHeuristic", C.flop_lt_get_heuristic(fn["heuristic"], g.h.h, g.desc, g.la, g.lb, g.lc, g.lc, g.pref,
		1, res, &got)); err != nil {
		return err
	}
	if got < 1 || res.state != 0 {
		return fmt.Errorf("cublasLt found no algorithm for %s: %w", s, cuda.ErrNotSupported)
	}
	g.Algo = Algo{Rank: 0, ID: uint64(res.algo.data[0]), Workspace: int64(res.workspaceSize), Waves: float32(res.wavesCount), raw: res.algo}
	return nil
}

// String describes the spec, e.g. "8x16x32 TN batch 4 (14→0)".
func (s GeneralSpec) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%dx%dx%d %s%s batch %d (types %d→%d, beta %g)", s.M, s.N, s.K, t(s.TransA), t(s.TransB), max(s.Batch, 1), s.AB, s.CD, s.Beta)
}

// Run enqueues D = op(A)·op(B) + Beta·C on stream; a, b, c and d are our
// row-major operands (c is ignored when Beta is 0 and may be 0).
func (g *General) Run(a, b, c, d driver.Ptr, stream driver.Stream) error {
	if c == 0 {
		c = d
	}
	algo := g.Algo.raw
	return check("cublasLtMatmul", C.flop_lt_matmul(fn["matmul"], g.h.h, g.desc, g.scalars,
		C.uint64_t(b), g.la, C.uint64_t(a), g.lb, unsafe.Add(g.scalars, 4),
		C.uint64_t(c), g.lc, C.uint64_t(d), g.lc,
		&algo, C.uint64_t(g.workspace), C.size_t(g.workspaceBytes), stream.Handle()))
}

// Destroy frees the descriptors.
func (g *General) Destroy() { release(&g.desc, &g.pref, &g.scalars, &g.la, &g.lb, &g.lc) }
