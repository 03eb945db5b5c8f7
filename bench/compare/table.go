// Package compare puts flopcast results files side by side: it groups their
// runs into columns (machine types by default, or machines, or files),
// builds the comparison buyers read — the headline first (plateau GEMM
// throughput per dtype, memory bandwidth, the block step, price and the
// figures derived from it), every shape on request — and gates regressions
// between a baseline and a new run with a threshold and a rank test on the
// stored samples.
package compare

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Better says which way a row improves.
type Better string

// Row directions.
const (
	HigherIsBetter Better = "higher"
	LowerIsBetter  Better = "lower"
)

// CellState says what a cell holds.
type CellState string

// Cell states. A measurement that a column lacks is Missing, never zero.
const (
	Value       CellState = "value"
	Missing     CellState = "missing"
	Failed      CellState = "failed"
	Unavailable CellState = "unavailable"
)

// Cell is one column's figure in a row.
type Cell struct {
	State CellState `json:"state"`
	// Value is in the row's unit: the median over the runs behind the
	// cell; meaningful only when State is Value.
	Value float64 `json:"value,omitempty"`
	// Min and Max are the least and greatest run figures, N the number of
	// runs (results files) and Machines the physical machines behind the
	// value; N is zero for figures derived from other rows.
	Min      float64 `json:"min,omitempty"`
	Max      float64 `json:"max,omitempty"`
	N        int     `json:"n,omitempty"`
	Machines int     `json:"machines,omitempty"`
	// Burst is true when the value comes from GPU rows timed with the old
	// loop that waited after every call (result.Measurement.BurstTiming):
	// a burst figure, never merged with sustained ones.
	Burst bool `json:"burst_timing,omitempty"`
	// SetAside counts burst-timed runs left out because the column has
	// sustained ones for the figure.
	SetAside int `json:"burst_runs_set_aside,omitempty"`
	// Ratio is Value over the --relative-to column's value; zero when
	// there is none.
	Ratio float64 `json:"ratio,omitempty"`
	// Best marks the best value of the row (ties all marked); only rows
	// with two or more values have one.
	Best bool `json:"best,omitempty"`
	// Throttled is true when a measurement behind the value ran on a
	// throttling device.
	Throttled bool `json:"throttled,omitempty"`
	// Note says where a value comes from (a price's date) or why a cell
	// is unavailable.
	Note string `json:"note,omitempty"`
}

// Sections of the table, in order.
const (
	SectionGEMM      = "gemm"
	SectionBandwidth = "memory"
	SectionBlock     = "block"
	SectionCost      = "cost"
	SectionForecast  = "forecast"
)

// Row is one figure across the columns.
type Row struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Unit    string `json:"unit"`
	Better  Better `json:"better,omitempty"`
	// Headline is true for the rows of the default view.
	Headline bool   `json:"headline"`
	Cells    []Cell `json:"cells"`
}

// Values counts the cells that hold a value.
func (r Row) Values() int {
	n := 0
	for _, c := range r.Cells {
		if c.State == Value {
			n++
		}
	}
	return n
}

// Table is the comparison: one column per machine type (or machine, or
// file), one row per figure.
type Table struct {
	By      By       `json:"by"`
	All     bool     `json:"all"`
	Columns []Column `json:"columns"`
	// Machines are the runs behind the columns (one per results file and
	// device model, complementary runs of one machine merged), for the
	// report's per-machine detail.
	Machines   []Machine `json:"-"`
	Reference  Reference `json:"reference"`
	RelativeTo string    `json:"relative_to,omitempty"`
	Rows       []Row     `json:"rows"`
	Notes      []string  `json:"notes,omitempty"`
}

// Reference is the training run the forecast rows price: a model preset
// trained on Tokens tokens on GPUs devices.
type Reference struct {
	Model  string  `json:"model"`
	Tokens float64 `json:"tokens"`
	GPUs   int     `json:"gpus"`
}

// DefaultReference is llama3-70b on 15T tokens on 1024 GPUs (the Llama 3
// paper's pre-training token count, rounded).
func DefaultReference() Reference { return Reference{Model: "llama3-70b", Tokens: 15e12, GPUs: 1024} }

// String formats the reference as "llama3-70b, 15T tokens, 1024 GPUs".
func (r Reference) String() string {
	return fmt.Sprintf("%s, %s tokens, %d GPUs", r.Model, SI(r.Tokens), r.GPUs)
}

