package driver

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// requireCUDA skips the test unless a driver and a GPU are present.
func requireCUDA(t *testing.T) {
	t.Helper()
	if _, err := Load(); err != nil {
		t.Skipf("needs an NVIDIA GPU and driver: %v", err)
	}
	if n, err := DeviceCount(); err != nil || n == 0 {
		t.Skipf("needs an NVIDIA GPU: %d devices, %v", n, err)
	}
}

func TestLoadWithoutDriver(t *testing.T) {
	_, err := Load()
	if err == nil {
		t.Skip("a CUDA driver is installed here")
	}
	if errors.Is(err, dl.ErrNotFound) && !strings.Contains(err.Error(), "libcuda.so.1 not found; tried: libcuda.so.1 (loader)") {
		t.Errorf("error does not list the loader attempt: %v", err)
	}
	if _, err2 := DeviceCount(); err2 == nil {
		t.Error("DeviceCount succeeded without a driver")
	}
}

func TestFormatting(t *testing.T) {
	u := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	if got, want := FormatUUID(u), "GPU-12345678-9abc-def0-0123-456789abcdef"; got != want {
		t.Errorf("FormatUUID = %q, want %q", got, want)
	}
	for v, want := range map[int]string{12040: "12.4", 13000: "13.0", 11080: "11.8"} {
		if got := FormatVersion(v); got != want {
			t.Errorf("FormatVersion(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestKernelArgs(t *testing.T) {
	got, err := KernelArgs(Ptr(0x1122334455667788), uint32(7), float32(1), int64(-1))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		7, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0x80, 0x3f, 0, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("KernelArgs = % x\nwant % x", got, want)
	}
	if _, err := KernelArgs("x"); err == nil {
		t.Error("a string argument was accepted")
	}
}

func TestDeviceRoundTrip(t *testing.T) {
	requireCUDA(t)
	d, err := GetDevice(0)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := d.Name()
	major, _, err := d.ComputeCapability()
	if err != nil || name == "" || major < 3 {
		t.Fatalf("device 0: %q cc %d: %v", name, major, err)
	}
	ctx, err := d.RetainPrimaryContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	err = ctx.Do(func() error {
		p, err := Alloc(1 << 20)
		if err != nil {
			return err
		}
		defer Free(p)
		in := make([]byte, 1<<20)
		for i := range in {
			in[i] = byte(i * 7)
		}
		if err := CopyToDevice(p, in); err != nil {
			return err
		}
		out := make([]byte, len(in))
		if err := CopyToHost(out, p); err != nil {
			return err
		}
		if !bytes.Equal(in, out) {
			t.Error("device round trip changed the bytes")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
