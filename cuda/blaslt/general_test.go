package blaslt

import (
	"math"
	"strings"
	"testing"
)

// ltProduct does what cuBLASLt does with the layouts and ops of s on the
// flat buffers a and b (our A and B, batch entry i at i·stride): its
// column-major D = op(ltA)·op(ltB), element (r, c) at c·ld + r, returned
// as the flat buffer D occupies.
func ltProduct(s GeneralSpec, a, b []float64) []float64 {
	ltA, ltB, ltC, opA, opB := s.Lt()
	at := func(buf []float64, l Layout, op Op, r, c int) float64 { // element (r, c) of op(l)
		if op == OpT {
			r, c = c, r
		}
		return buf[c*l.LD+r]
	}
	rows, inner := ltA.Rows, ltA.Cols
	if opA == OpT {
		rows, inner = ltA.Cols, ltA.Rows
	}
	cols := ltB.Cols
	if opB == OpT {
		cols = ltB.Rows
	}
	batch := max(s.Batch, 1)
	d := make([]float64, int64(batch-1)*s.StrideC+int64(ltC.LD*ltC.Cols))
	for n := 0; n < batch; n++ {
		// cuBLASLt's A is our B.
		la, lb := b[int64(n)*s.StrideB:], a[int64(n)*s.StrideA:]
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				var sum float64
				for k := 0; k < inner; k++ {
					sum += at(la, ltA, opA, r, k) * at(lb, ltB, opB, k, c)
				}
				d[int64(n)*s.StrideC+int64(c*ltC.LD+r)] = sum
			}
		}
	}
	return d
}

// rowProduct is the row-major op(A)·op(B) the spec means.
func rowProduct(s GeneralSpec, a, b []float64) []float64 {
	batch := max(s.Batch, 1)
	d := make([]float64, int64(batch-1)*s.StrideC+int64(s.M*s.N))
	for n := 0; n < batch; n++ {
		A, B := a[int64(n)*s.StrideA:], b[int64(n)*s.StrideB:]
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				var sum float64
				for k := 0; k < s.K; k++ {
					av := A[i*s.K+k]
					if s.TransA {
						av = A[k*s.M+i]
					}
					bv := B[k*s.N+j]
					if s.TransB {
						bv = B[j*s.K+k]
					}
					sum += av * bv
				}
				d[int64(n)*s.StrideC+int64(i*s.N+j)] = sum
			}
		}
	}
	return d
}

func TestGeneralLayoutsComputeTheRowMajorProduct(t *testing.T) {
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, batch := range []int{1, 3} {
				s := GeneralSpec{M: 5, N: 3, K: 4, TransA: ta, TransB: tb, Batch: batch,
					StrideA: 20 + 2, StrideB: 12 + 1, StrideC: 15 + 3, AB: R16BF, CD: R32F, Compute: Compute32F}
				if err := s.Validate(); err != nil {
					t.Fatal(err)
				}
				a := make([]float64, 3*22)
				b := make([]float64, 3*13)
				for i := range a {
					a[i] = math.Sin(float64(i) + 0.5)
				}
				for i := range b {
					b[i] = math.Cos(float64(i) * 1.3)
				}
				got, want := ltProduct(s, a, b), rowProduct(s, a, b)
				if len(got) != len(want) {
					t.Fatalf("%s: sizes %d %d", s, len(got), len(want))
				}
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12 {
						t.Fatalf("%s: element %d = %g, want %g", s, i, got[i], want[i])
					}
				}
				ltA, ltB, ltC, _, _ := s.Lt()
				if ltA.Type != R16BF || ltB.Type != R16BF || ltC.Type != R32F {
					t.Errorf("%s: layout types %d %d %d", s, ltA.Type, ltB.Type, ltC.Type)
				}
			}
		}
	}
}

func TestGeneralSpecValidate(t *testing.T) {
	ok := GeneralSpec{M: 4, N: 4, K: 4, AB: R32F, CD: R32F, Compute: Compute32F}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	for _, c := range []struct {
		s    GeneralSpec
		want string
	}{
		{GeneralSpec{M: 0, N: 4, K: 4, AB: R32F, CD: R32F}, "must be > 0"},
		{GeneralSpec{M: 4, N: 4, K: 4, AB: 99, CD: R32F}, "data types"},
		{GeneralSpec{M: 4, N: 4, K: 4, AB: R32F, CD: R32F, Batch: 2, StrideA: 16, StrideB: 15, StrideC: 16}, "overlap"},
	} {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
}
