package nvrtc

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/cuda/internal/dl"
)

func TestArchOptions(t *testing.T) {
	got := strings.Join(ArchOptions(9, 0), " ")
	if want := "--gpu-architecture=sm_90 --gpu-architecture=compute_90"; got != want {
		t.Errorf("ArchOptions(9, 0) = %q, want %q", got, want)
	}
	if got := ArchOptions(8, 9)[0]; got != "--gpu-architecture=sm_89" {
		t.Errorf("ArchOptions(8, 9)[0] = %q", got)
	}
}

func TestArchOptionsForOlderNVRTC(t *testing.T) {
	cases := []struct {
		cc        int
		supported []int
		want      string
	}{
		{90, nil, "--gpu-architecture=sm_90 --gpu-architecture=compute_90"},
		{90, []int{75, 80, 86, 89, 90}, "--gpu-architecture=sm_90 --gpu-architecture=compute_90"},
		// A GPU newer than NVRTC: PTX for the newest architecture it
		// knows, which the driver compiles on load.
		{100, []int{75, 80, 86, 89, 90}, "--gpu-architecture=compute_90"},
		{89, []int{75, 80, 86}, "--gpu-architecture=compute_86"},
		{50, []int{75, 80}, "--gpu-architecture=compute_50"},
	}
	for _, c := range cases {
		if got := strings.Join(archOptions(c.cc, c.supported), " "); got != c.want {
			t.Errorf("archOptions(%d, %v) = %q, want %q", c.cc, c.supported, got, c.want)
		}
	}
}

func TestCompile(t *testing.T) {
	if _, err := Load(); err != nil {
		if !errors.Is(err, dl.ErrNotFound) || !strings.Contains(err.Error(), "libnvrtc.so.11.2 (loader)") {
			t.Errorf("Load error does not list the sonames tried: %v", err)
		}
		if _, err := Compile("x", "x.cu", 9, 0); err == nil {
			t.Error("Compile succeeded without NVRTC")
		}
		t.Skipf("needs NVRTC: %v", err)
	}
	out, err := Compile(`extern "C" __global__ void k(float *x) { x[threadIdx.x] = 1.0f; }`, "k.cu", 8, 0)
	if err != nil || len(out.Image) == 0 {
		t.Fatalf("Compile: %v", err)
	}
	_, err = Compile(`extern "C" __global__ void k(float *x) { x[threadIdx.x] = undeclared; }`, "bad.cu", 8, 0)
	var ce *CompileError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "undeclared") {
		t.Errorf("a source error gave %v, want a *CompileError with the log", err)
	}
}
