package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// This file draws the charts that put machine types on the same axes:
// throughput against size per dtype, the cost bars, and one roofline.

// typePoint is one GEMM configuration of a machine type: the median over
// the type's runs of each run's figure (the median over its devices).
type typePoint struct {
	gemmPoint
	runs  int
	burst bool
}

// typePoints returns a column's GEMM configurations. Burst-timed and
// sustained figures are never merged: a configuration with sustained runs
// uses only those.
func typePoints(c compare.Column) []typePoint {
	type key struct {
		dtype, label string
		shape        kernels.GEMMShape
	}
	type acc struct {
		first      result.Measurement
		sus, burst []float64
	}
	per := map[key]*acc{}
	var keys []key
	for _, r := range c.Runs {
		// This run's values per configuration, timing and device.
		vals := map[key]map[bool]map[string][]float64{}
		for _, x := range r.Measurements {
			if x.Workload != compare.WorkloadGEMM || x.Status != result.StatusOK || !x.Verified || !(x.FLOPPerSecond > 0) || !isFinite(x.FLOPPerSecond) {
				continue
			}
			label := x.Label
			if label == "" {
				label = "square"
			}
			k := key{x.DType, label, x.Shape}
			if per[k] == nil {
				per[k] = &acc{first: x}
				keys = append(keys, k)
			}
			if vals[k] == nil {
				vals[k] = map[bool]map[string][]float64{}
			}
			b := x.BurstTiming()
			if vals[k][b] == nil {
				vals[k][b] = map[string][]float64{}
			}
			vals[k][b][x.Device] = append(vals[k][b][x.Device], x.FLOPPerSecond)
		}
		for k, byTiming := range vals {
			for b, devs := range byTiming {
				var ds []float64
				for _, vs := range devs {
					ds = append(ds, medianOf(vs))
				}
				if b {
					per[k].burst = append(per[k].burst, medianOf(ds))
				} else {
					per[k].sus = append(per[k].sus, medianOf(ds))
				}
			}
		}
	}
	var out []typePoint
	for _, k := range keys {
		a := per[k]
		bytes := float64(a.first.Bytes)
		if bytes <= 0 {
			if d, err := kernels.ParseDType(k.dtype); err == nil {
				bytes = float64(k.shape.Bytes(d))
			}
		}
		tp := typePoint{gemmPoint: gemmPoint{dtype: k.dtype, label: k.label, shape: k.shape, bytes: bytes, callFLOPs: k.shape.FLOPs()}}
		vs := a.sus
		if len(vs) == 0 {
			vs, tp.burst = a.burst, true
		}
		tp.flops, tp.runs = medianOf(vs), len(vs)
		out = append(out, tp)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].dtype != out[j].dtype {
			return dtypeOrder(out[i].dtype) < dtypeOrder(out[j].dtype)
		}
		return out[i].callFLOPs < out[j].callFLOPs
	})
	return out
}

// columnPeak is the dense peak of dtype on a column's devices, or 0.
func columnPeak(c compare.Column, dtype string) float64 {
	for _, r := range c.Runs {
		if pk := r.Peak(dtype); pk > 0 && isFinite(pk) {
			return pk
		}
	}
	return 0
}

func typeStyle(i int) (string, int) { return palette[i%len(palette)], i }

