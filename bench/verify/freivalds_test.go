package verify

import (
	"strings"
	"testing"

	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu"
)

// rounded returns random A (m×k) and B (k×n) with values already in dtype
// d, and C = A·B computed in float64 and rounded once to d's output type,
// the output of a kernel that is right up to its output rounding.
func rounded(s kernels.GEMMShape, d kernels.DType, seed uint64) (a, b, c kernels.RowMajor64) {
	r := kernels.NewRand(seed)
	fill := func(rows, cols int) kernels.RowMajor64 {
		m := kernels.RowMajor64{Data: make([]float64, rows*cols), Rows: rows, Cols: cols}
		for i := range m.Data {
			v := 0.0
			for v == 0 {
				v = float64(kernels.Quantize(d, float32(kernels.Uniform(r))))
			}
			m.Data[i] = v
		}
		return m
	}
	a, b = fill(s.M, s.K), fill(s.K, s.N)
	exact := cpu.Reference(a, b)
	c = kernels.RowMajor64{Data: exact, Rows: s.M, Cols: s.N}
	out := d
	if d == kernels.FP8E4M3 {
		out = kernels.BF16 // as cuBLASLt's fp8 GEMM writes it
	}
	if d != kernels.FP64 {
		for i, v := range exact {
			c.Data[i] = float64(kernels.Quantize(out, float32(v)))
		}
	}
	return a, b, c
}

// unsampled returns a row (or column) of size that the sampled check of
// seed does not compare.
func unsampled(t *testing.T, m, n int, seed uint64, column bool) int {
	t.Helper()
	rows, cols := sampleGrid(m, n, seed)
	picked, size := rows, m
	if column {
		picked, size = cols, n
	}
	in := map[int]bool{}
	for _, i := range picked {
		in[i] = true
	}
	for i := size / 2; i < size; i++ {
		if !in[i] {
			return i
		}
	}
	t.Fatal("every row is sampled")
	return 0
}

// TestFreivaldsCatchesWhatTheSampleMisses: an output above FullLimit with
// one wrong row (or column) that the sampled comparison does not visit
// passes the sample and fails Freivalds' test, in every dtype; the correct
// output passes, its worst ratio well inside the bound. (The runner's
// test does the same on a 2048×2048 GEMM.)
func TestFreivaldsCatchesWhatTheSampleMisses(t *testing.T) {
	s := kernels.GEMMShape{M: 1100, N: 1060, K: 24}
	const seed = 5
	for _, d := range []kernels.DType{kernels.FP64, kernels.FP32, kernels.BF16, kernels.FP16, kernels.FP8E4M3} {
		a, b, c := rounded(s, d, 11)
		rep := GEMM(a, b, c, d, seed)
		if !rep.Passed || rep.Mode != "sampled+freivalds" || rep.Freivalds == nil || rep.Freivalds.Rounds != FreivaldsRounds {
			t.Fatalf("%s correct: %+v", d, rep)
		}
		if f := rep.Freivalds; f.Worst > f.Bound/4 || f.Worst <= 0 {
			t.Errorf("%s correct: worst ratio %.3g, want in (0, bound/4 = %.3g]", d, f.Worst, f.Bound/4)
		}
		t.Logf("%s correct: worst ratio %.3g (bound %.3g), sampled relative error %.3g", d, rep.Freivalds.Worst, rep.Freivalds.Bound, rep.RelError)

		// One row computed from the wrong row of A (an indexing bug): the
		// values have the right size, so only a check of that row sees it.
		row := unsampled(t, s.M, s.N, seed, false)
		bad := kernels.RowMajor64{Data: append([]float64(nil), c.Data...), Rows: c.Rows, Cols: c.Cols}
		copy(bad.Data[row*s.N:(row+1)*s.N], c.Data[(row+1)*s.N:(row+2)*s.N])
		rep = GEMM(a, b, bad, d, seed)
		if rep.Passed || !strings.Contains(rep.Reason, "Freivalds' test: row ") || rep.RelError > rep.Bound {
			t.Errorf("%s wrong row %d: passed %v, relative error %.3g, reason %q", d, row, rep.Passed, rep.RelError, rep.Reason)
		} else {
			t.Logf("%s wrong row: %s", d, rep.Reason)
		}

		// One column of zeros.
		col := unsampled(t, s.M, s.N, seed, true)
		bad = kernels.RowMajor64{Data: append([]float64(nil), c.Data...), Rows: c.Rows, Cols: c.Cols}
		for i := 0; i < s.M; i++ {
			bad.Data[i*s.N+col] = 0
		}
		rep = GEMM(a, b, bad, d, seed)
		if rep.Passed || !strings.Contains(rep.Reason, "Freivalds' test: column ") {
			t.Errorf("%s zero column %d: passed %v, reason %q", d, col, rep.Passed, rep.Reason)
		}
	}
}

// TestFreivaldsSingleElement: one element far off (100× the largest
// output) fails in fp32 even where the sample does not look.
func TestFreivaldsSingleElement(t *testing.T) {
	s := kernels.GEMMShape{M: 1500, N: 1100, K: 40}
	a, b, c := rounded(s, kernels.FP32, 3)
	i, j := unsampled(t, s.M, s.N, 9, false), unsampled(t, s.M, s.N, 9, true)
	c.Data[i*s.N+j] += 100 * 40
	rep := GEMM(a, b, c, kernels.FP32, 9)
	if rep.Passed || !strings.Contains(rep.Reason, "Freivalds") {
		t.Errorf("one wrong element: %+v", rep)
	}
}

// TestFreivaldsReadsColumnMajorOperands: an fp8 B stored column by column
// (as cuBLASLt's fp8 GEMM wants it) is read right.
func TestFreivaldsReadsColumnMajorOperands(t *testing.T) {
	s := kernels.GEMMShape{M: 1100, N: 300, K: 200}
	a, b, c := rounded(s, kernels.FP8E4M3, 4)
	cm := kernels.FP8Matrix{Data: make([]uint8, s.K*s.N), Rows: s.K, Cols: s.N, ColMajor: true}
	for p := 0; p < s.K; p++ {
		for j := 0; j < s.N; j++ {
			cm.Data[j*s.K+p] = kernels.FP8E4M3FromFloat32(float32(b.At(p, j)))
		}
	}
	f, bad := FreivaldsCheck(a, cm, c, kernels.FP8E4M3, 1)
	if bad != 0 || !f.Passed() || f.Worst <= 0 {
		t.Errorf("column-major fp8 B: %+v, %d non-finite", f, bad)
	}
}

func BenchmarkFreivalds2048(b *testing.B) {
	s := kernels.Square(2048)
	g, err := cpu.NewGEMM(s, kernels.FP32, 1, 7)
	if err != nil {
		b.Fatal(err)
	}
	x, y, c := g.Operands(0)
	for b.Loop() {
		FreivaldsCheck(x, y, c, kernels.FP32, 1)
	}
}
