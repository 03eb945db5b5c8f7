// Package blaslt binds cuBLASLt (libcublasLt.so.13, .12 or .11), loaded at
// run time: handle, matmul descriptor and its attributes, matrix layouts,
// preference, heuristic algorithm query, matmul and version. The types
// crossing to C are flopcast's own declarations (lt_shim.h); the layout
// logic for row-major GEMMs in each dtype is in Plan.
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
	"github.com/flopcast/flopcast/kernels"
)

// Spec is how cuBLASLt is looked for, newest first.
var Spec = dl.Spec{Name: "cublasLt", Sonames: []string{"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}, Require: dl.Required(symbols)}

// MinWorkspace is the least workspace flopcast gives cuBLASLt.
const MinWorkspace = 32 << 20

// Descriptor attribute and preference values (cublasLtMatmulDescAttributes_t
// and cublasLtMatmulPreferenceAttributes_t).
const (
	attrTransA         = 3
	attrTransB         = 4
	attrAScalePointer  = 17
	attrBScalePointer  = 18
	prefMaxWorkspace   = 1
	heuristicRequested = 16
)

// The byte sizes of the attribute values set (cublasLt.h documents each
// attribute's type; a size that differs is refused).
const (
	attrSizeOp          = 4 // cublasOperation_t as int32_t
	attrSizePointer     = 8 // const void * (a device address)
	attrSizeWorkspace   = 8 // uint64_t
	attrSizeBatchCount  = 4 // int32_t
	attrSizeBatchStride = 8 // int64_t
)

var symbols = map[string][]string{
	"create": {"cublasLtCreate"}, "destroy": {"cublasLtDestroy"}, "version": {"cublasLtGetVersion"},
	"descCreate": {"cublasLtMatmulDescCreate"}, "descSet": {"cublasLtMatmulDescSetAttribute"}, "descDestroy": {"cublasLtMatmulDescDestroy"},
	"layoutCreate": {"cublasLtMatrixLayoutCreate"}, "layoutDestroy": {"cublasLtMatrixLayoutDestroy"},
	"prefCreate": {"cublasLtMatmulPreferenceCreate"}, "prefSet": {"cublasLtMatmulPreferenceSetAttribute"},
	"prefDestroy": {"cublasLtMatmulPreferenceDestroy"},
	"heuristic":   {"cublasLtMatmulAlgoGetHeuristic"}, "matmul": {"cublasLtMatmul"},
}

// Library describes the loaded cuBLASLt.
type Library struct {
	Path, Soname, Source string
	// Version is cublasLtGetVersion's number, e.g. 120402 for 12.4.2.
	Version int
}

// VersionString formats Version as "12.4.2". cuBLAS 11.9 (CUDA 11.6) and
// later encode major·10000 + minor·100 + patch; earlier 11.x releases
// encoded major·1000 + minor·100 + patch (11605 for 11.6.5), which is
// below 100000.
func (l Library) VersionString() string {
	if l.Version > 0 && l.Version < 100000 {
		return fmt.Sprintf("%d.%d.%d", l.Version/1000, l.Version%1000/100, l.Version%100)
	}
	return fmt.Sprintf("%d.%d.%d", l.Version/10000, l.Version/100%100, l.Version%100)
}

var (
	loadOnce sync.Once
	loaded   Library
	fn       map[string]unsafe.Pointer
	statusFn unsafe.Pointer
	loadErr  error
)

// Load opens cuBLASLt once per process.
func Load() (Library, error) {
	loadOnce.Do(func() {
		lib, cand, f, err := dl.LoadBound(Spec, symbols)
		if err != nil {
			loadErr = err
			return
		}
		statusFn, _, _ = lib.SymFirst("cublasLtGetStatusString")
		fn = f
		loaded = Library{Path: lib.Path, Soname: cand.Path, Source: cand.Source, Version: int(C.flop_lt_version(f["version"]))}
	})
	return loaded, loadErr
}

func check(op string, rc C.ltStatus) error {
	if rc == 0 {
		return nil
	}
	msg := ""
	if statusFn != nil {
		if s := C.flop_lt_str(statusFn, rc); s != nil {
			msg = C.GoString(s)
		}
	}
	return cuda.NewError(cuda.LibBLASLt, op, int(rc), msg)
}

// Handle is a cuBLASLt handle.
type Handle struct{ h unsafe.Pointer }

// NewHandle creates a handle; call it with the device's context current.
func NewHandle() (*Handle, error) {
	if fn == nil {
		if loadErr != nil {
			return nil, loadErr
		}
		return nil, errors.New("cublasLt is not loaded")
	}
	var h unsafe.Pointer
	if err := check("cublasLtCreate", C.flop_lt_create(fn["create"], &h)); err != nil {
		return nil, err
	}
	return &Handle{h}, nil
}

// Destroy destroys the handle.
func (h *Handle) Destroy() error {
	if h == nil || h.h == nil {
		return nil
	}
	err := check("cublasLtDestroy", C.flop_lt_destroy(fn["destroy"], h.h))
	h.h = nil
	return err
}

// Algo is one algorithm the heuristic proposed.
type Algo struct {
	// Rank is its place in the heuristic's list, from 0.
	Rank int
	// ID is the algorithm's first opaque word (its algorithm id in
	// current cuBLASLt releases), for the record.
	ID uint64
	// Workspace is the workspace it needs; Waves its wave count.
	Workspace int64
	Waves     float32
	raw       C.flop_lt_algo
}

// Matmul is one GEMM plan made concrete: descriptor, layouts, preference
// and the algorithms the heuristic proposed.
type Matmul struct {
	Plan  Plan
	Algos []Algo

	h              *Handle
	desc, pref     unsafe.Pointer
	la, lb, lc, ld unsafe.Pointer
	scalars        unsafe.Pointer // alpha then beta, in C memory
	alpha, beta    unsafe.Pointer
	workspace      driver.Ptr
	workspaceBytes int64
}

// NewMatmul builds the descriptors for plan p and asks the heuristic for
// up to maxAlgos algorithms that fit workspaceBytes. For fp8, aScale and
// bScale are device pointers to the per-tensor float32 scales of our A and
// B (cuBLASLt's B and A). Call it with the context current.
func (h *Handle) NewMatmul(p Plan, workspace driver.Ptr, workspaceBytes int64, aScale, bScale driver.Ptr, maxAlgos int) (*Matmul, error) {
	m := &Matmul{Plan: p, h: h, workspace: workspace, workspaceBytes: workspaceBytes}
	if err := m.build(aScale, bScale, maxAlgos); err != nil {
		m.Destroy()
		return nil, err
	}
	return m, nil
}

func (m *Matmul) build(aScale, bScale driver.Ptr, maxAlgos int) error {
	p := m.Plan
	if err := newDesc(&m.desc, p.Compute, p.Scale); err != nil {
		return err
	}
	setInt := func(attr int, v int32) error {
		return check(fmt.Sprintf("cublasLtMatmulDescSetAttribute(%d)", attr),
			C.flop_lt_set_attr(fn["descSet"], m.desc, C.int(attr), unsafe.Pointer(&v), attrSizeOp))
	}
	setPtr := func(attr int, v driver.Ptr) error {
		x := uint64(v)
		return check(fmt.Sprintf("cublasLtMatmulDescSetAttribute(%d)", attr),
			C.flop_lt_set_attr(fn["descSet"], m.desc, C.int(attr), unsafe.Pointer(&x), attrSizePointer))
	}
	if err := setInt(attrTransA, int32(p.TransA)); err != nil {
		return err
	}
	if err := setInt(attrTransB, int32(p.TransB)); err != nil {
		return err
	}
	if p.DType == kernels.FP8E4M3 {
		// cuBLASLt's A is our B.
		if err := setPtr(attrAScalePointer, bScale); err != nil {
			return err
		}
		if err := setPtr(attrBScalePointer, aScale); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		dst *unsafe.Pointer
		l   Layout
	}{{&m.la, p.LtA}, {&m.lb, p.LtB}, {&m.lc, p.LtC}, {&m.ld, p.LtD}} {
		if err := newLayout(l.dst, l.l); err != nil {
			return err
		}
	}
	if err := newPreference(&m.pref, m.workspaceBytes); err != nil {
		return err
	}
	// alpha = 1, beta = 0 in the scale type, in C memory.
	m.scalars = C.calloc(2, 8)
	m.alpha, m.beta = m.scalars, unsafe.Add(m.scalars, 8)
	if p.Scale == R64F {
		*(*float64)(m.alpha) = 1
	} else {
		*(*float32)(m.alpha) = 1
	}

	n := min(max(maxAlgos, 1), heuristicRequested)
	res := (*C.flop_lt_heuristic)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.flop_lt_heuristic{}))))
	defer C.free(unsafe.Pointer(res))
	var got C.int
	if err := check("cublasLtMatmulAlgoGetHeuristic", C.flop_lt_get_heuristic(fn["heuristic"], m.h.h, m.desc, m.la, m.lb, m.lc, m.ld, m.pref,
		C.int(n), res, &got)); err != nil {
		return err
	}
	for i, r := range unsafe.Slice(res, int(got)) {
		if r.state != 0 {
			continue
		}
		m.Algos = append(m.Algos, Algo{Rank: i, ID: uint64(r.algo.data[0]), Workspace: int64(r.workspaceSize), Waves: float32(r.wavesCount), raw: r.algo})
	}
	if len(m.Algos) == 0 {
		return fmt.Errorf("cublasLt found no algorithm for %s %s: %w", p.DType, p.Shape, cuda.ErrNotSupported)
	}
	return nil
}