// overlay draws one chart per dtype with a line per machine type; pts
// holds each column's typePoints.
func (p *page) overlay(t *compare.Table, pts [][]typePoint) {
	var dtypes []string
	seen := map[string]bool{}
	for i := range t.Columns {
		for _, g := range pts[i] {
			if !seen[g.dtype] {
				seen[g.dtype] = true
				dtypes = append(dtypes, g.dtype)
			}
		}
	}
	if len(dtypes) == 0 {
		return
	}
	sort.SliceStable(dtypes, func(i, j int) bool { return dtypeOrder(dtypes[i]) < dtypeOrder(dtypes[j]) })
	p.s("<section id=\"throughput\"><h2>GEMM throughput against size, machine types overlaid</h2>\n<p>One chart per dtype, one line per machine type (square shapes; a type without squares in the dtype shows all its shapes); the dashed line of the same colour is that type's dense peak. Each point is the median over the type's runs of each run's median GPU. Size is ∛(m·n·k). ‡ marks burst-timed GPU figures (the old loop that waited after every call), never merged with sustained ones.</p>\n")
	for _, dt := range dtypes {
		top := 0.0
		for i, c := range t.Columns {
			for _, g := range pts[i] {
				if g.dtype == dt {
					top = math.Max(top, math.Max(g.flops, columnPeak(c, dt)))
				}
			}
		}
		unit, sc := rateScale(top)
		ch := lineChart{title: dt + " GEMM throughput against size, by machine type", xLabel: "matrix size ∛(m·n·k), log scale",
			yLabel: "throughput (" + unit + ")", xLog: true, xBase2: true, yZero: true, legendBelow: true}
		// Types far apart (a CPU beside a GPU) share a log axis, so that
		// the slower one's line is not flat on zero.
		lo := math.Inf(1)
		for i := range t.Columns {
			for _, g := range pts[i] {
				if g.dtype == dt && g.flops > 0 {
					lo = math.Min(lo, g.flops)
				}
			}
		}
		if top/lo > 50 {
			ch.yLog, ch.yZero, ch.yLabel = true, false, "throughput ("+unit+"), log scale"
		}
		var rows [][]cell
		for i, c := range t.Columns {
			square := false
			for _, g := range pts[i] {
				if g.dtype == dt && g.label == "square" {
					square = true
				}
			}
			color, mk := typeStyle(i)
			name := c.Label
			s := series{id: c.Label, name: name, color: color, marker: mk, line: true}
			burst := false
			for _, g := range pts[i] {
				if g.dtype != dt {
					continue
				}
				key := c.Label + "|" + g.dtype + "|" + g.label + "|" + g.shape.String()
				text := compare.FormatValue(g.flops/sc, "") + " " + unit
				if g.burst {
					text += " ‡"
					burst = true
				}
				rows = append(rows, []cell{txt(c.Label), txt(g.label), txt(g.shape.String()), num(g.flops, text, key), txt(fmt.Sprint(g.runs))})
				if square && g.label != "square" {
					continue
				}
				size := math.Cbrt(float64(g.shape.M) * float64(g.shape.N) * float64(g.shape.K))
				s.points = append(s.points, point{size, g.flops / sc})
			}
			if len(s.points) == 0 {
				continue
			}
			if burst {
				s.name += " ‡"
			}
			ch.series = append(ch.series, s)
			if pk := columnPeak(c, dt); pk > 0 {
				ch.ceilings = append(ch.ceilings, ceiling{label: fmt.Sprintf("%s peak %s", shortLabel(c.Label), compare.FormatValue(pk/sc, "")), color: color, y: pk / sc})
			}
		}
		if len(ch.series) == 0 {
			continue
		}
		p.figure("throughput", ch.title)
		p.s("%s\n", ch.svg())
		p.fallback("throughput", []string{"machine type", "role", "m×n×k", "throughput", "runs"}, rows)
	}
	p.s("</section>\n")
}

// costBars draws dollars per 10^18 FLOP and tokens per dollar by type.
func (p *page) costBars(t *compare.Table) {
	type chartRow struct {
		kind, title, unit string
		rows              []compare.Row
	}
	charts := []chartRow{
		{kind: "cost", title: "Dollars per 10^18 bf16 FLOP delivered (lower is better)", unit: "$"},
		{kind: "tokens-per-dollar", title: "Training tokens per dollar, block step (higher is better)", unit: "tokens/$"},
	}
	for _, r := range t.Rows {
		switch {
		case r.Name == compare.RowCostPerExaOps:
			charts[0].rows = append(charts[0].rows, r)
		case r.Section == compare.SectionCost && r.Unit == "tokens/$":
			charts[1].rows = append(charts[1].rows, r)
		}
	}
	opened := false
	for _, ch := range charts {
		var bars []bar
		var rows [][]cell
		for _, r := range ch.rows {
			cfg := strings.TrimPrefix(r.Name, "tokens per $ ")
			for i, c := range r.Cells {
				if c.State != compare.Value {
					continue
				}
				label := shortLabel(t.Columns[i].Label)
				key := t.Columns[i].Label + "|" + ch.kind
				what := ""
				if ch.kind == "tokens-per-dollar" {
					label = shortLabel(t.Columns[i].Label + " · " + cfg)
					key += "|" + cfg
					what = cfg
				}
				color, _ := typeStyle(i)
				v := c.Value
				if ch.kind == "tokens-per-dollar" {
					v /= 1e6
				}
				bars = append(bars, bar{label: label, value: v, color: color})
				text := c.Text(r.Unit)
				rows = append(rows, []cell{txt(t.Columns[i].Label), txt(what), num(c.Value, strings.TrimSuffix(text, " *"), key)})
			}
		}
		if len(bars) == 0 {
			continue
		}
		if !opened {
			p.s("<section id=\"cost\"><h2>What the money buys</h2>\n<p>Catalog prices per GPU-hour (dated; see the notes under the table) over measured speed. ‡: from burst-timed GPU figures.</p>\n")
			opened = true
		}
		yl := "$ per 10^18 FLOP"
		if ch.kind == "tokens-per-dollar" {
			yl = "million tokens per $"
		}
		p.figure(ch.kind, ch.title)
		p.s("%s\n", barChart(ch.title, yl, bars, 0, ""))
		p.fallback(ch.kind, []string{"machine type", "block", ch.unit}, rows)
	}
	if opened {
		p.s("</section>\n")
	}
}

