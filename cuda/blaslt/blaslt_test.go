package blaslt

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/cuda/internal/dl"
	"github.com/flopcast/flopcast/kernels"
)

func TestABI(t *testing.T) {
	got := []int{abiAlgoSize, abiHeuristicSize, abiHeuristicWorkspaceAt, abiHeuristicStateAt, abiHeuristicWavesAt, abiHeuristicReservedAt}
	want := []int{64, 96, 64, 72, 76, 80}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("ABI field %d: %d, want %d (sizes, then offsets: %v)", i, got[i], want[i], want)
		}
	}
}

func TestTypesFor(t *testing.T) {
	cases := []struct {
		d    kernels.DType
		want Types
		out  kernels.DType
		cc   int
	}{
		{kernels.FP32, Types{0, 0, 0, 0, 68, 0}, kernels.FP32, 0},
		{kernels.TF32, Types{0, 0, 0, 0, 77, 0}, kernels.FP32, 80},
		{kernels.FP16, Types{2, 2, 2, 2, 68, 0}, kernels.FP16, 70},
		{kernels.BF16, Types{14, 14, 14, 14, 68, 0}, kernels.BF16, 80},
		{kernels.FP8E4M3, Types{28, 28, 14, 14, 68, 0}, kernels.BF16, 89},
		{kernels.FP64, Types{1, 1, 1, 1, 70, 1}, kernels.FP64, 0},
	}
	for _, c := range cases {
		got, err := TypesFor(c.d)
		if err != nil || got != c.want {
			t.Errorf("TypesFor(%s) = %+v, %v; want %+v", c.d, got, err, c.want)
		}
		if o := OutputDType(c.d); o != c.out {
			t.Errorf("OutputDType(%s) = %s, want %s", c.d, o, c.out)
		}
		if cc := MinComputeCapability(c.d); cc != c.cc {
			t.Errorf("MinComputeCapability(%s) = %d, want %d", c.d, cc, c.cc)
		}
	}
	if _, err := TypesFor(kernels.DType(99)); err == nil {
		t.Error("unknown dtype accepted")
	}
}

func TestPlanLayouts(t *testing.T) {
	s := kernels.GEMMShape{M: 64, N: 48, K: 32}
	for _, d := range []kernels.DType{kernels.FP32, kernels.TF32, kernels.FP16, kernels.BF16, kernels.FP64} {
		p, err := NewPlan(s, d)
		if err != nil {
			t.Fatal(err)
		}
		ty, _ := TypesFor(d)
		// Cᵀ (n×m) = Bᵀ (n×k) · Aᵀ (k×m), every operand as stored, NN.
		if p.TransA != OpN || p.TransB != OpN || p.BColMajor {
			t.Errorf("%s: ops %d %d colmajor %v, want NN row-major", d, p.TransA, p.TransB, p.BColMajor)
		}
		want := [4]Layout{{ty.A, 48, 32, 48}, {ty.B, 32, 64, 32}, {ty.C, 48, 64, 48}, {ty.D, 48, 64, 48}}
		if got := [4]Layout{p.LtA, p.LtB, p.LtC, p.LtD}; got != want {
			t.Errorf("%s layouts %+v, want %+v", d, got, want)
		}
		a, b, c := p.Bytes()
		sz := int64(d.Size())
		if a != 64*32*sz || b != 32*48*sz || c != 64*48*sz {
			t.Errorf("%s bytes %d %d %d", d, a, b, c)
		}
		// Each layout addresses exactly its operand's elements.
		if p.LtA.elements() != 32*48 || p.LtB.elements() != 64*32 || p.LtD.elements() != 64*48 {
			t.Errorf("%s: layouts do not cover the operands", d)
		}
	}
}

func TestPlanFP8IsTN(t *testing.T) {
	s := kernels.GEMMShape{M: 64, N: 48, K: 32}
	p, err := NewPlan(s, kernels.FP8E4M3)
	if err != nil {
		t.Fatal(err)
	}
	// cuBLASLt's A (our B, stored column-major: k contiguous) transposed,
	// its B (our A, row-major: k contiguous) not.
	if p.TransA != OpT || p.TransB != OpN || !p.BColMajor {
		t.Errorf("fp8 ops %d %d colmajor %v, want TN with B column-major", p.TransA, p.TransB, p.BColMajor)
	}
	want := [4]Layout{{R8FE4M3, 32, 48, 32}, {R8FE4M3, 32, 64, 32}, {R16BF, 48, 64, 48}, {R16BF, 48, 64, 48}}
	if got := [4]Layout{p.LtA, p.LtB, p.LtC, p.LtD}; got != want {
		t.Errorf("fp8 layouts %+v, want %+v", got, want)
	}
	a, b, c := p.Bytes()
	if a != 64*32 || b != 32*48 || c != 64*48*2 {
		t.Errorf("fp8 bytes %d %d %d (C is bf16)", a, b, c)
	}
	for _, bad := range []kernels.GEMMShape{{M: 64, N: 48, K: 24}, {M: 64, N: 40, K: 32}} {
		if _, err := NewPlan(bad, kernels.FP8E4M3); err == nil || !strings.Contains(err.Error(), "multiples of 16") {
			t.Errorf("fp8 %s: %v, want a multiple-of-16 error", bad, err)
		}
	}
	// M need not be aligned.
	if _, err := NewPlan(kernels.GEMMShape{M: 7, N: 16, K: 16}, kernels.FP8E4M3); err != nil {
		t.Errorf("fp8 7x16x16: %v", err)
	}
	if _, err := NewPlan(kernels.GEMMShape{M: 0, N: 16, K: 16}, kernels.BF16); err == nil {
		t.Error("empty shape accepted")
	}
}

func TestVersionString(t *testing.T) {
	if got := (Library{Version: 120402}).VersionString(); got != "12.4.2" {
		t.Errorf("VersionString = %q", got)
	}
	if got := (Library{Version: 130001}).VersionString(); got != "13.0.1" {
		t.Errorf("VersionString = %q", got)
	}
	// cuBLAS 11.11.3 (CUDA 11.8) uses the ·10000 encoding; 11.6.5 (CUDA
	// 11.4) the older ·1000 one (cublas_api.h of each release).
	for v, want := range map[int]string{111103: "11.11.3", 11605: "11.6.5"} {
		if got := (Library{Version: v}).VersionString(); got != want {
			t.Errorf("VersionString(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestLoadWithoutLibrary(t *testing.T) {
	_, err := Load()
	if err == nil {
		t.Skip("cuBLASLt is installed here")
	}
	if !errors.Is(err, dl.ErrNotFound) || !strings.Contains(err.Error(), "libcublasLt.so.11 (loader)") {
		t.Errorf("Load error does not list the sonames tried: %v", err)
	}
	if _, err := NewHandle(); err == nil {
		t.Error("NewHandle succeeded without the library")
	}
}
