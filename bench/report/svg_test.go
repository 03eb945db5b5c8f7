package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestChartsBoundedWhateverTheData: axes and paths stay finite and small
// for values a corrupt or crafted file can hold (a temperature of 3e15,
// infinities, NaN, zero on a log axis, one repeated huge value), and
// every call returns at once.
func TestChartsBoundedWhateverTheData(t *testing.T) {
	bad := []float64{3e15, math.Inf(1), math.Inf(-1), math.NaN(), 0, -5, 1e308, math.MaxFloat64, 5e-324}
	start := time.Now()
	for _, xLog := range []bool{false, true} {
		for _, yLog := range []bool{false, true} {
			for _, v := range bad {
				for _, other := range []float64{50, v, 3e15 + 1} {
					c := lineChart{title: "t", xLog: xLog, yLog: yLog, xBase2: xLog, yZero: !yLog,
						series:   []series{{name: "s", line: true, points: []point{{1, 50}, {2, v}, {v, other}, {3, other}}}},
						ceilings: []ceiling{{label: "peak", y: v}, {label: "bw", slope: v, cap: v}}}
					checkSVG(t, c.svg())
				}
			}
		}
	}
	for _, v := range bad {
		checkSVG(t, barChart("b", "y", []bar{{label: "a", value: v}, {label: "b", value: 1}}, v, "ref"))
		checkSVG(t, barChart("b", "y", nil, v, ""))
		checkSVG(t, stackChart("s", "x", []string{"a"}, []stack{{label: "a", parts: []float64{v, 1}}}))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("charts of bad data took %v", d)
	}
}

func checkSVG(t *testing.T, svg string) {
	t.Helper()
	if len(svg) > 200_000 {
		t.Fatalf("chart of %d bytes", len(svg))
	}
	for _, bad := range []string{"NaN", "Inf"} {
		if strings.Contains(svg, bad) {
			i := strings.Index(svg, bad)
			t.Fatalf("%s in the SVG: …%s…", bad, svg[max(0, i-300):min(len(svg), i+50)])
		}
	}
	if n := strings.Count(svg, `class="tick"`); n > 4*maxTicks+40 {
		t.Fatalf("%d ticks", n)
	}
}

// TestTicksBounded: the tick loops end for any range, including those
// where a step is lost to rounding (3e15 + 0.2 == 3e15).
func TestTicksBounded(t *testing.T) {
	for _, s := range []scale{
		{lo: 3e15, hi: 3e15 + 1}, {lo: 0, hi: 3e15}, {lo: -1e308, hi: 1e308}, {lo: 5e-324, hi: 1e308, log: true},
		{lo: 0, hi: 10, log: true}, {lo: math.NaN(), hi: 1}, {lo: 1, hi: math.Inf(1), log: true}, {lo: 10, hi: 1},
	} {
		for _, base2 := range []bool{false, true} {
			if ts := s.ticks(base2); len(ts) > maxTicks+1 {
				t.Errorf("%+v: %d ticks", s, len(ts))
			}
		}
	}
	// Ordinary ranges keep their nice ticks.
	if ts := (scale{lo: 0, hi: 1000}).ticks(false); len(ts) != 6 || ts[5] != 1000 {
		t.Errorf("0–1000: %v", ts)
	}
	if ts := (scale{lo: 1000, hi: 16384, log: true}).ticks(true); len(ts) != 5 || ts[0] != 1024 {
		t.Errorf("1000–16384 base 2: %v", ts)
	}
}