// Estimate is the forecast of a reference run on one machine type.
type Estimate struct {
	Days float64 `json:"days"`
	// CostUSD is the cost of the run; zero when no price is known.
	CostUSD float64 `json:"cost_usd,omitempty"`
}

// ReferenceEstimator forecasts a reference run on the machine type of a
// column (given as one Machine holding all the column's measurements); the
// forecast package provides one. An error leaves the cells unavailable
// with the error as their note.
type ReferenceEstimator func(m Machine, ref Reference) (Estimate, error)

// Price is a price per GPU-hour with where it comes from.
type Price struct {
	USDPerGPUHour float64 `json:"usd_per_gpu_hour"`
	// Basis says what was priced and when, e.g. "p5en.48xlarge
	// on-demand, us-east-1, dated 2026-11".
	Basis string `json:"basis,omitempty"`
}

// PriceFunc returns the price of one of the column's devices for an hour;
// ok is false when no price is known.
type PriceFunc func(m Machine) (p Price, ok bool)

// Options are the optional inputs of a comparison.
type Options struct {
	// Price looks up prices; nil shows no price.
	Price PriceFunc
	// Estimate forecasts Reference; nil leaves the forecast rows out.
	Estimate ReferenceEstimator
	// Reference is the run the forecast rows price; zero means
	// DefaultReference.
	Reference Reference
	// By groups the columns; empty means ByType.
	By By
	// All adds a row for every GEMM shape, bandwidth test and block
	// configuration measured.
	All bool
	// RelativeTo names a column (its label, or a unique part of it, any
	// case): every value gets its ratio to that column's.
	RelativeTo string
}

// ErrNothingInCommon is returned when two or more columns share no
// measured figure.
var ErrNothingInCommon = errors.New("nothing in common to compare")

// ErrUnknownColumn is returned when --relative-to names no column.
var ErrUnknownColumn = errors.New("no such column")

// Known workloads.
const (
	WorkloadGEMM      = "gemm"
	WorkloadBlock     = "block"
	WorkloadBandwidth = "bandwidth"
)

// usable reports whether a measurement has a checked figure.
func usable(m result.Measurement) bool {
	return m.Status == result.StatusOK && m.Verified && m.Seconds != nil && m.Seconds.Median > 0 &&
		!math.IsInf(m.Seconds.Median, 0) && !math.IsNaN(m.Seconds.Median)
}

