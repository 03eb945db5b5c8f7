package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/cpu"
	"github.com/flopcast/flopcast/bench/backend/fake"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func tinyRun(t *testing.T, dtypes ...kernels.DType) BlockRun {
	t.Helper()
	m, err := kernels.LookupModel("tiny")
	if err != nil {
		t.Fatal(err)
	}
	return BlockRun{Blocks: []kernels.BlockConfig{kernels.BlockFromModel(m)}, DTypes: dtypes,
		Warmup: 1, MinRepeats: 3, MaxTime: time.Minute, Seed: 5}
}

func TestRunBlocksOnCPU(t *testing.T) {
	b := cpu.New(1)
	ms, err := RunBlocks(context.Background(), b, tinyRun(t, kernels.FP32, kernels.FP64))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("%d measurements, want 2", len(ms))
	}
	for _, m := range ms {
		if m.Status != result.StatusOK || !m.Verified {
			t.Fatalf("%s: status %s, notes %v", m.DType, m.Status, m.Notes)
		}
		blk := m.Block
		if m.Workload != "block" || blk == nil || blk.Preset != "tiny" || blk.Seq != 32 || blk.Batch != 2 {
			t.Fatalf("%s: measurement %+v block %+v", m.DType, m, blk)
		}
		if want := kernels.BlockFromModel(mustModel(t, "tiny")).StepFLOPs(); m.FLOPs != want {
			t.Errorf("FLOPs %v, want %v", m.FLOPs, want)
		}
		if m.Seconds == nil || len(m.Samples) < 3 || m.FLOPPerSecond != m.FLOPs/m.Seconds.Median {
			t.Errorf("%s: timing %+v, %d samples, %v FLOP/s", m.DType, m.Seconds, len(m.Samples), m.FLOPPerSecond)
		}
		if got := blk.TokensPerSecond * m.Seconds.Median; got < 63.999 || got > 64.001 {
			t.Errorf("tokens/s × median = %v, want 64 tokens", got)
		}
		if m.PeakFLOPPerSecond > 0 && blk.MFU != m.FLOPPerSecond/m.PeakFLOPPerSecond {
			t.Errorf("MFU %v", blk.MFU)
		}
		for _, p := range []string{"forward", "backward", "optimizer"} {
			if !(blk.PhaseSeconds[p] > 0) {
				t.Errorf("%s: phase %s = %v", m.DType, p, blk.PhaseSeconds[p])
			}
		}
		if blk.Attention != kernels.AttentionUnfused || !strings.Contains(blk.FLOPConvention, "causal masking credited") {
			t.Errorf("attention %q, convention %q", blk.Attention, blk.FLOPConvention)
		}
		if !(blk.Loss > 0) || blk.MemoryEstimateBytes <= 0 || blk.MemoryBytes <= 0 {
			t.Errorf("loss %v, memory %d, estimate %d", blk.Loss, blk.MemoryBytes, blk.MemoryEstimateBytes)
		}
		if m.RelError == nil || *m.RelError > m.ErrorBound {
			t.Errorf("rel error %v, bound %v", m.RelError, m.ErrorBound)
		}
	}
}

