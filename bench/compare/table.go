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

// Cell states. A measurement that a machine lacks is Missing, never zero.
const (
	Value       CellState = "value"
	Missing     CellState = "missing"
	Failed      CellState = "failed"
	Unavailable CellState = "unavailable"
)

// Cell is one machine's figure in a row.
type Cell struct {
	State CellState `json:"state"`
	// Value is in the row's unit; meaningful only when State is Value.
	Value float64 `json:"value,omitempty"`
	// Best marks the best value of the row (ties all marked); only rows
	// with two or more values have one.
	Best bool `json:"best,omitempty"`
	// Throttled is true when a measurement behind the value ran on a
	// throttling device.
	Throttled bool `json:"throttled,omitempty"`
	// Note says why a cell is unavailable.
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

// Row is one figure across the machines.
type Row struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Unit    string `json:"unit"`
	Better  Better `json:"better,omitempty"`
	Cells   []Cell `json:"cells"`
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

// Table is the comparison: one column per machine, one row per figure.
type Table struct {
	Machines  []Machine `json:"machines"`
	Reference Reference `json:"reference"`
	Rows      []Row     `json:"rows"`
	Notes     []string  `json:"notes,omitempty"`
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
// column; the forecast package provides one. An error leaves the cells
// unavailable with the error as their note.
type ReferenceEstimator func(m Machine, ref Reference) (Estimate, error)

// PriceFunc returns the on-demand price of one of the column's devices for
// an hour, in US dollars; ok is false when no price is known.
type PriceFunc func(m Machine) (usdPerGPUHour float64, ok bool)

// Options are the optional inputs of a comparison.
type Options struct {
	// Price looks up prices; nil shows every price as "—".
	Price PriceFunc
	// Estimate forecasts Reference; nil shows "forecast not available".
	Estimate ReferenceEstimator
	// Reference is the run the forecast rows price; zero means
	// DefaultReference.
	Reference Reference
}

// ErrNothingInCommon is returned when two or more machines share no
// measured figure.
var ErrNothingInCommon = errors.New("nothing in common to compare")

// forecastUnavailable is the note of forecast cells without an estimator.
const forecastUnavailable = "forecast not available"

// Build makes the comparison table of the inputs.
func Build(inputs []Input, opt Options) (*Table, error) {
	ms := Machines(inputs)
	if len(ms) == 0 {
		return nil, errors.New("the results files hold no measurements")
	}
	ref := opt.Reference
	if ref.Model == "" {
		ref = DefaultReference()
	}
	t := &Table{Machines: ms, Reference: ref}
	t.Rows = append(t.Rows, gemmRows(ms)...)
	t.Rows = append(t.Rows, bandwidthRows(ms)...)
	blocks := blockRows(ms)
	t.Rows = append(t.Rows, blocks...)
	if len(ms) > 1 {
		common := false
		for _, r := range t.Rows {
			if r.Values() >= 2 {
				common = true
			}
		}
		if !common {
			labels := make([]string, len(ms))
			for i, m := range ms {
				labels[i] = m.Label
			}
			return nil, fmt.Errorf("%w: no dtype and shape (or block) was measured on two of %s", ErrNothingInCommon, strings.Join(labels, ", "))
		}
	}
	t.Rows = append(t.Rows, costRows(ms, t.Rows, opt.Price)...)
	t.Rows = append(t.Rows, forecastRows(ms, ref, opt.Estimate)...)
	for i := range t.Rows {
		markBest(&t.Rows[i])
	}
	t.Notes = notes(t)
	return t, nil
}

// Known workloads.
const (
	WorkloadGEMM      = "gemm"
	WorkloadBlock     = "block"
	WorkloadBandwidth = "bandwidth"
)

// usable reports whether a measurement has a checked figure.
func usable(m result.Measurement) bool {
	return m.Status == result.StatusOK && m.Verified && m.Seconds != nil && m.Seconds.Median > 0
}

// perDevice collects one figure per device: the median of the device's
// usable measurements for which value returns ok.
type perDevice struct {
	values    map[string][]float64
	failed    bool
	throttled bool
	note      string
}

func (p *perDevice) add(m result.Measurement, v float64) {
	if p.values == nil {
		p.values = map[string][]float64{}
	}
	p.values[m.Device] = append(p.values[m.Device], v)
	if Throttled(m) {
		p.throttled = true
	}
}

// cell is the median over devices of each device's median.
func (p *perDevice) cell() Cell {
	if len(p.values) == 0 {
		if p.failed {
			return Cell{State: Failed}
		}
		return Cell{State: Missing, Note: p.note}
	}
	var per []float64
	for _, vs := range p.values {
		per = append(per, median(vs))
	}
	return Cell{State: Value, Value: median(per), Throttled: p.throttled}
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

// gemmKey identifies a GEMM configuration across machines.
type gemmKey struct {
	dtype, label string
	shape        kernels.GEMMShape
}

func keyOfGEMM(m result.Measurement) gemmKey {
	label := m.Label
	if label == "" {
		label = "square"
	}
	return gemmKey{m.DType, label, m.Shape}
}

func (k gemmKey) String() string { return fmt.Sprintf("%s %s %s", k.dtype, k.label, k.shape) }

// dtypeRank orders dtypes as training uses them.
func dtypeRank(d string) int {
	for i, n := range []string{"bf16", "fp16", "fp8e4m3", "tf32", "fp32", "fp64"} {
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

func gemmRows(ms []Machine) []Row {
	cells := map[gemmKey][]perDevice{}
	var keys []gemmKey
	for i, m := range ms {
		for _, x := range m.Measurements {
			if x.Workload != WorkloadGEMM {
				continue
			}
			k := keyOfGEMM(x)
			if cells[k] == nil {
				cells[k] = make([]perDevice, len(ms))
				keys = append(keys, k)
			}
			p := &cells[k][i]
			switch {
			case usable(x) && x.FLOPPerSecond > 0:
				p.add(x, x.FLOPPerSecond/1e12)
			case x.Status == result.StatusFailed:
				p.failed = true
			case x.Status == result.StatusSkipped:
				p.note = "skipped"
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return lessGEMM(keys[i], keys[j]) })
	var rows []Row
	for _, k := range keys {
		r := Row{Section: SectionGEMM, Name: "GEMM " + k.String(), Unit: "TFLOP/s", Better: HigherIsBetter}
		for i := range ms {
			r.Cells = append(r.Cells, cells[k][i].cell())
		}
		rows = append(rows, r)
	}
	return rows
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

// bandwidthRows gives one row per bandwidth label: each device's best
// bandwidth over the sizes measured, the median over devices.
func bandwidthRows(ms []Machine) []Row {
	cells := map[string][]perDevice{}
	var keys []string
	for i, m := range ms {
		best := map[string]map[string]float64{} // label -> device -> best
		for _, x := range m.Measurements {
			if x.Workload != WorkloadBandwidth {
				continue
			}
			label := x.Label
			if label == "" {
				label = "copy"
			}
			if cells[label] == nil {
				cells[label] = make([]perDevice, len(ms))
				keys = append(keys, label)
			}
			p := &cells[label][i]
			if bw := BandwidthBytesPerSecond(x); bw > 0 {
				if best[label] == nil {
					best[label] = map[string]float64{}
				}
				best[label][x.Device] = math.Max(best[label][x.Device], bw/1e9)
				if Throttled(x) {
					p.throttled = true
				}
			} else if x.Status == result.StatusFailed {
				p.failed = true
			}
		}
		for label, devs := range best {
			p := &cells[label][i]
			for dev, v := range devs {
				p.add(result.Measurement{Device: dev}, v)
			}
		}
	}
	sort.Strings(keys)
	var rows []Row
	for _, k := range keys {
		r := Row{Section: SectionBandwidth, Name: "memory bandwidth " + k, Unit: "GB/s", Better: HigherIsBetter}
		for i := range ms {
			r.Cells = append(r.Cells, cells[k][i].cell())
		}
		rows = append(rows, r)
	}
	return rows
}

// BlockName names a block configuration: the preset (or architecture and
// width), dtype, sequence length and batch.
func BlockName(m result.Measurement) string {
	b := m.Block
	if b == nil {
		return m.DType
	}
	name := b.Preset
	if name == "" {
		name = fmt.Sprintf("%s h%d", b.Arch, b.Hidden)
	}
	return fmt.Sprintf("%s %s seq %d × batch %d", name, m.DType, b.Seq, b.Batch)
}

func blockRows(ms []Machine) []Row {
	type trio struct{ step, mfu, tokens perDevice }
	cells := map[string][]trio{}
	var keys []string
	for i, m := range ms {
		for _, x := range m.Measurements {
			if x.Workload != WorkloadBlock {
				continue
			}
			k := BlockName(x)
			if cells[k] == nil {
				cells[k] = make([]trio, len(ms))
				keys = append(keys, k)
			}
			c := &cells[k][i]
			switch {
			case usable(x):
				c.step.add(x, x.Seconds.Median*1e3)
				if x.Block != nil && x.Block.MFU > 0 {
					c.mfu.add(x, 100*x.Block.MFU)
				}
				if x.Block != nil && x.Block.TokensPerSecond > 0 {
					c.tokens.add(x, x.Block.TokensPerSecond)
				}
			case x.Status == result.StatusFailed:
				c.step.failed, c.mfu.failed, c.tokens.failed = true, true, true
			}
		}
	}
	sort.Strings(keys)
	var rows []Row
	for _, k := range keys {
		step := Row{Section: SectionBlock, Name: "block step " + k, Unit: "ms", Better: LowerIsBetter}
		mfu := Row{Section: SectionBlock, Name: "block MFU " + k, Unit: "%", Better: HigherIsBetter}
		tok := Row{Section: SectionBlock, Name: "block tokens/s per device " + k, Unit: "tokens/s", Better: HigherIsBetter}
		for i := range ms {
			step.Cells = append(step.Cells, cells[k][i].step.cell())
			mfu.Cells = append(mfu.Cells, cells[k][i].mfu.cell())
			tok.Cells = append(tok.Cells, cells[k][i].tokens.cell())
		}
		rows = append(rows, step, mfu, tok)
	}
	return rows
}

// BestBF16 returns a column's best bf16 GEMM throughput in FLOP/s (the
// median over its devices of each device's best), or 0 without one.
func BestBF16(m Machine) float64 {
	best := map[string]float64{}
	for _, x := range m.Measurements {
		if x.Workload == WorkloadGEMM && x.DType == "bf16" && usable(x) {
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

func costRows(ms []Machine, measured []Row, price PriceFunc) []Row {
	// A price alone is not value for money, so its row marks no best.
	priceRow := Row{Section: SectionCost, Name: "price per GPU-hour", Unit: "$/GPU-hour"}
	perEF := Row{Section: SectionCost, Name: "cost of 10^18 bf16 FLOP delivered (best bf16 GEMM)", Unit: "$", Better: LowerIsBetter}
	prices := make([]float64, len(ms))
	for i, m := range ms {
		c := Cell{State: Unavailable, Note: "no price"}
		if price != nil {
			if p, ok := price(m); ok && p > 0 {
				c = Cell{State: Value, Value: p}
				prices[i] = p
			}
		}
		priceRow.Cells = append(priceRow.Cells, c)
		switch bf := BestBF16(m); {
		case bf == 0:
			perEF.Cells = append(perEF.Cells, Cell{State: Missing})
		case prices[i] == 0:
			perEF.Cells = append(perEF.Cells, Cell{State: Unavailable, Note: "no price"})
		default:
			perEF.Cells = append(perEF.Cells, Cell{State: Value, Value: prices[i] / 3600 / bf * 1e18})
		}
	}
	rows := []Row{priceRow, perEF}
	for _, r := range measured {
		if r.Section != SectionBlock || r.Unit != "tokens/s" {
			continue
		}
		tpd := Row{Section: SectionCost, Name: "tokens per dollar " + strings.TrimPrefix(r.Name, "block tokens/s per device "),
			Unit: "tokens/$", Better: HigherIsBetter}
		for i, c := range r.Cells {
			switch {
			case c.State != Value:
				tpd.Cells = append(tpd.Cells, Cell{State: c.State})
			case prices[i] == 0:
				tpd.Cells = append(tpd.Cells, Cell{State: Unavailable, Note: "no price"})
			default:
				tpd.Cells = append(tpd.Cells, Cell{State: Value, Value: c.Value * 3600 / prices[i], Throttled: c.Throttled})
			}
		}
		rows = append(rows, tpd)
	}
	return rows
}

func forecastRows(ms []Machine, ref Reference, est ReferenceEstimator) []Row {
	days := Row{Section: SectionForecast, Name: "days to train " + ref.String(), Unit: "days", Better: LowerIsBetter}
	cost := Row{Section: SectionForecast, Name: "cost to train " + ref.String(), Unit: "$", Better: LowerIsBetter}
	for _, m := range ms {
		if est == nil {
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
			continue
		}
		e, err := est(m, ref)
		switch {
		case err != nil:
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: err.Error()})
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: err.Error()})
			continue
		case e.Days > 0:
			days.Cells = append(days.Cells, Cell{State: Value, Value: e.Days})
		default:
			days.Cells = append(days.Cells, Cell{State: Unavailable, Note: forecastUnavailable})
		}
		if e.CostUSD > 0 {
			cost.Cells = append(cost.Cells, Cell{State: Value, Value: e.CostUSD})
		} else {
			cost.Cells = append(cost.Cells, Cell{State: Unavailable, Note: "no price"})
		}
	}
	return []Row{days, cost}
}

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

func notes(t *Table) []string {
	var out []string
	for _, m := range t.Machines {
		out = append(out, fmt.Sprintf("%s: %s, %s on %s, %s", m.Label, m.DeviceName,
			plural(len(m.DeviceIDs), "device")+" ("+strings.Join(m.DeviceIDs, ", ")+")",
			m.Hostname, m.Path))
	}
	for _, m := range t.Machines {
		unknown := map[string]int{}
		for _, x := range m.Measurements {
			switch x.Workload {
			case WorkloadGEMM, WorkloadBlock, WorkloadBandwidth:
			default:
				unknown[x.Workload]++
			}
		}
		var names []string
		for w := range unknown {
			names = append(names, w)
		}
		sort.Strings(names)
		for _, w := range names {
			out = append(out, fmt.Sprintf("%s: %s of workload %q skipped (not compared by this flopcast)", m.Label, plural(unknown[w], "measurement"), w))
		}
		if m.File.Partial {
			out = append(out, m.Label+": the run was interrupted; its file is partial")
		}
	}
	throttled, missing := false, false
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			throttled = throttled || c.Throttled
			missing = missing || c.State == Missing
		}
	}
	if missing {
		out = append(out, "missing: not measured on that machine (never counted as zero)")
	}
	if throttled {
		out = append(out, "†: a measurement behind the figure ran while the device throttled")
	}
	out = append(out, "*: best in its row; figures of several devices are the median over the devices")
	out = append(out, "cost of 10^18 FLOP = price per GPU-hour / (3600 s × best bf16 GEMM FLOP/s) × 10^18")
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