// finite reports whether v is a usable positive number.
func finite(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// Build makes the comparison table of the inputs.
func Build(inputs []Input, opt Options) (*Table, error) {
	counted, fleetNotes := countOnce(inputs) // fleetNotes: what Runs leaves out of a fleet run
	runs := groupRuns(counted)
	if len(runs) == 0 {
		return nil, errors.New("the results files hold no measurements")
	}
	if opt.By == "" {
		opt.By = ByType
	}
	ref := opt.Reference
	if ref.Model == "" {
		ref = DefaultReference()
	}
	cols := Columns(runs, opt.By)
	machines := machinesOf(runs)
	t := &Table{By: opt.By, All: opt.All, Columns: cols, Machines: machines, Reference: ref}
	g := newGrid(cols)
	measured := g.measuredRows(opt.All)
	if len(cols) > 1 {
		common := false
		for _, r := range measured {
			if r.Values() >= 2 {
				common = true
			}
		}
		if !common {
			labels := make([]string, len(cols))
			for i, c := range cols {
				labels[i] = c.Label
			}
			return nil, fmt.Errorf("%w: no dtype and shape (or block) was measured on two of %s", ErrNothingInCommon, strings.Join(labels, ", "))
		}
	}
	t.Rows = append(t.Rows, measured...)
	merged := make([]Machine, len(cols)) // each column as one machine, for its price and forecast
	for i, c := range cols {
		merged[i] = c.Merged()
	}
	t.Rows = append(t.Rows, g.costRows(measured, merged, opt.Price)...)
	fc := forecastRows(merged, ref, opt.Estimate)
	for _, r := range measured {
		if r.Name == RowBF16Plateau {
			for ci, c := range r.Cells {
				for fi := range fc {
					if fc[fi].Cells[ci].State == Value {
						fc[fi].Cells[ci].Burst = c.Burst
					}
				}
			}
		}
	}
	t.Rows = append(t.Rows, fc...)
	// Why forecasts are unavailable, from the rows before empty ones go.
	var fcNotes []string
	for _, r := range t.Rows {
		if r.Section == SectionForecast && strings.HasPrefix(r.Name, "days") {
			for ci, c := range r.Cells {
				if c.State == Unavailable && c.Note != "" && c.Note != forecastUnavailable {
					fcNotes = append(fcNotes, fmt.Sprintf("forecast %s: %s", cols[ci].Label, c.Note))
				}
			}
		}
	}
	var kept []Row
	for _, r := range t.Rows {
		if r.Values() > 0 || hasFailed(r) {
			kept = append(kept, r)
		}
	}
	t.Rows = kept
	if opt.RelativeTo != "" {
		i, err := findColumn(cols, opt.RelativeTo)
		if err != nil {
			return nil, err
		}
		t.RelativeTo = cols[i].Label
		for ri := range t.Rows {
			r := &t.Rows[ri]
			base := r.Cells[i]
			if base.State != Value || !finite(base.Value) {
				continue
			}
			for ci := range r.Cells {
				if r.Cells[ci].State == Value {
					r.Cells[ci].Ratio = r.Cells[ci].Value / base.Value
				}
			}
		}
	}
	for i := range t.Rows {
		markBest(&t.Rows[i])
	}
	t.Notes = notes(t, g, append(fleetNotes, fcNotes...))
	return t, nil
}

func hasFailed(r Row) bool {
	for _, c := range r.Cells {
		if c.State == Failed {
			return true
		}
	}
	return false
}

// findColumn finds a column by its label, or by a part of it that only
// one label holds, in any case.
func findColumn(cols []Column, name string) (int, error) {
	var labels []string
	for i, c := range cols {
		if c.Label == name {
			return i, nil
		}
		labels = append(labels, c.Label)
	}
	found := -1
	for i, c := range cols {
		if strings.Contains(strings.ToLower(c.Label), strings.ToLower(name)) {
			if found >= 0 {
				return 0, fmt.Errorf("%w: %q matches %q and %q", ErrUnknownColumn, name, cols[found].Label, c.Label)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, fmt.Errorf("%w: %q (columns: %s)", ErrUnknownColumn, name, strings.Join(labels, "; "))
	}
	return found, nil
}

// runValue is one run's figure for a row: the median over the run's
// devices.
type runValue struct {
	v         float64
	burst     bool
	throttled bool
	physical  string
	run       int // index of the run in its column
}

// rowMeta describes a measured row.
type rowMeta struct {
	section, name, unit string
	better              Better
	gemm                *gemmKey
	dtype               string
	flops               float64 // block: model FLOPs of one step
}

// grid holds, for every measured row key, each column's run figures.
type grid struct {
	cols   []Column
	meta   map[string]rowMeta
	values map[string][][]runValue // key -> column -> runs
	failed map[string][]bool
	notes  map[string][]string // key -> column -> note (skipped, implausible)
	// Unknown workloads per column.
	unknown []map[string]int
}

func newGrid(cols []Column) *grid {
	g := &grid{cols: cols, meta: map[string]rowMeta{}, values: map[string][][]runValue{},
		failed: map[string][]bool{}, notes: map[string][]string{}, unknown: make([]map[string]int, len(cols))}
	for ci, c := range cols {
		g.unknown[ci] = map[string]int{}
		for ri, r := range c.Runs {
			g.addRun(ci, ri, r)
		}
	}
	return g
}

func (g *grid) ensure(key string, meta rowMeta) {
	if _, ok := g.meta[key]; !ok {
		g.meta[key] = meta
		g.values[key] = make([][]runValue, len(g.cols))
		g.failed[key] = make([]bool, len(g.cols))
		g.notes[key] = make([]string, len(g.cols))
	}
}

// perDevice gathers one run's values of one row per device and timing.
type perDevice map[bool]map[string][]float64

func (p perDevice) add(burst bool, device string, v float64) {
	if p[burst] == nil {
		p[burst] = map[string][]float64{}
	}
	p[burst][device] = append(p[burst][device], v)
}

// addRun adds one run's figures to column ci.
func (g *grid) addRun(ci, ri int, r Machine) {
	vals := map[string]perDevice{}
	throttled := map[string]bool{}
	add := func(key string, x result.Measurement, v float64) {
		if vals[key] == nil {
			vals[key] = perDevice{}
		}
		vals[key].add(x.BurstTiming(), x.Device, v)
		if Throttled(x) {
			throttled[key] = true
		}
	}
	for _, x := range r.Measurements {
		switch x.Workload {
		case WorkloadGEMM:
			k := keyOfGEMM(x)
			key := "gemm|" + k.String()
			g.ensure(key, rowMeta{section: SectionGEMM, name: "GEMM " + k.String(), unit: "TFLOP/s", better: HigherIsBetter, gemm: &k, dtype: k.dtype})
			switch {
			case usable(x) && finite(x.FLOPPerSecond):
				add(key, x, x.FLOPPerSecond/1e12)
			case x.Status == result.StatusFailed:
				g.failed[key][ci] = true
			case x.Status == result.StatusSkipped:
				g.notes[key][ci] = "skipped"
			}
		case WorkloadBandwidth:
			label := x.Label
			if label == "" {
				label = "copy"
			}
			key := "bw|" + label
			g.ensure(key, rowMeta{section: SectionBandwidth, name: "memory bandwidth " + label, unit: "GB/s", better: HigherIsBetter})
			if bw := BandwidthBytesPerSecond(x); finite(bw) {
				// The best over the sizes measured: keep the maximum.
				add(key, x, bw/1e9)
			} else if x.Status == result.StatusFailed {
				g.failed[key][ci] = true
			}
		case WorkloadBlock:
			name := BlockName(x)
			ks, km, kt := "step|"+name, "mfu|"+name, "tok|"+name
			g.ensure(ks, rowMeta{section: SectionBlock, name: "block step " + name, unit: "ms", better: LowerIsBetter, dtype: x.DType, flops: x.FLOPs})
			g.ensure(km, rowMeta{section: SectionBlock, name: "block MFU " + name, unit: "%", better: HigherIsBetter, dtype: x.DType, flops: x.FLOPs})
			g.ensure(kt, rowMeta{section: SectionBlock, name: "block tokens/s " + name, unit: "tokens/s", better: HigherIsBetter, dtype: x.DType, flops: x.FLOPs})
			switch {
			case usable(x):
				add(ks, x, x.Seconds.Median*1e3)
				if x.Block != nil && PlausibleMFU(x.Block.MFU) {
					add(km, x, 100*x.Block.MFU)
				} else if x.Block != nil && x.Block.MFU != 0 {
					g.notes[km][ci] = fmt.Sprintf("implausible MFU %.3g left out", x.Block.MFU)
				}
				if x.Block != nil && finite(x.Block.TokensPerSecond) {
					add(kt, x, x.Block.TokensPerSecond)
				}
			case x.Status == result.StatusFailed:
				g.failed[ks][ci], g.failed[km][ci], g.failed[kt][ci] = true, true, true
			}
		default:
			g.unknown[ci][x.Workload]++
		}
	}
	for key, p := range vals {
		for _, burst := range []bool{false, true} {
			devs := p[burst]
			if len(devs) == 0 {
				continue
			}
			var per []float64
			for _, vs := range devs {
				if strings.HasPrefix(key, "bw|") {
					per = append(per, maxOf(vs))
				} else {
					per = append(per, median(vs))
				}
			}
			g.values[key][ci] = append(g.values[key][ci], runValue{v: median(per), burst: burst, throttled: throttled[key], physical: r.Physical, run: ri})
		}
	}
}

// PlausibleMFU reports whether a model-FLOPs utilisation can be shown: a
// fraction above zero and at most one.
func PlausibleMFU(mfu float64) bool { return mfu > 0 && mfu <= 1 && !math.IsNaN(mfu) }

func maxOf(vs []float64) float64 {
	m := math.Inf(-1)
	for _, v := range vs {
		m = math.Max(m, v)
	}
	return m
}

// cellOf makes a cell of run values: sustained ones when there are any,
// else burst-timed ones, marked so.
func cellOf(vs []runValue, failed bool, note string) Cell {
	var sus, burst []runValue
	for _, v := range vs {
		if v.burst {
			burst = append(burst, v)
		} else {
			sus = append(sus, v)
		}
	}
	use := sus
	c := Cell{State: Value}
	if len(sus) == 0 {
		use, c.Burst = burst, true
	} else {
		c.SetAside = len(burst)
	}
	if len(use) == 0 {
		if failed {
			return Cell{State: Failed}
		}
		return Cell{State: Missing, Note: note}
	}
	xs := make([]float64, len(use))
	phys := map[string]bool{}
	for i, v := range use {
		xs[i] = v.v
		phys[v.physical] = true
		c.Throttled = c.Throttled || v.throttled
	}
	c.Value, c.N, c.Machines = median(xs), len(xs), len(phys)
	c.Min, c.Max = minMax(xs)
	return c
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (g *grid) row(key string, headline bool) Row {
	m := g.meta[key]
	r := Row{Section: m.section, Name: m.name, Unit: m.unit, Better: m.better, Headline: headline}
	for ci := range g.cols {
		r.Cells = append(r.Cells, cellOf(g.values[key][ci], g.failed[key][ci], g.notes[key][ci]))
	}
	return r
}

// PlateauRatio sets the shapes a plateau is taken over: those with at
// least 1/PlateauRatio of the FLOPs of the column's largest shape of the
// dtype (a quarter of its size, for cubes).
const PlateauRatio = 64

// plateauRows gives one row per dtype: each run's best throughput over
// the column's large shapes (search grids left out), the median over runs.
func (g *grid) plateauRows() []Row {
	byDType := map[string][]string{}
	var dtypes []string
	for key, m := range g.meta {
		if m.gemm == nil || strings.HasPrefix(m.gemm.label, "search") {
			continue
		}
		if byDType[m.dtype] == nil {
			dtypes = append(dtypes, m.dtype)
		}
		byDType[m.dtype] = append(byDType[m.dtype], key)
	}
	sort.Slice(dtypes, func(i, j int) bool {
		if a, b := dtypeRank(dtypes[i]), dtypeRank(dtypes[j]); a != b {
			return a < b
		}
		return dtypes[i] < dtypes[j]
	})
	var rows []Row
	for _, dt := range dtypes {
		keys := byDType[dt]
		sort.Strings(keys)
		r := Row{Section: SectionGEMM, Name: dt + " GEMM plateau", Unit: "TFLOP/s", Better: HigherIsBetter, Headline: true}
		for ci := range g.cols {
			largest := 0.0
			for _, k := range keys {
				if len(g.values[k][ci]) > 0 {
					largest = math.Max(largest, g.meta[k].gemm.shape.FLOPs())
				}
			}
			// One value per run and timing: the run's best large shape.
			best := bestPerRun{}
			failed := false
			for _, k := range keys {
				failed = failed || g.failed[k][ci]
				if g.meta[k].gemm.shape.FLOPs()*PlateauRatio < largest {
					continue
				}
				best.add(g.values[k][ci])
			}
			r.Cells = append(r.Cells, cellOf(best.values(), failed, ""))
		}
		rows = append(rows, r)
	}
	return rows
}

// hostLink reports whether a bandwidth label measures the host link
// (host-to-device or device-to-host), not device memory.
func hostLink(label string) bool {
	l := strings.ToLower(label)
	return strings.HasPrefix(l, "h2d") || strings.HasPrefix(l, "d2h") || strings.Contains(l, "host")
}

// deviceBandwidthRow is each run's best device-memory bandwidth over the
// labels measured (host links left out).
func (g *grid) deviceBandwidthRow() Row {
	r := Row{Section: SectionBandwidth, Name: RowBandwidth, Unit: "GB/s", Better: HigherIsBetter, Headline: true}
	var keys []string
	for key := range g.meta {
		if strings.HasPrefix(key, "bw|") && !hostLink(strings.TrimPrefix(key, "bw|")) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for ci := range g.cols {
		best := bestPerRun{}
		failed := false
		for _, k := range keys {
			failed = failed || g.failed[k][ci]
			best.add(g.values[k][ci])
		}
		r.Cells = append(r.Cells, cellOf(best.values(), failed, ""))
	}
	return r
}

// runKey identifies a run's values of one timing (burst or sustained) in
// a column.
type runKey struct {
	run   int
	burst bool
}

// bestPerRun keeps each run's largest value per timing.
type bestPerRun map[runKey]runValue

// add keeps the values of vs that beat their run's best so far.
func (b bestPerRun) add(vs []runValue) {
	for _, v := range vs {
		k := runKey{v.run, v.burst}
		if old, ok := b[k]; !ok || v.v > old.v {
			b[k] = v
		}
	}
}

// values lists the values kept, in no particular order.
func (b bestPerRun) values() []runValue {
	var vs []runValue
	for _, v := range b {
		vs = append(vs, v)
	}
	return vs
}

// headlineBlocks picks the block configurations of the default view: those
// measured on the most columns when two or more share one, else each
// column's largest configuration (most FLOPs per step, training dtypes
// first).
func (g *grid) headlineBlocks() []string {
	count := map[string]int{}
	var names []string
	for key := range g.meta {
		if !strings.HasPrefix(key, "tok|") {
			continue
		}
		name := strings.TrimPrefix(key, "tok|")
		names = append(names, name)
		for ci := range g.cols {
			if len(g.values[key][ci]) > 0 {
				count[name]++
			}
		}
	}
	sort.Strings(names)
	most := 0
	for _, n := range names {
		most = max(most, count[n])
	}
	var out []string
	if most >= 2 {
		for _, n := range names {
			if count[n] == most {
				out = append(out, n)
			}
		}
		return out
	}
	seen := map[string]bool{}
	for ci := range g.cols {
		pick := ""
		for _, n := range names {
			if len(g.values["tok|"+n][ci]) == 0 {
				continue
			}
			if pick == "" {
				pick = n
				continue
			}
			a, b := g.meta["tok|"+n], g.meta["tok|"+pick]
			if a.flops > b.flops || a.flops == b.flops && dtypeRank(a.dtype) < dtypeRank(b.dtype) {
				pick = n
			}
		}
		if pick != "" && !seen[pick] {
			seen[pick] = true
			out = append(out, pick)
		}
	}
	sort.Strings(out)
	return out
}

// measuredRows are the rows from measurements: the headline rows, and
// with all every GEMM shape, bandwidth test and block configuration.
func (g *grid) measuredRows(all bool) []Row {
	rows := g.plateauRows()
	rows = append(rows, g.deviceBandwidthRow())
	head := map[string]bool{}
	for _, n := range g.headlineBlocks() {
		head[n] = true
		rows = append(rows, g.row("tok|"+n, true))
		r := g.row("mfu|"+n, true)
		rows = append(rows, r)
	}
	if !all {
		return rows
	}
	var gemms, bws, blocks []string
	for key, m := range g.meta {
		switch {
		case m.gemm != nil:
			gemms = append(gemms, key)
		case strings.HasPrefix(key, "bw|"):
			bws = append(bws, key)
		case strings.HasPrefix(key, "step|"):
			blocks = append(blocks, strings.TrimPrefix(key, "step|"))
		}
	}
	sort.Slice(gemms, func(i, j int) bool { return lessGEMM(*g.meta[gemms[i]].gemm, *g.meta[gemms[j]].gemm) })
	sort.Strings(bws)
	sort.Strings(blocks)
	for _, k := range gemms {
		rows = append(rows, g.row(k, false))
	}
	for _, k := range bws {
		rows = append(rows, g.row(k, false))
	}
	for _, n := range blocks {
		rows = append(rows, g.row("step|"+n, false))
		if !head[n] {
			rows = append(rows, g.row("tok|"+n, false), g.row("mfu|"+n, false))
		}
	}
	return rows
}

// gemmKey identifies a GEMM configuration across machines.
type gemmKey struct {
	dtype, label string
	shape        kernels.GEMMShape
}

func keyOfGEMM(m result.Measurement) gemmKey {
	label := Clean(m.Label)
	if label == "" {
		label = "square"
	}
	return gemmKey{Clean(m.DType), label, m.Shape}
}

func (k gemmKey) String() string { return fmt.Sprintf("%s %s %s", k.dtype, k.label, k.shape) }

// dtypeRank orders dtypes as training uses them.
func dtypeRank(d string) int {
	for i, n := range []string{"bf16", "fp16", "fp8", "fp8e4m3", "tf32", "fp32", "fp64"} {
		if d == n {
			return i
		}
	}
	return 100
}

func labelRank(l string) int {
	for i, n := range []string{"square", "qkv", "attn_out", "mlp_up", "mlp_down"} {
		if l == n {
			return i
		}
	}
	return 100
}

func lessGEMM(a, b gemmKey) bool {
	if ra, rb := dtypeRank(a.dtype), dtypeRank(b.dtype); ra != rb {
		return ra < rb
	}
	if a.dtype != b.dtype {
		return a.dtype < b.dtype
	}
	if ra, rb := labelRank(a.label), labelRank(b.label); ra != rb {
		return ra < rb
	}
	if a.label != b.label {
		return a.label < b.label
	}
	if fa, fb := a.shape.FLOPs(), b.shape.FLOPs(); fa != fb {
		return fa < fb
	}
	return a.shape.String() < b.shape.String()
}

// BandwidthBytesPerSecond is the memory bandwidth of a bandwidth
// measurement: bytes moved per call over the median call time; 0 when the
// measurement has no usable figure.
func BandwidthBytesPerSecond(m result.Measurement) float64 {
	if m.Workload != WorkloadBandwidth || !usable(m) || m.Bytes <= 0 {
		return 0
	}
	return float64(m.Bytes) / m.Seconds.Median
}

// BlockName names a block configuration: the preset (or architecture and
// width), dtype, sequence length and batch.
func BlockName(m result.Measurement) string {
	b := m.Block
	if b == nil {
		return Clean(m.DType)
	}
	name := Clean(b.Preset)
	if name == "" {
		name = fmt.Sprintf("%s h%d", Clean(b.Arch), b.Hidden)
	}
	return fmt.Sprintf("%s %s seq %d × batch %d", name, Clean(m.DType), b.Seq, b.Batch)
}

// BestBF16 returns a run's best bf16 GEMM throughput in FLOP/s (the
// median over its devices of each device's best), or 0 without one.
func BestBF16(m Machine) float64 {
	best := map[string]float64{}
	for _, x := range m.Measurements {
		if x.Workload == WorkloadGEMM && x.DType == "bf16" && usable(x) && finite(x.FLOPPerSecond) {
			best[x.Device] = math.Max(best[x.Device], x.FLOPPerSecond)
		}
	}
	if len(best) == 0 {
		return 0
	}
	var vs []float64
	for _, v := range best {
		vs = append(vs, v)
	}
	return median(vs)
}

// Row names other code looks for.
const (
	RowBF16Plateau   = "bf16 GEMM plateau"
	RowBandwidth     = "device memory bandwidth"
	RowPrice         = "price per GPU-hour"
	RowCostPerExaOps = "$ per 10^18 bf16 FLOP"
)

func (g *grid) costRows(measured []Row, merged []Machine, price PriceFunc) []Row {
	priceRow := Row{Section: SectionCost, Name: RowPrice, Unit: "$/GPU-hour", Headline: true}
	perEF := Row{Section: SectionCost, Name: RowCostPerExaOps, Unit: "$", Better: LowerIsBetter, Headline: true}
	var bf16 *Row
	for i := range measured {
		if measured[i].Name == RowBF16Plateau {
			bf16 = &measured[i]
		}
	}
	prices := make([]float64, len(g.cols))
	for i := range g.cols {
		cell := Cell{State: Unavailable, Note: "no price"}
		if price != nil {
			if p, ok := price(merged[i]); ok && finite(p.USDPerGPUHour) {
				cell = Cell{State: Value, Value: p.USDPerGPUHour, Note: Clean(p.Basis)}
				prices[i] = p.USDPerGPUHour
			}
		}
		priceRow.Cells = append(priceRow.Cells, cell)
		switch {
		case bf16 == nil || bf16.Cells[i].State != Value:
			perEF.Cells = append(perEF.Cells, Cell{State: Missing})
		case prices[i] == 0:
			perEF.Cells = append(perEF.Cells, Cell{State: Unavailable, Note: "no price"})
		default:
			b := bf16.Cells[i]
			perEF.Cells = append(perEF.Cells, Cell{State: Value, Value: prices[i] / 3600 / (b.Value * 1e12) * 1e18, Burst: b.Burst, Throttled: b.Throttled})
		}
	}
	rows := []Row{priceRow, perEF}
	for _, r := range measured {
		if r.Section != SectionBlock || r.Unit != "tokens/s" {
			continue
		}
		tpd := Row{Section: SectionCost, Name: "tokens per $ " + strings.TrimPrefix(r.Name, "block tokens/s "),
			Unit: "tokens/$", Better: HigherIsBetter, Headline: r.Headline}
		for i, c := range r.Cells {
			switch {
			case c.State != Value:
				tpd.Cells = append(tpd.Cells, Cell{State: c.State})
			case prices[i] == 0:
				tpd.Cells = append(tpd.Cells, Cell{State: Unavailable, Note: "no price"})
			default:
				tpd.Cells = append(tpd.Cells, Cell{State: Value, Value: c.Value * 3600 / prices[i], Burst: c.Burst, Throttled: c.Throttled})
			}
		}
		rows = append(rows, tpd)
	}
	return rows
}

func forecastRows(merged []Machine, ref Reference, est ReferenceEstimator) []Row {
	days := Row{Section: SectionForecast, Name: "days to train " + ref.String(), Unit: "days", Better: LowerIsBetter, Headline: true}
	cost := Row{Section: SectionForecast, Name: "cost to train " + ref.String(), Unit: "$", Better: LowerIsBetter, Headline: true}
	for _, m := range merged {
		if est == nil {
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
			continue
		}
		e, err := est(m, ref)
		switch {
		case err != nil:
			note := Clean(strings.ReplaceAll(err.Error(), "\n", "; "))
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: note})
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: note})
			continue
		case finite(e.Days):
			days.Cells = append(days.Cells, Cell{State: Value, Value: e.Days})
		default:
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
		}
		if finite(e.CostUSD) {
			cost.Cells = append(cost.Cells, Cell{State: Value, Value: e.CostUSD})
		} else {
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: "no price"})
		}
	}
	return []Row{days, cost}
}

