package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/backend/gpu"
)

// requireNoDriver skips tests of the no-driver behaviour on a GPU machine.
// requireNoDriver skips unless libcuda.so.1 is absent: with the library
// present (a GPU, or a driver package without a GPU) the messages differ.
func requireNoDriver(t *testing.T) {
	t.Helper()
	if n, err := gpu.Available(); err == nil && n > 0 {
		t.Skipf("this machine has %d GPU(s); the no-driver behaviour is not testable here", n)
	}
	for _, l := range gpu.ProbeSystem().Libraries {
		if l.Name == "cuda driver" && l.Loaded {
			t.Skipf("libcuda.so.1 is installed (%s); the no-driver behaviour is not testable here", l.Path)
		}
	}
}

func TestDevicesReportsNoDriver(t *testing.T) {
	requireNoDriver(t)
	dir := t.TempDir()
	o := flopcast(t, dir, "devices")
	if o.code != 0 || o.stderr != "" {
		t.Fatalf("exit %d, stderr %q", o.code, o.stderr)
	}
	for _, want := range []string{
		"gpus\n  status:      no NVIDIA driver (libcuda.so.1 not found)",
		"cuda driver: not loaded: libcuda.so.1 not found",
		"tried libcuda.so.1 (loader): ",
		"cublasLt:    not loaded: libcublasLt.so.13 not found",
		"tried libcublasLt.so.11 (loader)",
		"nvrtc:       not loaded",
		"nvml:        not loaded",
	} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("devices output lacks %q:\n%s", want, o.stdout)
		}
	}
	j := flopcast(t, dir, "devices", "--format", "json")
	var v struct {
		GPUs gpu.Probe `json:"gpus"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &v); err != nil || j.code != 0 {
		t.Fatalf("devices --format json: %v (exit %d)", err, j.code)
	}
	if v.GPUs.Status != "no NVIDIA driver (libcuda.so.1 not found)" || len(v.GPUs.Libraries) != 4 || len(v.GPUs.Devices) != 0 {
		t.Errorf("json gpus = %+v", v.GPUs)
	}
	if l := v.GPUs.Libraries[0]; l.Loaded || len(l.Tried) < 2 {
		t.Errorf("driver status %+v lacks the paths tried", l)
	}
}

func TestRunCUDAWithoutDriverExits2(t *testing.T) {
	requireNoDriver(t)
	for _, dev := range []string{"cuda", "cuda:0", "cuda:1"} {
		dir := t.TempDir()
		o := flopcast(t, dir, "run", "--device", dev, "--sizes", "8")
		want := "flopcast: --device: " + dev + ": no NVIDIA driver (libcuda.so.1 not found); use --device cpu to measure the CPU\n"
		if o.code != 2 || o.stderr != want || o.stdout != "" {
			t.Errorf("run --device %s: exit %d, stderr %q, want exit 2 and %q", dev, o.code, o.stderr, want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("left files behind: %v", entries)
		}
	}
}

func TestRunAutoFallsBackToCPUWithOneNotice(t *testing.T) {
	requireNoDriver(t)
	dir := t.TempDir()
	args := append([]string{"run", "--sizes", "16", "--dtype", "fp32", "--out", dir + "/r.json", "--format", "csv"}, fast...)
	o := flopcast(t, dir, args...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	n := strings.Count(o.stderr, "running on CPU")
	if n != 1 || !strings.Contains(o.stderr, "no NVIDIA driver (libcuda.so.1 not found); running on CPU\n") {
		t.Errorf("stderr has %d fallback notices, want exactly one: %q", n, o.stderr)
	}
	if !strings.Contains(o.stdout, "cpu") {
		t.Errorf("the run did not measure the CPU: %q", o.stdout)
	}
}