// Run enqueues C = A·B on stream with algorithm i of Algos. a, b and c are
// our row-major operands (b column-major for fp8).
func (m *Matmul) Run(i int, a, b, c driver.Ptr, stream driver.Stream) error {
	algo := m.Algos[i].raw
	return check("cublasLtMatmul", C.flop_lt_matmul(fn["matmul"], m.h.h, m.desc, m.alpha,
		C.uint64_t(b), m.la, C.uint64_t(a), m.lb, m.beta,
		C.uint64_t(m.inputC(c)), m.lc, C.uint64_t(c), m.ld,
		&algo, C.uint64_t(m.workspace), C.size_t(m.workspaceBytes), stream.Handle()))
}

// RunTimed is Run between two event records, all enqueued in one C call.
func (m *Matmul) RunTimed(i int, a, b, c driver.Ptr, stream driver.Stream, start, stop driver.Event) error {
	algo := m.Algos[i].raw
	var which C.int
	rc := C.flop_lt_matmul_timed(driver.Func("eventRecord"), start.Handle(), stop.Handle(), &which,
		fn["matmul"], m.h.h, m.desc, m.alpha,
		C.uint64_t(b), m.la, C.uint64_t(a), m.lb, m.beta,
		C.uint64_t(m.inputC(c)), m.lc, C.uint64_t(c), m.ld,
		&algo, C.uint64_t(m.workspace), C.size_t(m.workspaceBytes), stream.Handle())
	if rc == 0 {
		return nil
	}
	if which == 1 {
		return check("cublasLtMatmul", C.ltStatus(rc))
	}
	return cuda.NewError(cuda.LibDriver, "cuEventRecord", int(rc), "")
}