// forecastUnavailable is the note of forecast cells without an estimator.
const forecastUnavailable = "forecast not available"

func markBest(r *Row) {
	if r.Better == "" || r.Values() < 2 {
		return
	}
	best := math.NaN()
	for _, c := range r.Cells {
		if c.State != Value {
			continue
		}
		if math.IsNaN(best) || (r.Better == HigherIsBetter && c.Value > best) || (r.Better == LowerIsBetter && c.Value < best) {
			best = c.Value
		}
	}
	for i := range r.Cells {
		if r.Cells[i].State == Value && r.Cells[i].Value == best {
			r.Cells[i].Best = true
		}
	}
}

func notes(t *Table, g *grid, fcNotes []string) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, fmt.Sprintf("%s: %s on %s, %s: %s", c.Label, plural(c.Machines, "machine"),
			strings.Join(c.Hosts, ", "), plural(len(c.Files), "file"), strings.Join(c.Files, ", ")))
	}
	for ci, c := range t.Columns {
		var names []string
		for w := range g.unknown[ci] {
			names = append(names, w)
		}
		sort.Strings(names)
		for _, w := range names {
			out = append(out, fmt.Sprintf("%s: %s of workload %q skipped (not compared by this flopcast)", c.Label, plural(g.unknown[ci][w], "measurement"), Clean(w)))
		}
		for _, r := range c.Runs {
			if r.File.Partial {
				out = append(out, fmt.Sprintf("%s: %s is partial (the run was interrupted)", c.Label, Clean(r.Path)))
			}
		}
	}
	var burst, throttled, failed, setAside bool
	for _, r := range t.Rows {
		for ci, c := range r.Cells {
			burst = burst || c.Burst
			throttled = throttled || c.Throttled
			failed = failed || c.State == Failed
			if c.SetAside > 0 && !setAside {
				setAside = true
				out = append(out, fmt.Sprintf("%s: burst-timed runs set aside where sustained ones exist (e.g. %s: %d)", t.Columns[ci].Label, r.Name, c.SetAside))
			}
		}
	}
	for _, r := range t.Rows {
		if r.Name == RowPrice {
			for ci, c := range r.Cells {
				if c.State == Value && c.Note != "" {
					out = append(out, fmt.Sprintf("price %s: %s", t.Columns[ci].Label, c.Note))
				}
			}
		}
	}
	out = append(out, fcNotes...)
	out = append(out, "cells: median over runs (min–max, n = runs, one per results file; a run's GPUs count once, as their median); - = not measured or not known (never zero)")
	out = append(out, "block tokens/s: per device; MFU: model FLOPs / (step time × dense peak), shown only between 0 and 100%")
	out = append(out, fmt.Sprintf("GEMM plateau: each run's best verified throughput over the shapes with at least 1/%d of the FLOPs of the column's largest shape of the dtype (search grids left out)", PlateauRatio))
	if burst {
		out = append(out, "‡ burst timing: GPU rows timed by the old loop that waited after every call, so the GPU idled between calls and its clocks stayed up; not a sustained speed, and never merged with sustained rows")
	}
	if throttled {
		out = append(out, "†: a measurement behind the figure ran while the device throttled")
	}
	if failed {
		out = append(out, "FAILED: the measurement failed its correctness check; no throughput is shown")
	}
	if t.RelativeTo != "" {
		out = append(out, "×: ratio to "+t.RelativeTo+" (value ÷ its value, whichever way the row improves)")
	}
	out = append(out, "*: best in its row")
	out = append(out, "device memory bandwidth: each run's best device-to-device copy (host links left out)")
	out = append(out, "$ per 10^18 bf16 FLOP = price per GPU-hour / (3600 s × bf16 plateau FLOP/s) × 10^18; tokens per $ = tokens/s per device × 3600 / price per GPU-hour; days and cost: the forecast of the reference run from the type's bf16 GEMMs")
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
