package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// MaxDim is the largest GEMM dimension flopcast accepts. It keeps every
// element count well inside int64 and rejects typos such as 4096000.
const MaxDim = 1 << 20

// GEMMShape is the shape of C = A·B with A m×k, B k×n and C m×n, all
// row-major.
type GEMMShape struct {
	M int `json:"m"`
	N int `json:"n"`
	K int `json:"k"`
}

// Square returns the n×n×n shape.
func Square(n int) GEMMShape { return GEMMShape{M: n, N: n, K: n} }

// String formats the shape as "MxNxK".
func (s GEMMShape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// Validate reports whether every dimension is in 1..MaxDim.
func (s GEMMShape) Validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"m", s.M}, {"n", s.N}, {"k", s.K}} {
		if d.v <= 0 {
			return fmt.Errorf("gemm shape %s: %s must be > 0", s, d.name)
		}
		if d.v > MaxDim {
			return fmt.Errorf("gemm shape %s: %s must be <= %d", s, d.name, MaxDim)
		}
	}
	return nil
}

// FLOPs returns the floating-point operations of one call, counting a
// multiply-add as two:
//
//	flops = 2·m·n·k
func (s GEMMShape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// Elements returns the element counts of A, B and C. A count that does not
// fit in an int64 (a shape from a file, never one Validate accepts) is
// math.MaxInt64; a negative dimension counts as zero.
func (s GEMMShape) Elements() (a, b, c int64) {
	m, n, k := int64(s.M), int64(s.N), int64(s.K)
	return MulSat(m, k), MulSat(k, n), MulSat(m, n)
}

// Bytes returns the least memory traffic of one call: A and B read once and
// C written once, all in dtype d.
//
//	bytes = (m·k + k·n + m·n)·size(d)
//
// saturating at math.MaxInt64, as Elements does.
func (s GEMMShape) Bytes(d DType) int64 {
	a, b, c := s.Elements()
	return MulSat(AddSat(a, b, c), int64(d.Size()))
}

// MulSat returns the product of non-negative counts, math.MaxInt64 when it
// overflows. A negative factor counts as zero: sizes are never negative,
// and a product of sizes must never wrap into one.
func MulSat(x int64, ys ...int64) int64 {
	if x <= 0 || slices.ContainsFunc(ys, func(y int64) bool { return y <= 0 }) {
		return 0
	}
	p := x
	for _, y := range ys {
		hi, lo := bits.Mul64(uint64(p), uint64(y))
		if hi != 0 || lo > math.MaxInt64 {
			return math.MaxInt64
		}
		p = int64(lo)
	}
	return p
}

// AddSat returns the sum of non-negative counts, math.MaxInt64 when it
// overflows; a negative term counts as zero.
func AddSat(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		x = max(x, 0)
		if s > math.MaxInt64-x {
			return math.MaxInt64
		}
		s += x
	}
	return s
}

// ArithmeticIntensity returns FLOPs per byte of least memory traffic.
func (s GEMMShape) ArithmeticIntensity(d DType) float64 {
	b := s.Bytes(d)
	if b == 0 {
		return 0
	}
	return s.FLOPs() / float64(b)
}

// ParseShape parses "N" (the square N×N×N) or "MxNxK".
func ParseShape(text string) (GEMMShape, error) {
	t := strings.ToLower(strings.TrimSpace(text))
	parts := strings.Split(t, "x")
	var dims []int
	for _, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return GEMMShape{}, fmt.Errorf("size %q is not a number or MxNxK shape", text)
		}
		dims = append(dims, v)
	}
	var s GEMMShape
	switch len(dims) {
	case 1:
		s = Square(dims[0])
	case 3:
		s = GEMMShape{M: dims[0], N: dims[1], K: dims[2]}
	default:
		return GEMMShape{}, fmt.Errorf("size %q: want N or MxNxK", text)
	}
	if err := s.Validate(); err != nil {
		return GEMMShape{}, fmt.Errorf("size %q: %v", text, err)
	}
	return s, nil
}

// ParseShapes parses a comma-separated list of sizes and shapes such as
// "512,1024,4096x4096x512".
func ParseShapes(list string) ([]GEMMShape, error) {
	var out []GEMMShape
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("empty size in %q", list)
		}
		s, err := ParseShape(part)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
