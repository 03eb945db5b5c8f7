package hw

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/cuda"
)

// withGPU replaces the GPU entry points for one test.
func withGPU(t *testing.T, avail func() (int, error), open func(int) (backend.Backend, error)) {
	t.Helper()
	oa, oo := gpuAvailable, openGPU
	gpuAvailable, openGPU = avail, open
	t.Cleanup(func() { gpuAvailable, openGPU = oa, oo })
}

var notFound = fmt.Errorf("libcuda.so.1 not found; tried: ...: %w", cuda.ErrLibraryNotFound)

func TestOpen(t *testing.T) {
	withGPU(t, func() (int, error) { return 0, notFound }, nil)
	for _, dev := range []string{"auto", "cpu", "CPU", ""} {
		b, _, err := Open(dev, 1)
		if err != nil || b.Device().ID != "cpu" {
			t.Errorf("Open(%q): %v", dev, err)
		}
	}
	_, _, err := Open("tpu", 1)
	var ue *UnsupportedDeviceError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown device "tpu"`) {
		t.Errorf("Open(tpu) = %v", err)
	}
}

func TestAutoFallsBackWithOneNotice(t *testing.T) {
	cases := []struct {
		avail func() (int, error)
		open  func(int) (backend.Backend, error)
		want  string
	}{
		{func() (int, error) { return 0, notFound }, nil, "no NVIDIA driver (libcuda.so.1 not found); running on CPU"},
		{func() (int, error) { return 0, nil }, nil, "no NVIDIA GPU (the driver found none); running on CPU"},
		{func() (int, error) { return 1, nil }, func(int) (backend.Backend, error) { return nil, errors.New("cuBLASLt: not found") },
			"GPU cuda:0 could not be opened (cuBLASLt: not found); running on CPU"},
	}
	for _, c := range cases {
		withGPU(t, c.avail, c.open)
		b, notices, err := Open("auto", 1)
		if err != nil || b.Device().ID != "cpu" {
			t.Fatalf("Open(auto) = %v, %v", b, err)
		}
		var gpuNotes []string
		for _, n := range notices {
			if strings.Contains(n, "running on CPU") {
				gpuNotes = append(gpuNotes, n)
			}
		}
		if len(gpuNotes) != 1 || gpuNotes[0] != c.want {
			t.Errorf("notices %q, want exactly one %q", notices, c.want)
		}
	}
}

func TestAutoPicksTheGPU(t *testing.T) {
	var asked []int
	withGPU(t, func() (int, error) { return 2, nil }, func(o int) (backend.Backend, error) {
		asked = append(asked, o)
		return &fake.Backend{}, nil
	})
	for dev, want := range map[string]int{"auto": 0, "cuda": 0, "cuda:1": 1, "GPU": 0} {
		asked = nil
		b, notices, err := Open(dev, 1)
		if err != nil || b.Device().ID != "fake" || len(notices) != 0 || len(asked) != 1 || asked[0] != want {
			t.Errorf("Open(%q) = %v, %v, %v; opened %v", dev, b, notices, err, asked)
		}
	}
}

func TestCUDAWithoutDriverIsAnError(t *testing.T) {
	withGPU(t, func() (int, error) { return 0, notFound }, nil)
	for _, dev := range []string{"cuda", "cuda:0", "cuda:3", "gpu"} {
		b, _, err := Open(dev, 1)
		var ng *NoGPUError
		if b != nil || !errors.As(err, &ng) {
			t.Fatalf("Open(%q) = %v, %v; want *NoGPUError", dev, b, err)
		}
		want := dev + ": no NVIDIA driver (libcuda.so.1 not found); use --device cpu to measure the CPU"
		if err.Error() != want || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%q) error %q, want %q", dev, err, want)
		}
	}
	for _, dev := range []string{"cuda:x", "cuda:-1"} {
		if _, _, err := Open(dev, 1); err == nil || !strings.Contains(err.Error(), "ordinal") {
			t.Errorf("Open(%q) = %v", dev, err)
		}
	}
}

func TestOpenAll(t *testing.T) {
	withGPU(t, func() (int, error) { return 0, notFound }, nil)
	_, err := OpenAll("all")
	var ng *NoGPUError
	if !errors.As(err, &ng) || err.Error() != "all: no NVIDIA driver (libcuda.so.1 not found); use --device cpu to measure the CPU" {
		t.Errorf("OpenAll without a driver = %v", err)
	}
	withGPU(t, func() (int, error) { return 0, nil }, nil)
	if _, err := OpenAll("all"); !errors.As(err, &ng) || !strings.Contains(err.Error(), "no NVIDIA GPU") {
		t.Errorf("OpenAll without a GPU = %v", err)
	}
	var opened []int
	withGPU(t, func() (int, error) { return 3, nil }, func(i int) (backend.Backend, error) {
		opened = append(opened, i)
		return &fake.Backend{}, nil
	})
	ops, err := OpenAll("all")
	if err != nil || len(ops) != 3 || ops[2].ID != "cuda:2" || len(opened) != 0 {
		t.Fatalf("OpenAll = %v, %v (opened %v before asked)", ops, err, opened)
	}
	for _, op := range ops {
		if _, err := op.Open(); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(opened) != "[0 1 2]" {
		t.Errorf("opened %v, want [0 1 2]", opened)
	}
	if _, _, err := Open("all", 1); err == nil {
		t.Error(`Open("all") opened one device; "all" is OpenAll's`)
	}
}
