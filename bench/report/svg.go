package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
)

// This file draws the report's charts as inline SVG: axes with units, log
// or linear scales, lines with markers, ceilings, and bars. Nothing is
// fetched and nothing runs in the browser.

// palette is the Okabe–Ito set: distinguishable with colour-vision
// deficiencies; markers and dashes keep series apart in grey print.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// dtypeColor gives each dtype one colour and marker across the report.
func dtypeStyle(dtype string) (color string, marker int) {
	for i, d := range []string{"bf16", "fp16", "fp32", "fp64", "tf32", "fp8e4m3"} {
		if d == dtype {
			return palette[i], i
		}
	}
	return palette[6], 4
}

const (
	chartW  = 760.0
	chartH  = 340.0
	marginL = 72.0
	marginR = 170.0
	marginT = 16.0
	marginB = 52.0
)

type scale struct {
	lo, hi   float64
	log      bool
	px0, px1 float64
}

// at maps a value to pixels; whatever the value (zero or negative on a log
// scale, NaN, infinite), the result is a finite coordinate near the plot.
func (s scale) at(v float64) float64 {
	a, b, x := s.lo, s.hi, v
	if s.log {
		if x <= 0 {
			x = a
		}
		a, b, x = math.Log10(a), math.Log10(b), math.Log10(x)
	}
	if b == a || !isFinite(a) || !isFinite(b) {
		return (s.px0 + s.px1) / 2
	}
	p := s.px0 + (x-a)/(b-a)*(s.px1-s.px0)
	lo, hi := math.Min(s.px0, s.px1), math.Max(s.px0, s.px1)
	switch {
	case math.IsNaN(p):
		return (s.px0 + s.px1) / 2
	case p < lo-chartH:
		return lo - chartH
	case p > hi+chartH:
		return hi + chartH
	}
	return p
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// maxTicks bounds the ticks of an axis whatever its range.
const maxTicks = 12

// thin keeps at most maxTicks evenly spaced ticks.
func thin(ts []float64) []float64 {
	if len(ts) <= maxTicks {
		return ts
	}
	stride := (len(ts) + maxTicks - 1) / maxTicks
	var out []float64
	for i := 0; i < len(ts); i += stride {
		out = append(out, ts[i])
	}
	return out
}

// ticks returns tick values: decades (with 2 and 5 when few) or powers of
// two on a log scale, "nice" steps on a linear one; never more than
// maxTicks, and none for a range that is not finite.
func (s scale) ticks(base2 bool) []float64 {
	if !isFinite(s.lo) || !isFinite(s.hi) || s.hi < s.lo || s.log && s.lo <= 0 {
		return nil
	}
	var out []float64
	if s.log && base2 {
		e0, e1 := math.Ceil(math.Log2(s.lo)), math.Floor(math.Log2(s.hi*1.0001))
		if e1-e0 > 2048 {
			return nil
		}
		for e := e0; e <= e1; e++ {
			out = append(out, math.Pow(2, e))
		}
		return thin(out)
	}
	if s.log {
		lo, hi := math.Floor(math.Log10(s.lo)), math.Ceil(math.Log10(s.hi))
		if hi-lo > 700 {
			return nil
		}
		steps := []float64{1}
		if math.Log10(s.hi/s.lo) <= 2.5 {
			steps = []float64{1, 2, 5}
		}
		for e := lo; e <= hi; e++ {
			for _, m := range steps {
				v := m * math.Pow(10, e)
				if v >= s.lo*0.9999 && v <= s.hi*1.0001 {
					out = append(out, v)
				}
			}
		}
		return thin(out)
	}
	step := niceStep((s.hi - s.lo) / 5)
	start := math.Ceil(s.lo/step) * step
	n := math.Floor((s.hi + step*1e-9 - start) / step)
	if !isFinite(n) || n < 0 || n > 1000 {
		return []float64{s.lo, s.hi}
	}
	for i := 0; i <= int(n); i++ {
		out = append(out, start+float64(i)*step)
	}
	return thin(out)
}

func niceStep(raw float64) float64 {
	if raw <= 0 || !isFinite(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// tickText formats a tick value compactly.
func tickText(v float64, si bool) string {
	if math.Abs(v) < 1e-9 {
		return "0"
	}
	if si {
		return siText(v)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func siText(v float64) string {
	for _, p := range []struct {
		f float64
		s string
	}{{1e15, " P"}, {1e12, " T"}, {1e9, " G"}, {1e6, " M"}, {1e3, " k"}} {
		if math.Abs(v) >= p.f {
			return strconv.FormatFloat(v/p.f, 'g', 3, 64) + p.s
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

type point struct{ x, y float64 }

// series is one line or set of markers.
type series struct {
	// id names the series in the SVG (data-series); name is its legend.
	id     string
	name   string
	color  string
	marker int
	dash   string
	points []point
	line   bool
}

// ceiling is a horizontal limit, or with slope > 0 the line y = slope·x
// capped at y ≤ cap.
type ceiling struct {
	label string
	color string
	y     float64
	slope float64
	cap   float64
}

// lineChart is an x–y chart.
type lineChart struct {
	title          string
	xLabel, yLabel string
	xLog, yLog     bool
	xBase2         bool
	xSI, ySI       bool
	yZero          bool // the linear y axis starts at zero
	// legendBelow puts the legend under the plot, one full-width line per
	// series (for long names such as machine types).
	legendBelow bool
	series      []series
	ceilings    []ceiling
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

func esc(s string) string { return html.EscapeString(s) }

func (b *svgBuf) open(title string) { b.openSized(title, chartH) }

// openSized opens an SVG of the chart width and the given height.
func (b *svgBuf) openSized(title string, h float64) {
	b.f(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, chartW, h, esc(title))
	b.f(`<title>%s</title>`, esc(title))
}

func (b *svgBuf) marker(kind int, x, y float64, color string) {
	const r = 4.5
	switch kind % 5 {
	case 0:
		b.f(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`, x, y, r, color)
	case 1:
		b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x-r, y-r, 2*r, 2*r, color)
	case 2:
		b.f(`<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fZ" fill="%s"/>`, x, y-r-1, x+r+1, y+r, x-r-1, y+r, color)
	case 3:
		b.f(`<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ" fill="%s"/>`, x, y-r-1, x+r+1, y, x, y+r+1, x-r-1, y, color)
	default:
		b.f(`<path d="M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f" stroke="%s" stroke-width="2.5"/>`, x-r, y-r, x+r, y+r, x-r, y+r, x+r, y-r, color)
	}
}

// axes draws the frame, grid, ticks and labels.
func (b *svgBuf) axes(xs, ys scale, c lineChart) {
	x0, x1, y0, y1 := xs.px0, xs.px1, ys.px0, ys.px1
	for _, t := range ys.ticks(false) {
		y := ys.at(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x0, y, x1, y)
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`, x0-6, y+4, esc(tickText(t, c.ySI)))
	}
	for _, t := range xs.ticks(c.xBase2) {
		x := xs.at(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x, y0, x, y1)
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, x, y0+16, esc(tickText(t, c.xSI)))
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="frame"/>`, x0, y1, x1-x0, y0-y1)
	b.f(`<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%s</text>`, (x0+x1)/2, chartH-10, esc(c.xLabel))
	b.f(`<text transform="translate(16 %.1f) rotate(-90)" class="axis" text-anchor="middle">%s</text>`, (y0+y1)/2, esc(c.yLabel))
}

// bounds returns an axis range holding vals (those that are finite, and
// positive on a log scale) with a margin; always lo < hi, both finite.
func bounds(vals []float64, log bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if log && v <= 0 || !isFinite(v) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) {
		return 1, 10
	}
	if log {
		if hi/lo < 4 {
			mid := math.Sqrt(lo) * math.Sqrt(hi)
			lo, hi = mid/2, mid*2
		}
		lo, hi = lo/1.3, hi*1.3
		if !isFinite(hi) || lo <= 0 || !isFinite(lo) {
			lo, hi = math.Max(lo, math.SmallestNonzeroFloat64*1e10), math.MaxFloat64/10
		}
		return lo, hi
	}
	if hi-lo <= 1e-9*math.Max(math.Abs(lo), math.Abs(hi)) {
		d := math.Max(math.Abs(lo)*0.05, 1)
		lo, hi = lo-d, hi+d
	}
	pad := (hi - lo) * 0.08
	if !isFinite(pad) {
		return lo, hi
	}
	return lo - pad, hi + pad
}

// finite returns the chart without points that cannot be drawn (NaN,
// infinite, or not positive on a log axis) and ceilings that are not
// finite.
func (c lineChart) finite() lineChart {
	ok := func(v float64, log bool) bool { return isFinite(v) && (!log || v > 0) }
	var ss []series
	for _, s := range c.series {
		var pts []point
		for _, p := range s.points {
			if ok(p.x, c.xLog) && ok(p.y, c.yLog) {
				pts = append(pts, p)
			}
		}
		s.points = pts
		ss = append(ss, s)
	}
	c.series = ss
	var cs []ceiling
	for _, cl := range c.ceilings {
		if cl.slope != 0 && isFinite(cl.slope) && cl.slope > 0 || cl.slope == 0 && ok(cl.y, c.yLog) {
			cs = append(cs, cl)
		}
	}
	c.ceilings = cs
	return c
}

// svg renders the chart.
func (c lineChart) svg() string {
	c = c.finite()
	var xv, yv []float64
	for _, s := range c.series {
		for _, p := range s.points {
			xv = append(xv, p.x)
			yv = append(yv, p.y)
		}
	}
	for _, cl := range c.ceilings {
		if cl.slope == 0 {
			yv = append(yv, cl.y)
		}
	}
	c.ceilings = mergeCeilings(c.ceilings)
	xlo, xhi := bounds(xv, c.xLog)
	ylo, yhi := bounds(yv, c.yLog)
	if c.yZero && !c.yLog {
		ylo = 0
		if step := niceStep(yhi / 5); step > 0 {
			yhi = math.Ceil(yhi/step) * step
		}
	}
	xs := scale{xlo, xhi, c.xLog, marginL, chartW - marginR}
	ys := scale{ylo, yhi, c.yLog, chartH - marginB, marginT}
	var b svgBuf
	named := 0
	for _, s := range c.series {
		if s.name != "" {
			named++
		}
	}
	if c.legendBelow {
		b.openSized(c.title, chartH+8+20*float64(named))
	} else {
		b.open(c.title)
	}
	b.axes(xs, ys, c)
	b.f(`<g class="ceilings">`)
	for _, cl := range c.ceilings {
		if cl.slope > 0 {
			// y = slope·x from the left edge to where it meets cap.
			xa := xlo
			xb := math.Min(xhi, cl.cap/cl.slope)
			ya, yb := cl.slope*xa, cl.slope*xb
			if ya < ylo {
				xa, ya = ylo/cl.slope, ylo
			}
			if xb > xa {
				b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="2 3"/>`,
					xs.at(xa), ys.at(ya), xs.at(xb), ys.at(yb), cl.color)
				b.f(`<text x="%.1f" y="%.1f" class="note" fill="%s">%s</text>`, xs.at(xa)+4, ys.at(ya)-6, cl.color, esc(cl.label))
			}
			continue
		}
		y := ys.at(cl.y)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="7 4"/>`, xs.px0, y, xs.px1, y, cl.color)
		b.f(`<text x="%.1f" y="%.1f" class="note" text-anchor="end" fill="%s">%s</text>`, xs.px1-4, y-5, cl.color, esc(cl.label))
	}
	b.f(`</g>`)
	for _, s := range c.series {
		pts := append([]point(nil), s.points...)
		sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		if s.id != "" {
			b.f(`<g class="series" data-series="%s">`, esc(s.id))
		}
		if s.line && len(pts) > 1 {
			var d strings.Builder
			for i, p := range pts {
				cmd := "L"
				if i == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&d, "%s%.1f %.1f", cmd, xs.at(p.x), ys.at(p.y))
			}
			b.f(`<path d="%s" fill="none" stroke="%s" stroke-width="2.2" stroke-dasharray="%s"/>`, d.String(), s.color, s.dash)
		}
		for _, p := range pts {
			b.marker(s.marker, xs.at(p.x), ys.at(p.y), s.color)
		}
		if s.id != "" {
			b.f(`</g>`)
		}
	}
	if c.legendBelow {
		b.legendAt(c.series, marginL, chartH+14)
	} else {
		b.legend(c.series)
	}
	b.f(`</svg>`)
	return b.String()
}

func (b *svgBuf) legend(ss []series) { b.legendAt(ss, chartW-marginR+14, marginT+8) }

// legendAt draws one legend line per named series from (x, y) down.
func (b *svgBuf) legendAt(ss []series, x, y float64) {
	seen := map[string]bool{}
	for _, s := range ss {
		if seen[s.name] || s.name == "" {
			continue
		}
		seen[s.name] = true
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.2" stroke-dasharray="%s"/>`, x, y, x+22, y, s.color, s.dash)
		b.marker(s.marker, x+11, y, s.color)
		b.f(`<text x="%.1f" y="%.1f" class="legend">%s</text>`, x+28, y+4, esc(s.name))
		y += 20
	}
}

// bar is one bar of a bar chart.
type bar struct {
	label string
	value float64
	color string
	note  string
}

// barChart draws vertical bars from zero with an optional reference line.
func barChart(title, yLabel string, bars []bar, ref float64, refLabel string) string {
	var b svgBuf
	b.open(title)
	top := 0.0
	if isFinite(ref) && ref > 0 && ref < 1e300 {
		top = ref
	} else {
		ref = 0
	}
	var kept []bar
	for _, x := range bars {
		if isFinite(x.value) && x.value >= 0 && x.value < 1e300 {
			kept = append(kept, x)
			top = math.Max(top, x.value)
		}
	}
	bars = kept
	if top <= 0 || top > 1e300 {
		top, ref = 1, 0
	}
	step := niceStep(top * 1.1 / 5)
	ys := scale{0, math.Ceil(top*1.1/step) * step, false, chartH - marginB, marginT}
	x0, x1 := marginL, chartW-marginR
	for _, t := range ys.ticks(false) {
		y := ys.at(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x0, y, x1, y)
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`, x0-6, y+4, esc(tickText(t, false)))
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="frame"/>`, x0, ys.px1, x1-x0, ys.px0-ys.px1)
	b.f(`<text transform="translate(16 %.1f) rotate(-90)" class="axis" text-anchor="middle">%s</text>`, (ys.px0+ys.px1)/2, esc(yLabel))
	slot := (x1 - x0) / float64(max(len(bars), 1))
	w := math.Min(slot*0.6, 90)
	for i, x := range bars {
		cx := x0 + slot*(float64(i)+0.5)
		y := ys.at(x.value)
		b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, cx-w/2, y, w, ys.px0-y, x.color)
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, cx, y-5, esc(tickText(roundTo(x.value, 3), false)))
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, cx, ys.px0+16, esc(x.label))
		if x.note != "" {
			b.f(`<text x="%.1f" y="%.1f" class="note" text-anchor="middle" fill="%s">%s</text>`, cx, ys.px0+32, x.color, esc(x.note))
		}
	}
	if ref > 0 {
		y := ys.at(ref)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="1.5" stroke-dasharray="7 4"/>`, x0, y, x1, y)
		b.f(`<text x="%.1f" y="%.1f" class="legend">%s</text>`, x1+8, y+4, esc(refLabel))
	}
	b.f(`</svg>`)
	return b.String()
}

func roundTo(v float64, sig int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(sig-1)-math.Floor(math.Log10(math.Abs(v))))
	if r := math.Round(v*p) / p; isFinite(r) {
		return r
	}
	return v
}

// stack is one horizontal bar split into parts.
type stack struct {
	label string
	parts []float64
}

// stackChart draws horizontal stacked bars; names and colors are the
// parts' legend.
func stackChart(title, xLabel string, names []string, stacks []stack) string {
	h := marginT + 46*float64(len(stacks)) + marginB
	var b svgBuf
	b.f(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s"><title>%s</title>`, chartW, h, esc(title), esc(title))
	top := 0.0
	for i, s := range stacks {
		sum := 0.0
		for j, p := range s.parts {
			if !isFinite(p) || p < 0 {
				stacks[i].parts[j] = 0
				continue
			}
			sum += p
		}
		top = math.Max(top, sum)
	}
	if top <= 0 || !isFinite(top) || top > math.MaxFloat64/100 {
		top = 1
	}
	step := niceStep(top / 5)
	xs := scale{0, math.Ceil(top/step) * step, false, marginL, chartW - marginR}
	y0 := h - marginB
	for _, t := range xs.ticks(false) {
		x := xs.at(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, x, marginT, x, y0)
		b.f(`<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%s</text>`, x, y0+16, esc(tickText(t, false)))
	}
	b.f(`<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%s</text>`, (xs.px0+xs.px1)/2, h-10, esc(xLabel))
	for i, s := range stacks {
		y := marginT + 46*float64(i)
		b.f(`<text x="%.1f" y="%.1f" class="tick">%s</text>`, xs.px0, y+12, esc(s.label))
		acc := 0.0
		for j, p := range s.parts {
			if p <= 0 {
				continue
			}
			xa, xb := xs.at(acc), xs.at(acc+p)
			b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="22" fill="%s" stroke="#fff"/>`, xa, y+17, xb-xa, palette[j%len(palette)])
			acc += p
		}
	}
	var ss []series
	for j, n := range names {
		ss = append(ss, series{name: n, color: palette[j%len(palette)], marker: 1})
	}
	b.legend(ss)
	b.f(`</svg>`)
	return b.String()
}

// mergeCeilings joins horizontal ceilings at the same height (bf16 and
// fp16 share a peak) into one line with one label, so labels never overlap.
func mergeCeilings(cs []ceiling) []ceiling {
	var out []ceiling
	for _, c := range cs {
		merged := false
		for i := range out {
			if c.slope == 0 && out[i].slope == 0 && out[i].y == c.y {
				if a, b := strings.Index(out[i].label, " peak "), strings.Index(c.label, " peak "); a > 0 && b > 0 {
					out[i].label = out[i].label[:a] + ", " + c.label[:b] + out[i].label[a:]
				}
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, c)
		}
	}
	return out
}
