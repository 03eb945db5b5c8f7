package cpu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func TestCPUBackendMeasuresVerifiedGEMMs(t *testing.T) {
	b := New(1)
	dev := b.Device()
	if dev.ID != "cpu" || dev.Library == nil || dev.Cores < 1 {
		t.Fatalf("device %+v", dev)
	}
	if dev.Library.Name == "openblas" && (dev.Library.Path == "" || dev.Library.Threads != 1) {
		t.Errorf("openblas library %+v", dev.Library)
	}
	if dev.Library.Name == "gonum" && !strings.Contains(b.BLAS().Notice(), "OpenBLAS not loaded") {
		t.Errorf("gonum fallback without a notice: %+v", b.BLAS())
	}
	cfg := bench.Config{
		Problems:   []bench.Problem{{Label: "square", Shape: kernels.Square(48)}, {Label: "tall", Shape: kernels.GEMMShape{M: 1100, N: 24, K: 40}}},
		DTypes:     []kernels.DType{kernels.FP32, kernels.FP64, kernels.BF16},
		MinRepeats: 3, MaxTime: time.Second, Seed: 1,
	}
	ms, err := bench.Run(context.Background(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch m.DType {
		case "bf16":
			if m.Status != result.StatusSkipped {
				t.Errorf("bf16 on the CPU: %+v", m)
			}
		default:
			if m.Status != result.StatusOK || !m.Verified || m.FLOPPerSecond <= 0 || m.StateBefore == nil {
				t.Errorf("%s %s: %+v", m.DType, m.Shape, m)
			}
		}
	}
	if ms[1].VerifyMode != "sampled+freivalds" || ms[0].VerifyMode != "full" {
		t.Errorf("verify modes %q %q", ms[0].VerifyMode, ms[1].VerifyMode)
	}
}