func mustModel(t *testing.T, name string) kernels.Model {
	m, err := kernels.LookupModel(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wrongBackend is the CPU whose steps report an output 1% off.
type wrongBackend struct{ *cpu.Backend }

type wrongStep struct{ backend.BlockStep }

func (w wrongBackend) NewBlockStep(c kernels.BlockConfig, d kernels.DType, seed uint64) (backend.BlockStep, error) {
	s, err := w.Backend.NewBlockStep(c, d, seed)
	return wrongStep{s}, err
}

func (w wrongStep) Output() []float64 {
	out := w.BlockStep.Output()
	for i := range out {
		out[i] *= 1.01
	}
	return out
}

func TestRunBlocksFailsAWrongStep(t *testing.T) {
	ms, err := RunBlocks(context.Background(), wrongBackend{cpu.New(1)}, tinyRun(t, kernels.FP32))
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if m.Status != result.StatusFailed || m.Verified || m.FLOPPerSecond != 0 || m.Seconds != nil {
		t.Fatalf("wrong step: status %s verified %v", m.Status, m.Verified)
	}
	if len(m.Notes) == 0 || !strings.Contains(m.Notes[0], "output relative error") {
		t.Errorf("notes %v", m.Notes)
	}
}

func TestRunBlocksRefusesBadInput(t *testing.T) {
	if _, err := RunBlocks(context.Background(), &fake.Backend{}, tinyRun(t, kernels.FP32)); err == nil || !strings.Contains(err.Error(), "does not run the block workload") {
		t.Errorf("fake backend: %v", err)
	}
	run := tinyRun(t, kernels.FP32)
	run.Blocks[0].Heads = 5
	if _, err := RunBlocks(context.Background(), cpu.New(1), run); err == nil {
		t.Error("heads 5 accepted")
	}
	ms, err := RunBlocks(context.Background(), cpu.New(1), tinyRun(t, kernels.BF16))
	if err != nil || len(ms) != 1 || ms[0].Status != result.StatusSkipped {
		t.Errorf("bf16 on the CPU: %v %+v", err, ms)
	}
}

// badTail is the CPU whose steps write NaN into the last output token, or
// scale the first token's output by 1.01.
type badTail struct {
	*cpu.Backend
	first bool
}

type badTailStep struct {
	backend.BlockStep
	first bool
	d     int
}

func (w badTail) NewBlockStep(c kernels.BlockConfig, d kernels.DType, seed uint64) (backend.BlockStep, error) {
	s, err := w.Backend.NewBlockStep(c, d, seed)
	return badTailStep{s, w.first, c.Hidden}, err
}

func (w badTailStep) Output() []float64 {
	out := w.BlockStep.Output()
	if w.first {
		for i := 0; i < w.d; i++ {
			out[i] *= 1.01
		}
	} else {
		out[len(out)-1] = math.NaN()
	}
	return out
}

func TestLargeBlocksAreCheckedOnALeadingPrefix(t *testing.T) {
	saved := referenceWork
	defer func() { referenceWork = saved }()
	blk := tinyRun(t).Blocks[0]
	referenceWork = 4.5 * float64(blk.ParamCount()+2*int64(blk.Seq*blk.Hidden)) // 4 tokens' worth
	if n := referenceTokens(blk); n != 4 {
		t.Fatalf("referenceTokens = %d, want 4", n)
	}
	ms, err := RunBlocks(context.Background(), cpu.New(1), tinyRun(t, kernels.FP32))
	if err != nil {
		t.Fatal(err)
	}
	if m := ms[0]; !m.Verified || m.VerifyMode != "reference forward, first 4 tokens" || m.Compared != int64(4*blk.Hidden) {
		t.Fatalf("prefix check: verified %v mode %q compared %d notes %v", m.Verified, m.VerifyMode, m.Compared, m.Notes)
	}
	for _, c := range []struct {
		first bool
		want  string
	}{{true, "output relative error"}, {false, "not finite"}} {
		ms, err := RunBlocks(context.Background(), badTail{cpu.New(1), c.first}, tinyRun(t, kernels.FP32))
		if err != nil {
			t.Fatal(err)
		}
		if m := ms[0]; m.Verified || !strings.Contains(strings.Join(m.Notes, ";"), c.want) {
			t.Errorf("first=%v: verified %v notes %v", c.first, m.Verified, m.Notes)
		}
	}
	if n := referenceTokens(kernels.BlockFromModel(mustModel(t, "llama3-8b"))); n < 4 || n > 16 {
		t.Errorf("llama3-8b: %d reference tokens", n)
	}
}

// plannedBackend is the CPU backend with a memory plan far over what is
// available, as a GPU reports for a block that does not fit.
type plannedBackend struct{ *cpu.Backend }

func (plannedBackend) BlockMemory(c kernels.BlockConfig, d kernels.DType) (kernels.BlockMemory, int64, error) {
	return c.MemoryEstimate(d, kernels.FP32, kernels.AttentionUnfused), 1 << 50, nil
}

func (plannedBackend) MemoryAvailable() int64 { return 1 << 40 }

// TestRunBlocksRefusesByThePlan: a backend's own plan, not only the
// analytic estimate, decides whether a block fits, before anything is
// allocated, and the skip says how much it needs.
func TestRunBlocksRefusesByThePlan(t *testing.T) {
	ms, err := RunBlocks(context.Background(), plannedBackend{cpu.New(1)}, tinyRun(t, kernels.FP32))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Status != result.StatusSkipped || ms[0].Block.MemoryPlannedBytes != 1<<50 ||
		!strings.Contains(strings.Join(ms[0].Notes, " "), "needs 1048576.0 GiB") {
		t.Errorf("%+v", ms)
	}
}
