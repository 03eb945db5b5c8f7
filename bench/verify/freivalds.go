package verify

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/flopcast/flopcast/kernels"
)

// FreivaldsRounds is the number of random vectors each side of the check
// uses. A row replaced by unrelated values of the same size gives a ratio
// near 0.7·|Z| (see Freivalds), so it escapes one vector with probability
// P(|Z| < bound/0.7) ≈ 1.1·bound: 2% for bf16, 11% for fp8 (the loosest
// bounds); three rounds make that 1e-5 and 1.4e-3, and far less for a
// row that is wrong by more than its own size.
const FreivaldsRounds = 3

// Freivalds is the outcome of Freivalds' test of C = A·B.
//
// For random vectors r (length n) it compares C·r with A·(B·r), and for
// random vectors l (length m) lᵀC with (lᵀA)·B, all in float64, in O(n²)
// instead of the O(n³) of a reference product. Every element of C enters
// both sums, so a wrong row shows in C·r and a wrong column in lᵀC. Each
// row i of the residual d = C·r − A·(B·r) is compared with its own scale
//
//	s_i = √(Σ_j C_ij² r_j²) + √(Σ_j r_j² Σ_p A_ip² B_pj²)
//
// the root-sum-square of the terms it sums, taken from C and from the
// exact product's terms (so that a row of zeros or of huge values cannot
// shrink its own scale). Rounding errors e_ij of relative size ρ sum to
// |d_i| ≈ ρ·√(Σ_j C_ij² r_j²)·|Z| with Z standard normal, so |d_i|/s_i
// stays near ρ·|Z|/2, below kernels.RelErrorBound for the dtype (which
// sits far above ρ), whatever the dtype; a wrong row gives |d_i|/s_i of
// order 0.7·|Z|. Columns are the same with l.
type Freivalds struct {
	// Rounds is the number of random vectors per side.
	Rounds int `json:"rounds"`
	// Worst is the largest |d_i|/s_i over every row, column and round.
	Worst float64 `json:"worst"`
	// Bound is the largest Worst accepted.
	Bound float64 `json:"bound"`
	// Where names the row or column of Worst, e.g. "row 17".
	Where string `json:"where,omitempty"`
}

// Passed reports whether Worst is within Bound.
func (f Freivalds) Passed() bool { return f.Worst <= f.Bound }

// colMajor reports whether a matrix is stored column by column, so
// the passes read it in memory order.
func colMajor(m kernels.Matrix) bool {
	switch v := m.(type) {
	case kernels.FP8Matrix:
		return v.ColMajor
	case *kernels.FP8Matrix:
		return v.ColMajor
	case interface{ IsColMajor() bool }:
		return v.IsColMajor()
	}
	return false
}

// vectors holds rounds vectors of one length, round-major.
type vectors [][]float64

func newVectors(rounds, n int) vectors {
	v := make(vectors, rounds)
	for t := range v {
		v[t] = make([]float64, n)
	}
	return v
}

func (v vectors) add(u vectors) {
	for t := range v {
		axpy(v[t], 1, u[t])
	}
}

func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1 float64
	i := 0
	for ; i+1 < len(x); i += 2 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
	}
	if i < len(x) {
		s0 += x[i] * y[i]
	}
	return s0 + s1
}

// axpy adds a·x to y.
func axpy(y []float64, a float64, x []float64) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// blockRows is how many rows of a column-major matrix are gathered at a
// time, so that each column is read in runs of contiguous memory.
const blockRows = 64

// eachRow calls f(i, row, sq) for rows lo..hi-1 of m in order, with the row
// in float64 and its elements squared. It reads m in memory order; row and
// sq are reused between calls.
func eachRow(m kernels.Matrix, lo, hi int, f func(i int, row, sq []float64)) {
	_, cols := m.Dims()
	sq := make([]float64, cols)
	square := func(row []float64) []float64 {
		for j, v := range row {
			sq[j] = v * v
		}
		return sq
	}
	switch v := m.(type) {
	case kernels.RowMajor64:
		for i := lo; i < hi; i++ {
			row := v.Data[i*cols : (i+1)*cols]
			f(i, row, square(row))
		}
		return
	case kernels.RowMajor32:
		row := make([]float64, cols)
		for i := lo; i < hi; i++ {
			for j, x := range v.Data[i*cols : (i+1)*cols] {
				row[j] = float64(x)
			}
			f(i, row, square(row))
		}
		return
	}
	if colMajor(m) {
		block := make([]float64, blockRows*cols)
		for b := lo; b < hi; b += blockRows {
			n := min(blockRows, hi-b)
			for j := 0; j < cols; j++ {
				for i := 0; i < n; i++ {
					block[i*cols+j] = m.At(b+i, j)
				}
			}
			for i := 0; i < n; i++ {
				row := block[i*cols : (i+1)*cols]
				f(b+i, row, square(row))
			}
		}
		return
	}
	row := make([]float64, cols)
	for i := lo; i < hi; i++ {
		for j := range row {
			row[j] = m.At(i, j)
		}
		f(i, row, square(row))
	}
}

// parallelRows runs work over blocks of rows [0, rows) on up to
// GOMAXPROCS goroutines; work gets a worker index (below GOMAXPROCS) and
// its block.
func parallelRows(rows int, work func(w, lo, hi int)) {
	workers := max(1, min(runtime.GOMAXPROCS(0), rows/64))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := rows*w/workers, rows*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w, lo, hi)
		}()
	}
	wg.Wait()
}