// rooflineAll draws one roofline with every machine type: its GEMMs, its
// highest dense peak and its measured memory bandwidth; pts holds each
// column's typePoints.
func (p *page) rooflineAll(t *compare.Table, pts [][]typePoint) {
	c := lineChart{title: "Roofline: every machine type", xLabel: "arithmetic intensity (FLOP/byte), log scale",
		yLabel: "achieved FLOP/s, log scale", xLog: true, yLog: true, xSI: true, ySI: true, legendBelow: true}
	var rows [][]cell
	for i, col := range t.Columns {
		color, mk := typeStyle(i)
		s := series{id: col.Label, name: col.Label, color: color, marker: mk}
		maxPeak := 0.0
		for _, g := range pts[i] {
			if g.bytes <= 0 {
				continue
			}
			maxPeak = math.Max(maxPeak, columnPeak(col, g.dtype))
			ai := g.callFLOPs / g.bytes
			s.points = append(s.points, point{ai, g.flops})
			rows = append(rows, []cell{txt(col.Label), txt(g.dtype), txt(g.shape.String()), num(ai, fmt.Sprintf("%.1f", ai), ""),
				num(g.flops, siText(g.flops)+"FLOP/s", col.Label+"|"+g.dtype+"|"+g.label+"|"+g.shape.String())})
		}
		if len(s.points) == 0 {
			continue
		}
		c.series = append(c.series, s)
		if maxPeak > 0 {
			c.ceilings = append(c.ceilings, ceiling{label: fmt.Sprintf("%s peak %sFLOP/s", shortLabel(col.Label), siText(maxPeak)), color: color, y: maxPeak})
		}
		bw := 0.0
		for _, r := range t.Rows {
			if r.Section == compare.SectionBandwidth && r.Headline && r.Cells[i].State == compare.Value {
				bw = r.Cells[i].Value * 1e9
			}
		}
		if bw > 0 {
			capY := maxPeak
			if capY == 0 {
				capY = math.Inf(1)
			}
			c.ceilings = append(c.ceilings, ceiling{label: fmt.Sprintf("%s memory %sB/s", shortLabel(col.Label), siText(bw)), color: color, slope: bw, cap: capY})
			if maxPeak > 0 {
				c.series = append(c.series, series{points: []point{{maxPeak / bw / 8, maxPeak / 8}}, color: "none"})
			}
			rows = append(rows, []cell{txt(col.Label), txt("memory"), txt("bandwidth"), txt("—"), num(bw, siText(bw)+"B/s", col.Label+"|bandwidth")})
		}
	}
	if len(rows) == 0 {
		return
	}
	p.s("<section id=\"roofline\"><h2>Roofline, machine types overlaid</h2>\n<p>Achieved FLOP/s against arithmetic intensity (FLOPs per byte of least memory traffic), both on log scales; one colour per machine type. Dashed: the type's highest dense peak; dotted slope: its measured device memory bandwidth × intensity.</p>\n")
	p.figure("roofline", c.title)
	p.s("%s\n", c.svg())
	p.fallback("roofline", []string{"machine type", "dtype", "m×n×k", "FLOP/byte", "achieved"}, rows)
	p.s("</section>\n")
}
