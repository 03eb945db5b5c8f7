package stats

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		name    string
		in      []float64
		want    Summary
		noisy   bool
		wantErr bool
	}{
		{name: "single", in: []float64{2}, want: Summary{N: 1, Median: 2, Min: 2, Max: 2, P25: 2, P75: 2, Mean: 2}},
		{name: "odd unsorted", in: []float64{5, 1, 3, 2, 4},
			want:  Summary{N: 5, Median: 3, Min: 1, Max: 5, P25: 2, P75: 4, Mean: 3, CV: math.Sqrt(2.5) / 3, RelIQR: 2.0 / 3},
			noisy: true},
		{name: "even interpolates", in: []float64{1, 2, 3, 4},
			want:  Summary{N: 4, Median: 2.5, Min: 1, Max: 4, P25: 1.75, P75: 3.25, Mean: 2.5, CV: math.Sqrt(5.0/3) / 2.5, RelIQR: 1.5 / 2.5},
			noisy: true},
		{name: "tight", in: []float64{1.00, 1.01, 0.99, 1.02, 1.00},
			want: Summary{N: 5, Median: 1, Min: 0.99, Max: 1.02, P25: 1, P75: 1.01, Mean: 1.004}},
		{name: "empty", in: nil, wantErr: true},
		{name: "nan", in: []float64{1, math.NaN()}, wantErr: true},
		{name: "inf", in: []float64{1, math.Inf(1)}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Summarize(c.in)
			if c.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check := func(field string, g, w float64) {
				if math.Abs(g-w) > 1e-12 {
					t.Errorf("%s = %v, want %v", field, g, w)
				}
			}
			if got.N != c.want.N {
				t.Errorf("N = %d, want %d", got.N, c.want.N)
			}
			check("median", got.Median, c.want.Median)
			check("min", got.Min, c.want.Min)
			check("max", got.Max, c.want.Max)
			check("p25", got.P25, c.want.P25)
			check("p75", got.P75, c.want.P75)
			check("mean", got.Mean, c.want.Mean)
			if c.want.CV != 0 {
				check("cv", got.CV, c.want.CV)
			}
			if c.want.RelIQR != 0 {
				check("rel_iqr", got.RelIQR, c.want.RelIQR)
			}
			if got.Noisy() != c.noisy {
				t.Errorf("Noisy() = %v, want %v (rel_iqr %v)", got.Noisy(), c.noisy, got.RelIQR)
			}
		})
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := []float64{3, 1, 2}
	if _, err := Summarize(in); err != nil {
		t.Fatal(err)
	}
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("input modified: %v", in)
	}
}
