package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// HTMLOptions are the optional inputs of the HTML report.
type HTMLOptions struct {
	// Compare carries the price lookup, the forecast and its reference
	// run, as for flopcast compare.
	Compare compare.Options
	// SweepGPUs are the GPU counts of the forecast's scaling curve; empty
	// draws none.
	SweepGPUs []int
}

// WriteHTML writes one self-contained HTML page comparing the inputs:
// inline CSS and SVG, no script, nothing fetched. Every chart has a plain
// table of its numbers under it; cells carry the exact value in data-value
// (SI base units: FLOP/s, B/s, s).
func WriteHTML(w io.Writer, inputs []compare.Input, opt HTMLOptions) error {
	t, err := compare.Build(inputs, opt.Compare)
	if err != nil {
		return err
	}
	p := &page{}
	p.head(t, inputs)
	p.comparison(t, "compare", "Machine types side by side")
	p.fleet(inputs) // merged fleet files: a column per node, copy-matrix heatmaps
	// Each column's GEMM points, for the overlay and the roofline.
	pts := make([][]typePoint, len(t.Columns))
	for i, c := range t.Columns {
		pts[i] = typePoints(c)
	}
	p.overlay(t, pts)
	p.costBars(t)
	p.rooflineAll(t, pts)
	p.forecast(t, opt)
	p.s("<section id=\"detail\"><h2>Per machine and per file</h2>\n<p>Open a section for the figures behind each column: the same comparison by machine and by results file, and each run's own charts.</p>\n")
	for _, by := range []compare.By{compare.ByMachine, compare.ByFile} {
		o := opt.Compare
		o.By, o.All, o.Estimate, o.RelativeTo = by, true, nil, ""
		if tb, err := compare.Build(inputs, o); err == nil {
			p.s("<details class=\"detail\" data-by=\"%s\"><summary>Every figure by %s (%d column%s)</summary>\n", by, by, len(tb.Columns), pl(len(tb.Columns)))
			p.comparison(tb, "compare-"+string(by), "")
			p.s("</details>\n")
		}
	}
	p.s("<details class=\"detail\" data-by=\"run\"><summary>Each run's charts: throughput, roofline, GPUs, block phases, clocks and temperature</summary>\n")
	p.throughput(t)
	p.roofline(t)
	p.perGPU(t)
	p.block(t)
	p.deviceState(t)
	p.s("</details></section>\n")
	p.s("</main></body></html>\n")
	_, err = io.WriteString(w, p.String())
	return err
}

type page struct {
	strings.Builder
	charts int
}

func (p *page) s(format string, args ...any) { fmt.Fprintf(p, format, args...) }

