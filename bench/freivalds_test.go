package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// TestRunCatchesOneWrongRow: a 2048×2048 GEMM whose middle output row is
// wrong passed the sampled check alone; Freivalds' test fails it, and a
// right one passes with the test's verdict recorded.
func TestRunCatchesOneWrongRow(t *testing.T) {
	s := kernels.GEMMShape{M: 2048, N: 2048, K: 16}
	cfg := config(s)
	cfg.Warmup, cfg.MinRepeats = 0, 3

	ms, err := Run(context.Background(), &fake.Backend{Fault: fake.WrongRow}, cfg)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Run: %v, %d measurements", err, len(ms))
	}
	m := ms[0]
	if m.Status != result.StatusFailed || m.Verified || m.FLOPPerSecond != 0 {
		t.Fatalf("a GEMM with one wrong row: status %s, verified %v, %g FLOP/s", m.Status, m.Verified, m.FLOPPerSecond)
	}
	if note := strings.Join(m.Notes, "; "); !strings.Contains(note, "Freivalds' test: row 1024") {
		t.Errorf("notes %q do not blame row 1024 through Freivalds' test", note)
	}
	if m.RelError == nil || *m.RelError > m.ErrorBound {
		t.Errorf("the sample saw the wrong row (relative error %v); the test no longer shows what Freivalds adds", m.RelError)
	}

	ms, err = Run(context.Background(), &fake.Backend{}, cfg)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Run: %v, %d measurements", err, len(ms))
	}
	m = ms[0]
	f := m.Freivalds
	if m.Status != result.StatusOK || m.VerifyMode != "sampled+freivalds" || f == nil || f.Rounds != 3 ||
		f.Worst == nil || *f.Worst <= 0 || *f.Worst > f.Bound || f.Bound != kernels.RelErrorBound(kernels.FP32) {
		t.Fatalf("a right GEMM: status %s, mode %q, freivalds %+v", m.Status, m.VerifyMode, f)
	}
}
