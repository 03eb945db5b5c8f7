package gpu

import (
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/kernels"
)

// shiftedRow reads C with one row replaced by the next (an indexing bug).
type shiftedRow struct {
	kernels.Matrix
	row int
}

func (s shiftedRow) At(i, j int) float64 {
	if i == s.row {
		i++
	}
	return s.Matrix.At(i, j)
}

// TestFreivaldsOnGPU: cuBLASLt's output of a GEMM above verify.FullLimit
// passes Freivalds' test in every dtype, with the worst row or column
// ratio well inside the bound (so the test never fails a right kernel),
// and the same output with one row shifted fails it.
func TestFreivaldsOnGPU(t *testing.T) {
	b := requireCUDA(t)
	s := kernels.GEMMShape{M: 2304, N: 1280, K: 4096}
	for _, d := range allDTypes {
		if !b.Supports(d) {
			continue
		}
		g, err := b.NewGEMM(s, d, 1, 13)
		if err != nil {
			t.Fatalf("%s %s: %v", d, s, err)
		}
		g.Poison(0)
		if _, err := g.Run(0); err != nil {
			t.Fatalf("%s %s: %v", d, s, err)
		}
		a, bm, c := g.Operands(0)
		rep := verify.GEMM(a, bm, c, d, 3)
		if !rep.Passed || rep.Freivalds == nil || rep.Freivalds.Worst > rep.Freivalds.Bound/2 {
			t.Errorf("%s %s: passed %v, %s, freivalds %+v", d, s, rep.Passed, rep.Reason, rep.Freivalds)
		} else {
			t.Logf("%s %s: sampled relative error %.3g, Freivalds worst ratio %.3g (%s), bound %.3g",
				d, s, rep.RelError, rep.Freivalds.Worst, rep.Freivalds.Where, rep.Freivalds.Bound)
		}
		bad := verify.GEMM(a, bm, shiftedRow{c, s.M / 2}, d, 3)
		if bad.Passed || !strings.Contains(bad.Reason, "row") && !strings.Contains(bad.Reason, "relative error") {
			t.Errorf("%s %s with one shifted row: passed %v, %s", d, s, bad.Passed, bad.Reason)
		}
		g.Release()
	}
}