const css = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1a1a1a;background:#fff;margin:0}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}
.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{background:#f2f2f2}
td.best{font-weight:700;background:#e8f3ea}
td.missing,td.na{color:#777}
td.failed{color:#b00;font-weight:700}
figure{margin:12px 0 28px;break-inside:avoid}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;max-width:900px;display:block}
svg text{font-family:inherit}
.tick{font-size:12px;fill:#333}.axis{font-size:13px;fill:#111;font-weight:600}
.legend{font-size:12.5px;fill:#111}.note{font-size:12px}
.grid{stroke:#e3e3e3;stroke-width:1}.frame{fill:none;stroke:#888;stroke-width:1}
table.fallback{font-size:12px;color:#333}
.notes{font-size:13px;color:#444}
.na{color:#666;font-style:italic}
table.compare{display:block;overflow-x:auto;max-width:100%}
details.detail{margin:10px 0;border:1px solid #ddd;padding:4px 10px}
details.detail>summary{cursor:pointer;font-weight:600}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}}
`

func (p *page) head(t *compare.Table, inputs []compare.Input) {
	p.s("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	p.s(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` + "\n")
	p.s(`<meta name="viewport" content="width=device-width, initial-scale=1">` + "\n")
	p.s("<title>flopcast report</title>\n<style>%s</style></head>\n<body><main>\n", css)
	newest := inputs[0].File.Created
	for _, in := range inputs {
		if in.File.Created.After(newest) {
			newest = in.File.Created
		}
	}
	machines := 0
	for _, c := range t.Columns {
		machines += c.Machines
	}
	p.s("<h1>flopcast report</h1>\n<p class=\"sub\">%d machine type%s (%d machine%s) from %d results file%s; newest run %s. Every throughput was checked against a float64 reference.</p>\n",
		len(t.Columns), pl(len(t.Columns)), machines, pl(machines), len(inputs), pl(len(inputs)), newest.UTC().Format("2006-01-02 15:04 UTC"))
}

func pl(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func esch(s string) string { return html.EscapeString(s) }

func raw(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// comparison writes a comparison table (columns as columns) with its
// notes; a heading when title is given.
func (p *page) comparison(t *compare.Table, id, title string) {
	p.s("<section id=\"%s\">", id)
	if title != "" {
		p.s("<h2>%s</h2>\n", esch(title))
	}
	p.s("<table class=\"compare\" data-by=\"%s\"><thead><tr><th>figure</th><th>unit</th>", t.By)
	for _, c := range t.Columns {
		p.s("<th>%s</th>", esch(c.Label))
	}
	p.s("</tr></thead><tbody>\n")
	for _, r := range t.Rows {
		p.s("<tr><td>%s</td><td>%s</td>", esch(r.Name), esch(r.Unit))
		for _, c := range r.Cells {
			class := string(c.State)
			if c.Best {
				class = "best"
			}
			if c.State == compare.Unavailable {
				class = "na"
			}
			text := strings.TrimSuffix(c.Text(r.Unit), " *")
			if c.State == compare.Value {
				p.s(`<td class="%s" data-value="%s">%s</td>`, class, raw(c.Value), esch(text))
			} else {
				p.s(`<td class="%s">%s</td>`, class, esch(text))
			}
		}
		p.s("</tr>\n")
	}
	p.s("</tbody></table>\n<ul class=\"notes\">")
	for _, n := range t.Notes {
		if strings.HasPrefix(n, "*: best") {
			n = "bold: best in its row" + strings.TrimPrefix(n, "*: best in its row")
		}
		p.s("<li>%s</li>", esch(n))
	}
	p.s("</ul></section>\n")
}

// figure opens a chart's figure.
func (p *page) figure(kind, caption string) {
	p.charts++
	p.s("<figure class=\"chart-figure\" data-chart=\"%s\" id=\"chart-%d\"><figcaption>%s</figcaption>\n", kind, p.charts, esch(caption))
}

// fallback writes the plain table under a chart.
func (p *page) fallback(kind string, header []string, rows [][]cell) {
	p.s("<table class=\"fallback\" data-chart=\"%s\"><thead><tr>", kind)
	for _, h := range header {
		p.s("<th>%s</th>", esch(h))
	}
	p.s("</tr></thead><tbody>\n")
	for _, r := range rows {
		p.s("<tr>")
		for _, c := range r {
			attr := ""
			if c.value != nil {
				attr = fmt.Sprintf(` data-value="%s"`, raw(*c.value))
			}
			if c.key != "" {
				attr += fmt.Sprintf(` data-key="%s"`, esch(c.key))
			}
			p.s("<td%s>%s</td>", attr, esch(c.text))
		}
		p.s("</tr>\n")
	}
	p.s("</tbody></table></figure>\n")
}

// cell is a fallback-table cell: its text, the exact number behind it,
// and a key naming the figure for tools.
type cell struct {
	text  string
	value *float64
	key   string
}

func txt(s string) cell { return cell{text: s} }

func num(v float64, text, key string) cell { return cell{text: text, value: &v, key: key} }

// gemmPoint is one GEMM configuration of a machine: the median over its
// devices of each device's throughput.
type gemmPoint struct {
	dtype, label string
	shape        kernels.GEMMShape
	flops        float64 // FLOP/s
	bytes        float64 // bytes per call
	callFLOPs    float64
}

func gemmPoints(m compare.Machine) []gemmPoint {
	type key struct {
		dtype, label string
		shape        kernels.GEMMShape
	}
	per := map[key]map[string][]float64{}
	info := map[key]result.Measurement{}
	var keys []key
	for _, x := range m.Measurements {
		if x.Workload != compare.WorkloadGEMM || x.Status != result.StatusOK || !x.Verified || x.FLOPPerSecond <= 0 {
			continue
		}
		label := x.Label
		if label == "" {
			label = "square"
		}
		k := key{x.DType, label, x.Shape}
		if per[k] == nil {
			per[k] = map[string][]float64{}
			keys = append(keys, k)
			info[k] = x
		}
		per[k][x.Device] = append(per[k][x.Device], x.FLOPPerSecond)
	}
	var out []gemmPoint
	for _, k := range keys {
		var devs []float64
		for _, vs := range per[k] {
			devs = append(devs, medianOf(vs))
		}
		x := info[k]
		b := float64(x.Bytes)
		if b <= 0 {
			if d, err := kernels.ParseDType(k.dtype); err == nil {
				b = float64(k.shape.Bytes(d))
			}
		}
		out = append(out, gemmPoint{k.dtype, k.label, k.shape, medianOf(devs), b, k.shape.FLOPs()})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].dtype != out[j].dtype {
			return dtypeOrder(out[i].dtype) < dtypeOrder(out[j].dtype)
		}
		return out[i].callFLOPs < out[j].callFLOPs
	})
	return out
}

func dtypeOrder(d string) int {
	for i, n := range []string{"bf16", "fp16", "fp8e4m3", "tf32", "fp32", "fp64"} {
		if n == d {
			return i
		}
	}
	return 99
}

func medianOf(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rateScale picks TFLOP/s or GFLOP/s for a top value.
func rateScale(top float64) (string, float64) {
	if top >= 1e12 {
		return "TFLOP/s", 1e12
	}
	return "GFLOP/s", 1e9
}

func (p *page) throughput(t *compare.Table) {
	p.s("<section id=\"run-throughput\"><h3>Each run: GEMM throughput against size</h3>\n<p>One line per dtype; the dashed line of the same colour is the device's dense peak. Size is ∛(m·n·k): N for an N×N×N product. Several GPUs: the median GPU.</p>\n")
	for _, m := range t.Machines {
		pts := gemmPoints(m)
		if len(pts) == 0 {
			continue
		}
		top := 0.0
		for _, g := range pts {
			top = math.Max(top, math.Max(g.flops, m.Peak(g.dtype)))
		}
		unit, sc := rateScale(top)
		c := lineChart{title: "GEMM throughput against size: " + m.Label, xLabel: "matrix size ∛(m·n·k), log scale",
			yLabel: "throughput (" + unit + ")", xLog: true, xBase2: true, yZero: true}
		byDType := map[string]int{}
		var rows [][]cell
		for _, g := range pts {
			color, mk := dtypeStyle(g.dtype)
			i, ok := byDType[g.dtype]
			if !ok {
				i = len(c.series)
				byDType[g.dtype] = i
				c.series = append(c.series, series{name: g.dtype, color: color, marker: mk, line: true})
				if pk := m.Peak(g.dtype); pk > 0 {
					c.ceilings = append(c.ceilings, ceiling{label: fmt.Sprintf("%s peak %s %s", g.dtype, compare.FormatValue(pk/sc, ""), unit), color: color, y: pk / sc})
				}
			}
			size := math.Cbrt(float64(g.shape.M) * float64(g.shape.N) * float64(g.shape.K))
			c.series[i].points = append(c.series[i].points, point{size, g.flops / sc})
			peak := "—"
			if pk := m.Peak(g.dtype); pk > 0 {
				peak = fmt.Sprintf("%.0f%%", 100*g.flops/pk)
			}
			rows = append(rows, []cell{txt(g.dtype), txt(g.label), txt(g.shape.String()),
				num(g.flops, compare.FormatValue(g.flops/sc, "")+" "+unit, m.Label+"|"+g.dtype+"|"+g.label+"|"+g.shape.String()), txt(peak)})
		}
		p.figure("run-throughput", m.Label)
		p.s("%s\n", c.svg())
		p.fallback("run-throughput", []string{"dtype", "role", "m×n×k", "throughput", "% of peak"}, rows)
	}
	p.s("</section>\n")
}

// bestBandwidth is a machine's best measured memory bandwidth in B/s (the
// median over its devices of each device's best), or 0.
func bestBandwidth(m compare.Machine) float64 {
	best := map[string]float64{}
	for _, x := range m.Measurements {
		if bw := compare.BandwidthBytesPerSecond(x); bw > 0 {
			best[x.Device] = math.Max(best[x.Device], bw)
		}
	}
	var vs []float64
	for _, v := range best {
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return 0
	}
	return medianOf(vs)
}

func (p *page) roofline(t *compare.Table) {
	p.s("<section id=\"run-roofline\"><h3>Each run: roofline</h3>\n<p>Achieved FLOP/s against arithmetic intensity (FLOPs per byte of least memory traffic), both on log scales. Horizontal dashed lines: the dense compute peak per dtype; the dotted slope: the measured memory bandwidth × intensity.</p>\n")
	for _, m := range t.Machines {
		pts := gemmPoints(m)
		if len(pts) == 0 {
			continue
		}
		c := lineChart{title: "Roofline: " + m.Label, xLabel: "arithmetic intensity (FLOP/byte), log scale",
			yLabel: "achieved FLOP/s, log scale", xLog: true, yLog: true, xSI: true, ySI: true}
		idx := map[string]int{}
		var rows [][]cell
		maxPeak := 0.0
		for _, g := range pts {
			if g.bytes <= 0 {
				continue
			}
			color, mk := dtypeStyle(g.dtype)
			i, ok := idx[g.dtype]
			if !ok {
				i = len(c.series)
				idx[g.dtype] = i
				c.series = append(c.series, series{name: g.dtype, color: color, marker: mk})
				if pk := m.Peak(g.dtype); pk > 0 {
					maxPeak = math.Max(maxPeak, pk)
					c.ceilings = append(c.ceilings, ceiling{label: fmt.Sprintf("%s peak %sFLOP/s", g.dtype, siText(pk)), color: color, y: pk})
				}
			}
			ai := g.callFLOPs / g.bytes
			c.series[i].points = append(c.series[i].points, point{ai, g.flops})
			rows = append(rows, []cell{txt(g.dtype), txt(g.shape.String()), num(ai, fmt.Sprintf("%.1f", ai), ""),
				num(g.flops, siText(g.flops)+"FLOP/s", m.Label+"|"+g.dtype+"|"+g.label+"|"+g.shape.String())})
		}
		bw := bestBandwidth(m)
		note := ""
		if bw > 0 {
			capY := maxPeak
			if capY == 0 {
				capY = math.Inf(1)
			}
			c.ceilings = append(c.ceilings, ceiling{label: fmt.Sprintf("memory %sB/s", siText(bw)), color: "#444", slope: bw, cap: capY})
			// Keep the ridge point on the chart.
			if maxPeak > 0 {
				c.series = append(c.series, series{points: []point{{maxPeak / bw / 8, maxPeak / 8}}, color: "none"})
			}
		} else {
			note = " No memory-bandwidth measurement in this file: the bandwidth ceiling is not drawn."
		}
		p.figure("run-roofline", m.Label+"."+note)
		p.s("%s\n", c.svg())
		header := []string{"dtype", "m×n×k", "FLOP/byte", "achieved"}
		if bw > 0 {
			rows = append(rows, []cell{txt("memory"), txt("bandwidth"), txt("—"), num(bw, siText(bw)+"B/s", m.Label+"|bandwidth")})
		}
		p.fallback("run-roofline", header, rows)
	}
	p.s("</section>\n")
}

// straggler is how far below the median device a device must be to be
// highlighted.
const straggler = 0.95

func (p *page) perGPU(t *compare.Table) {
	var multi []compare.Machine
	for _, m := range t.Machines {
		if len(m.DeviceIDs) > 1 {
			multi = append(multi, m)
		}
	}
	if len(multi) == 0 {
		return
	}
	p.s("<section id=\"gpus\"><h3>Per-GPU throughput</h3>\n<p>The largest bf16 GEMM (or the largest of any dtype) on each device. A device more than %.0f%% below the median device is a straggler, drawn in red.</p>\n", 100*(1-straggler))
	for _, m := range multi {
		type devKey struct{ dtype, shape string }
		per := map[devKey]map[string]float64{}
		var keys []devKey
		flopsOf := map[devKey]float64{}
		for _, x := range m.Measurements {
			if x.Workload != compare.WorkloadGEMM || x.FLOPPerSecond <= 0 || !x.Verified {
				continue
			}
			k := devKey{x.DType, x.Shape.String()}
			if per[k] == nil {
				per[k] = map[string]float64{}
				keys = append(keys, k)
				flopsOf[k] = x.FLOPs
			}
			per[k][x.Device] = x.FLOPPerSecond
		}
		// The chart's configuration: on every device, bf16 first, largest.
		var pick *devKey
		for i := range keys {
			k := keys[i]
			if len(per[k]) != len(m.DeviceIDs) {
				continue
			}
			if pick == nil || (k.dtype == "bf16") != (pick.dtype == "bf16") && k.dtype == "bf16" ||
				(k.dtype == "bf16") == (pick.dtype == "bf16") && flopsOf[k] > flopsOf[*pick] {
				pick = &keys[i]
			}
		}
		if pick == nil {
			continue
		}
		var vals []float64
		for _, v := range per[*pick] {
			vals = append(vals, v)
		}
		med := medianOf(vals)
		unit, sc := rateScale(med)
		var bars []bar
		for _, id := range m.DeviceIDs {
			v := per[*pick][id]
			b := bar{label: id, value: v / sc, color: palette[0]}
			if v < straggler*med {
				b.color, b.note = palette[1], fmt.Sprintf("straggler %.0f%%", 100*v/med)
			}
			bars = append(bars, b)
		}
		title := fmt.Sprintf("%s: %s %s per GPU", m.Label, pick.dtype, pick.shape)
		p.figure("gpus", title)
		p.s("%s\n", barChart(title, "throughput ("+unit+")", bars, med/sc, "median GPU"))
		var rows [][]cell
		for _, k := range keys {
			var vs []float64
			for _, v := range per[k] {
				vs = append(vs, v)
			}
			kmed := medianOf(vs)
			for _, id := range m.DeviceIDs {
				v, ok := per[k][id]
				if !ok {
					rows = append(rows, []cell{txt(id), txt(k.dtype), txt(k.shape), txt("missing"), txt("—"), txt("")})
					continue
				}
				flag := ""
				if v < straggler*kmed {
					flag = "straggler"
				}
				u, s := rateScale(v)
				rows = append(rows, []cell{txt(id), txt(k.dtype), txt(k.shape),
					num(v, compare.FormatValue(v/s, "")+" "+u, m.Label+"|"+id+"|"+k.dtype+"|"+k.shape),
					txt(fmt.Sprintf("%.1f%%", 100*v/kmed)), txt(flag)})
			}
		}
		p.fallback("gpus", []string{"device", "dtype", "m×n×k", "throughput", "% of median GPU", ""}, rows)
	}
	p.s("</section>\n")
}

var phases = []string{"forward", "backward", "optimizer"}

func (p *page) block(t *compare.Table) {
	opened := false
	for _, m := range t.Machines {
		var stacks []stack
		var rows [][]cell
		for _, x := range m.Measurements {
			if x.Workload != compare.WorkloadBlock || x.Block == nil || x.Seconds == nil || x.Status != result.StatusOK {
				continue
			}
			label := fmt.Sprintf("%s · %s", x.Device, compare.BlockName(x))
			key := m.Label + "|" + label
			s := stack{label: label}
			sum := 0.0
			r := []cell{txt(x.Device), txt(compare.BlockName(x))}
			for _, ph := range phases {
				v := x.Block.PhaseSeconds[ph]
				sum += v
				s.parts = append(s.parts, v*1e3)
				r = append(r, num(v, fmt.Sprintf("%.2f ms", v*1e3), key+"|"+ph))
			}
			other := math.Max(0, x.Seconds.Median-sum)
			if other < 1e-3*x.Seconds.Median {
				other = 0
			}
			s.parts = append(s.parts, other*1e3)
			r = append(r, num(other, fmt.Sprintf("%.2f ms", other*1e3), key+"|other"),
				num(x.Seconds.Median, fmt.Sprintf("%.2f ms", x.Seconds.Median*1e3), key+"|step"))
			stacks = append(stacks, s)
			rows = append(rows, r)
		}
		if len(stacks) == 0 {
			continue
		}
		if !opened {
			p.s("<section id=\"block\"><h3>Transformer-block step by phase</h3>\n<p>The median training step of one transformer block split into forward, backward and optimizer; \"not split\" is the rest of the median step.</p>\n")
			opened = true
		}
		title := "Block step time by phase: " + m.Label
		p.figure("block", title)
		p.s("%s\n", stackChart(title, "step time (ms)", append(append([]string(nil), phases...), "not split"), stacks))
		p.fallback("block", []string{"device", "block", "forward", "backward", "optimizer", "not split", "median step"}, rows)
	}
	if opened {
		p.s("</section>\n")
	}
}

// plausible returns v when it is a finite reading above zero and at most
// limit, else 0 (not drawn).
func plausible(v, limit float64) float64 {
	if v > 0 && v <= limit {
		return v
	}
	return 0
}

func (p *page) deviceState(t *compare.Table) {
	type metric struct {
		name, unit string
		get        func(*result.State) float64
	}
	// Readings beyond these are not physical (a corrupt or crafted file):
	// they are left out of the charts.
	metrics := []metric{
		{"clock", "MHz", func(s *result.State) float64 { return plausible(s.ClockMHz, 20000) }},
		{"temperature", "°C", func(s *result.State) float64 { return plausible(s.TempC, 250) }},
		{"power", "W", func(s *result.State) float64 { return plausible(s.PowerW, 10000) }},
	}
	opened := false
	for _, m := range t.Machines {
		var states []struct {
			dev string
			st  *result.State
		}
		for _, x := range m.Measurements {
			for _, st := range []*result.State{x.StateBefore, x.StateAfter} {
				if st != nil && !st.Time.IsZero() {
					states = append(states, struct {
						dev string
						st  *result.State
					}{x.Device, st})
				}
			}
		}
		if len(states) == 0 {
			continue
		}
		t0 := states[0].st.Time
		for _, s := range states {
			if s.st.Time.Before(t0) {
				t0 = s.st.Time
			}
		}
		for _, mt := range metrics {
			c := lineChart{title: fmt.Sprintf("%s during the run: %s", mt.name, m.Label),
				xLabel: "time since the first reading (s)", yLabel: mt.name + " (" + mt.unit + ")"}
			idx := map[string]int{}
			var rows [][]cell
			for _, s := range states {
				v := mt.get(s.st)
				if v <= 0 {
					continue
				}
				i, ok := idx[s.dev]
				if !ok {
					i = len(c.series)
					idx[s.dev] = i
					c.series = append(c.series, series{name: s.dev, color: palette[i%len(palette)], marker: i, line: true})
				}
				sec := s.st.Time.Sub(t0).Seconds()
				c.series[i].points = append(c.series[i].points, point{sec, v})
				rows = append(rows, []cell{txt(s.dev), txt(fmt.Sprintf("%.0f", sec)), num(v, fmt.Sprintf("%.0f %s", v, mt.unit), m.Label+"|"+s.dev+"|"+mt.name)})
			}
			if len(rows) == 0 {
				continue
			}
			if !opened {
				p.s("<section id=\"state\"><h3>Clocks, temperature and power during the run</h3>\n<p>Readings taken before and after each timed measurement.</p>\n")
				opened = true
			}
			p.figure("state", c.title)
			p.s("%s\n", c.svg())
			p.fallback("state", []string{"device", "time (s)", mt.name}, rows)
		}
	}
	if opened {
		p.s("</section>\n")
	}
}

func (p *page) forecast(t *compare.Table, opt HTMLOptions) {
	p.s("<section id=\"forecast\"><h2>Reference run: %s</h2>\n", esch(t.Reference.String()))
	est := opt.Compare.Estimate
	if est == nil {
		p.s("<p class=\"na\">forecast not available: this report was made without the forecast, so days and cost per instance type are not shown.</p></section>\n")
		return
	}
	var days, cost []bar
	var rows [][]cell
	for i, col := range t.Columns {
		m := col.Merged()
		e, err := est(m, t.Reference)
		if err != nil || e.Days <= 0 {
			why := "no forecast"
			if err != nil {
				why = err.Error()
			}
			rows = append(rows, []cell{txt(m.Label), txt(why), txt("—")})
			continue
		}
		color := palette[i%len(palette)]
		days = append(days, bar{label: shortLabel(m.Label), value: e.Days, color: color})
		c := txt("—")
		if e.CostUSD > 0 {
			cost = append(cost, bar{label: shortLabel(m.Label), value: e.CostUSD / 1e6, color: color})
			c = num(e.CostUSD, compare.FormatValue(e.CostUSD, "$"), m.Label+"|cost")
		}
		rows = append(rows, []cell{txt(m.Label), num(e.Days, fmt.Sprintf("%.1f", e.Days), m.Label+"|days"), c})
	}
	if len(days) > 0 {
		p.figure("forecast", "Days to train the reference run")
		p.s("%s\n", barChart("Days to train "+t.Reference.String(), "days", days, 0, ""))
		p.fallback("forecast", []string{"machine", "days", "cost"}, rows)
	} else {
		p.s("<p class=\"na\">forecast not available for these machines.</p>\n")
	}
	if len(cost) > 0 {
		p.figure("forecast-cost", "Cost of the reference run")
		p.s("%s\n", barChart("Cost to train "+t.Reference.String(), "cost (million $)", cost, 0, ""))
		p.fallback("forecast-cost", []string{"machine", "days", "cost"}, rows)
	}
	if len(opt.SweepGPUs) > 1 {
		c := lineChart{title: "Scaling: days to train against GPU count", xLabel: "GPUs, log scale", yLabel: "days, log scale",
			xLog: true, yLog: true, xBase2: true}
		var rows [][]cell
		for i, col := range t.Columns {
			m := col.Merged()
			s := series{name: shortLabel(m.Label), color: palette[i%len(palette)], marker: i, line: true}
			for _, n := range opt.SweepGPUs {
				ref := t.Reference
				ref.GPUs = n
				if e, err := est(m, ref); err == nil && e.Days > 0 {
					s.points = append(s.points, point{float64(n), e.Days})
					rows = append(rows, []cell{txt(m.Label), txt(strconv.Itoa(n)), num(e.Days, fmt.Sprintf("%.1f", e.Days), m.Label+"|"+strconv.Itoa(n))})
				}
			}
			if len(s.points) > 0 {
				c.series = append(c.series, s)
			}
		}
		if len(rows) > 0 {
			p.figure("scaling", c.title)
			p.s("%s\n", c.svg())
			p.fallback("scaling", []string{"machine", "GPUs", "days"}, rows)
		}
	}
	p.s("</section>\n")
}

// shortLabel keeps bar labels from overlapping.
func shortLabel(s string) string {
	if r := []rune(s); len(r) > 22 {
		return string(r[:21]) + "…"
	}
	return s
}