// inputC is the C operand handed to cuBLASLt for output c. beta is 0, so C
// is never read; fp8 matmuls get NULL, as PyTorch's scaled_gemm passes.
// On an H200 with cuBLASLt 13.1, fp8 with C == D and the two scales 4
// bytes apart was refused (CUBLAS_STATUS_NOT_SUPPORTED) for every
// algorithm; with C = NULL and each scale in its own 128-byte slot it
// runs. Which of the two changes it needed was not isolated.
func (m *Matmul) inputC(c driver.Ptr) driver.Ptr {
	if m.Plan.DType == kernels.FP8E4M3 {
		return 0
	}
	return c
}

// Destroy frees the descriptors.
func (m *Matmul) Destroy() { release(&m.desc, &m.pref, &m.scalars, &m.la, &m.lb, &m.lc, &m.ld) }

// newPreference creates the heuristic preference of a planned matmul in
// *pref, allowing it workspaceBytes of workspace.
func newPreference(pref *unsafe.Pointer, workspaceBytes int64) error {
	// The handle comes back in a local variable: cgo refuses the address
	// of a field of a Go struct that holds Go pointers (a *Handle here).
	var h unsafe.Pointer
	if err := check("cublasLtMatmulPreferenceCreate", C.flop_lt_pref_create(fn["prefCreate"], &h)); err != nil {
		return err
	}
	*pref = h
	ws := uint64(workspaceBytes)
	return check("cublasLtMatmulPreferenceSetAttribute", C.flop_lt_set_attr(fn["prefSet"], h, prefMaxWorkspace, unsafe.Pointer(&ws), attrSizeWorkspace))
}

// newDesc creates a matmul descriptor into *desc (through a local variable,
// as newPreference does).
func newDesc(desc *unsafe.Pointer, compute ComputeType, scale DataType) error {
	var h unsafe.Pointer
	if err := check("cublasLtMatmulDescCreate", C.flop_lt_desc_create(fn["descCreate"], &h, C.int(compute), C.int(scale))); err != nil {
		return err
	}
	*desc = h
	return nil
}

// newLayout creates a matrix layout for l into *dst (through a local
// variable, as newPreference does).
func newLayout(dst *unsafe.Pointer, l Layout) error {
	var h unsafe.Pointer
	if err := check("cublasLtMatrixLayoutCreate", C.flop_lt_layout_create(fn["layoutCreate"], &h, C.int(l.Type),
		C.uint64_t(l.Rows), C.uint64_t(l.Cols), C.int64_t(l.LD))); err != nil {
		return err
	}
	*dst = h
	return nil
}

// release destroys a planned matmul's descriptor, preference, scalars and
// layouts, those that exist, and clears each pointer.
func release(desc, pref, scalars *unsafe.Pointer, layouts ...*unsafe.Pointer) {
	for _, l := range layouts {
		if *l != nil {
			C.flop_lt_destroy(fn["layoutDestroy"], *l)
			*l = nil
		}
	}
	if *desc != nil {
		C.flop_lt_destroy(fn["descDestroy"], *desc)
		*desc = nil
	}
	if *pref != nil {
		C.flop_lt_destroy(fn["prefDestroy"], *pref)
		*pref = nil
	}
	if *scalars != nil {
		C.free(*scalars)
		*scalars = nil
	}
}
