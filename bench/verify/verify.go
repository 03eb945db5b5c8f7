// Package verify checks a kernel's output against a float64 reference.
//
// A GEMM output is scanned in full for NaN and infinity (its buffer is
// poisoned with NaN before the run, so an unwritten element is caught) and
// compared with the reference by the relative error
//
//	‖out − ref‖₂ / ‖ref‖₂
//
// over every element when no dimension exceeds FullLimit, else over a grid
// of sampled rows × columns of at least SampleTarget elements. A sample
// measures precision but can miss a wrong row or column, so above
// FullLimit Freivalds' test (see Freivalds) checks every element of the
// output as well, in O(n²).
package verify

import (
	"fmt"
	"math"
	"sort"

	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu"
)

// FullLimit is the largest dimension at which every output element is
// compared with the reference.
const FullLimit = 1024

// SampleTarget is the least number of elements compared above FullLimit
// (64 rows × 64 columns when the output has that many).
const SampleTarget = 4096

// Report is the outcome of one check.
type Report struct {
	// Mode is "full", or "sampled+freivalds" (a sample compared with the
	// reference and Freivalds' test over every element).
	Mode string
	// Compared is the number of elements compared with the reference.
	Compared int64
	// Scanned is the number of elements scanned for NaN and infinity.
	Scanned int64
	// NonFinite counts NaN or infinite output elements.
	NonFinite int64
	// RelError is ‖out − ref‖₂ / ‖ref‖₂ over the compared elements; NaN
	// when a compared element is NaN.
	RelError float64
	// Bound is the largest RelError accepted for the dtype.
	Bound float64
	// Freivalds is Freivalds' test of the whole output; nil in full mode.
	Freivalds *Freivalds
	// Passed is true when nothing is non-finite, RelError ≤ Bound and
	// Freivalds' test (when run) passed.
	Passed bool
	// Reason says why the check failed; empty when it passed.
	Reason string
}

// GEMM checks c = a·b computed in dtype d. The seed picks the sampled rows
// and columns.
func GEMM(a, b, c kernels.Matrix, d kernels.DType, seed uint64) Report {
	m, k := a.Dims()
	kb, n := b.Dims()
	cm, cn := c.Dims()
	rep := Report{Bound: kernels.RelErrorBound(d), RelError: math.NaN()}
	if k != kb || cm != m || cn != n {
		rep.Reason = fmt.Sprintf("operand shapes disagree: A %dx%d, B %dx%d, C %dx%d", m, k, kb, n, cm, cn)
		return rep
	}
	// Every element is scanned, so an unwritten (still NaN) one is caught
	// even when only a sample is compared: here, or by Freivalds' test,
	// which reads every element anyway.
	full := max(m, n, k) <= FullLimit
	if full {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if v := c.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
					rep.NonFinite++
				}
			}
		}
	} else {
		f, bad := FreivaldsCheck(a, b, c, d, seed)
		rep.Freivalds, rep.NonFinite = &f, bad
	}
	rep.Scanned = int64(m) * int64(n)

	var num, den float64
	add := func(got, want float64) {
		num += (got - want) * (got - want)
		den += want * want
	}
	if full {
		rep.Mode = "full"
		ref := cpu.Reference(a, b)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				add(c.At(i, j), ref[i*n+j])
			}
		}
		rep.Compared = int64(m) * int64(n)
	} else {
		rep.Mode = "sampled+freivalds"
		rows, cols := sampleGrid(m, n, seed)
		for _, i := range rows {
			for _, j := range cols {
				add(c.At(i, j), cpu.Dot(a, b, i, j))
			}
		}
		rep.Compared = int64(len(rows)) * int64(len(cols))
	}
	if den > 0 {
		rep.RelError = math.Sqrt(num / den)
	}
	switch {
	case rep.NonFinite > 0:
		rep.Reason = fmt.Sprintf("%d of %d output elements are NaN or infinite (unwritten or overflowed)", rep.NonFinite, rep.Scanned)
	case math.IsNaN(rep.RelError):
		rep.Reason = "relative error is NaN"
	case rep.RelError > rep.Bound:
		rep.Reason = fmt.Sprintf("relative error %.3g exceeds the %s bound %.3g", rep.RelError, d, rep.Bound)
	case rep.Freivalds != nil && !rep.Freivalds.Passed():
		f := rep.Freivalds
		rep.Reason = fmt.Sprintf("Freivalds' test: %s is off by %.3g of its scale, above the %s bound %.3g (a wrong row or column the sample missed)",
			f.Where, f.Worst, d, f.Bound)
	default:
		rep.Passed = true
	}
	return rep
}

// sampleGrid picks distinct rows and columns, always including the first
// and last of each, so that rows×cols ≥ SampleTarget where the matrix has
// that many elements.
func sampleGrid(m, n int, seed uint64) (rows, cols []int) {
	r := kernels.NewRand(seed ^ 0x5eed)
	nr := min(m, 64)
	nc := min(n, max(64, (SampleTarget+nr-1)/nr))
	if nc < 64 && nr < m {
		nr = min(m, (SampleTarget+nc-1)/nc)
	}
	return pick(r.IntN, m, nr), pick(r.IntN, n, nc)
}

func pick(intn func(int) int, size, count int) []int {
	if count >= size {
		out := make([]int, size)
		for i := range out {
			out[i] = i
		}
		return out
	}
	seen := map[int]bool{0: true, size - 1: true}
	for len(seen) < count {
		seen[intn(size)] = true
	}
	out := make([]int, 0, count)
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}