// FreivaldsCheck runs Freivalds' test of c = a·b computed in dtype d with
// FreivaldsRounds vectors per side drawn from seed, and counts c's
// non-finite elements on the way (it reads every element of c once, of a
// twice and of b twice).
func FreivaldsCheck(a, b, c kernels.Matrix, d kernels.DType, seed uint64) (Freivalds, int64) {
	m, k := a.Dims()
	_, n := b.Dims()
	R := FreivaldsRounds
	rng := kernels.NewRand(seed ^ 0xf4e1)
	r, l := newVectors(R, n), newVectors(R, m)
	for t := 0; t < R; t++ {
		for j := range r[t] {
			r[t][j] = kernels.Uniform(rng)
		}
		for i := range l[t] {
			l[t][i] = kernels.Uniform(rng)
		}
	}

	r2, l2 := newVectors(R, n), newVectors(R, m)
	for t := 0; t < R; t++ {
		for j, v := range r[t] {
			r2[t][j] = v * v
		}
		for i, v := range l[t] {
			l2[t][i] = v * v
		}
	}
	workers := runtime.GOMAXPROCS(0) // at least parallelRows's count
	// sum adds up the per-worker vectors that were used.
	sum := func(parts []vectors, size int) vectors {
		out := newVectors(R, size)
		for _, p := range parts {
			if p != nil {
				out.add(p)
			}
		}
		return out
	}

	// B pass: x = B·r and xs = (B∘B)·(r∘r), one entry per row of B.
	x, xs := newVectors(R, k), newVectors(R, k)
	parallelRows(k, func(_, lo, hi int) {
		eachRow(b, lo, hi, func(p int, row, sq []float64) {
			for t := 0; t < R; t++ {
				x[t][p] = dot(row, r[t])
				xs[t][p] = dot(sq, r2[t])
			}
		})
	})

	// bothSides is one pass over mat, one of the m-row matrices A and C:
	// rows[t][i] = mat_i·v[t] and rowsSq[t][i] = (mat∘mat)_i·vs[t] (one
	// entry per row), and it returns lᵀ·mat and (l∘l)ᵀ(mat∘mat) (columns,
	// summed per worker). each, when not nil, sees every row first.
	bothSides := func(mat kernels.Matrix, v, vs, rows, rowsSq vectors, each func(w int, row []float64)) (cols, colsSq vectors) {
		_, width := mat.Dims()
		cw, csw := make([]vectors, workers), make([]vectors, workers)
		parallelRows(m, func(w, lo, hi int) {
			v1, v2 := newVectors(R, width), newVectors(R, width)
			eachRow(mat, lo, hi, func(i int, row, sq []float64) {
				if each != nil {
					each(w, row)
				}
				for t := 0; t < R; t++ {
					rows[t][i] = dot(row, v[t])
					rowsSq[t][i] = dot(sq, vs[t])
					axpy(v1[t], l[t][i], row)
					axpy(v2[t], l2[t][i], sq)
				}
			})
			cw[w], csw[w] = v1, v2
		})
		return sum(cw, width), sum(csw, width)
	}

	// A pass: y = A·x and ys = (A∘A)·xs (rows); u = lᵀA and
	// uu = (l∘l)ᵀ(A∘A) (columns).
	y, ys := newVectors(R, m), newVectors(R, m)
	u, uu := bothSides(a, x, xs, y, ys, nil)

	// Second B pass: yl = u·B and yll = uu·(B∘B) (columns).
	yls, ylls := make([]vectors, workers), make([]vectors, workers)
	parallelRows(k, func(w, lo, hi int) {
		v1, v2 := newVectors(R, n), newVectors(R, n)
		eachRow(b, lo, hi, func(p int, row, sq []float64) {
			for t := 0; t < R; t++ {
				axpy(v1[t], u[t][p], row)
				axpy(v2[t], uu[t][p], sq)
			}
		})
		yls[w], ylls[w] = v1, v2
	})
	yl, yll := sum(yls, n), sum(ylls, n)

	// C pass: z = C·r, zs = (C∘C)·(r∘r) (rows); zl = lᵀC and
	// zls = (l∘l)ᵀ(C∘C) (columns); non-finite elements counted.
	z, zs := newVectors(R, m), newVectors(R, m)
	bad := make([]int64, workers)
	zl, zls := bothSides(c, r, r2, z, zs, func(w int, row []float64) {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bad[w]++
			}
		}
	})
	var nonFinite int64
	for _, v := range bad {
		nonFinite += v
	}

	f := Freivalds{Rounds: R, Bound: kernels.RelErrorBound(d)}
	worst := func(got, want, sGot, sWant vectors, what string) {
		for t := range got {
			for i := range got[t] {
				diff := math.Abs(got[t][i] - want[t][i])
				if diff == 0 {
					continue
				}
				ratio := diff / (math.Sqrt(sGot[t][i]) + math.Sqrt(sWant[t][i]))
				if math.IsNaN(ratio) {
					ratio = math.Inf(1)
				}
				if ratio > f.Worst {
					f.Worst, f.Where = ratio, fmt.Sprintf("%s %d", what, i)
				}
			}
		}
	}
	worst(z, y, zs, ys, "row")
	worst(zl, yl, zls, yll, "column")
	return f, nonFinite
}
