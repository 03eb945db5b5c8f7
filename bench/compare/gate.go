package compare

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/flopcast/flopcast/bench/result"
)

// GateOptions set what counts as a regression.
type GateOptions struct {
	// Threshold is the least relative slowdown that counts, e.g. 0.05.
	Threshold float64
	// Alpha is the significance level of the rank test; 0 means 0.05.
	Alpha float64
	// AllowDifferentMachines pairs a baseline and a new run of different
	// machine types (one type on each side); without it Gate refuses with
	// ErrDifferentMachines.
	AllowDifferentMachines bool
}

// ErrDifferentMachines is returned when the baseline and the new run come
// from different machine types.
var ErrDifferentMachines = errors.New("baseline and new run are from different machine types")

// Verdict is the outcome of one measurement in a gate.
type Verdict string

// Verdicts. Only Regressed and CheckFailed fail the gate.
const (
	Regressed       Verdict = "regressed"
	CheckFailed     Verdict = "FAILED"
	Improved        Verdict = "improved"
	Unchanged       Verdict = "unchanged"
	WithinNoise     Verdict = "within noise"
	BaselineNotUsed Verdict = "baseline not used"
	NoBaseline      Verdict = "no baseline"
	NotInNew        Verdict = "not in new run"
)

// Change is one measurement of the new run against its baseline.
type Change struct {
	Machine     string `json:"machine"`
	Measurement string `json:"measurement"`
	Unit        string `json:"unit,omitempty"`
	// Old and New are the figures in Unit (throughput, or step time for
	// the block); zero when absent.
	Old float64 `json:"old,omitempty"`
	New float64 `json:"new,omitempty"`
	// Speed is oldTime/newTime − 1: negative when the new run is slower.
	Speed float64 `json:"speed_change"`
	// P is the p-value of the rank test; negative when none was run.
	P       float64 `json:"p"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
}

// GateResult is the outcome of a regression gate.
type GateResult struct {
	Threshold float64  `json:"threshold"`
	Alpha     float64  `json:"alpha"`
	Changes   []Change `json:"changes"`
	// Regressions counts the Regressed and CheckFailed changes.
	Regressions int `json:"regressions"`
	// Problems say why the new run cannot pass whatever its figures: it
	// holds no usable measurement, or it is partial.
	Problems []string `json:"problems,omitempty"`
	// Missing lists the baseline measurements absent from the new run.
	Missing []string `json:"missing,omitempty"`
	// Unpaired lists the new run's machines whose type the baseline lacks
	// (not gated).
	Unpaired []string `json:"unpaired,omitempty"`
	// Differences name the fields in which the machine types of the two
	// sides differ (only with AllowDifferentMachines).
	Differences []string `json:"machine_differences,omitempty"`
}

// Failed reports whether the gate fails: a regression, a failed check, or
// a problem with the new run.
func (g *GateResult) Failed() bool { return g.Regressions > 0 || len(g.Problems) > 0 }

// typeDifferences names the fields in which two machine types differ.
func typeDifferences(a, b MachineType) []string {
	var out []string
	diff := func(field string, x, y any) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %v ≠ %v", field, quoteIf(x), quoteIf(y)))
		}
	}
	diff("device kind", a.Kind, b.Kind)
	diff("device", a.DeviceName, b.DeviceName)
	diff("GPUs per machine", a.GPUs, b.GPUs)
	diff("CPU model", a.CPUModel, b.CPUModel)
	diff("logical CPUs", a.Cores, b.Cores)
	diff("instance type", a.InstanceType, b.InstanceType)
	return out
}

func quoteIf(v any) any {
	if s, ok := v.(string); ok {
		if s == "" {
			return "(none)"
		}
		return strconv.Quote(s)
	}
	return v
}

// measurementKey names a configuration on a device, for matching runs.
func measurementKey(m result.Measurement) (key, unit string, ok bool) {
	key, unit, ok = rawMeasurementKey(m)
	return Clean(key), unit, ok
}

func rawMeasurementKey(m result.Measurement) (key, unit string, ok bool) {
	switch m.Workload {
	case WorkloadGEMM:
		return m.Device + " gemm " + keyOfGEMM(m).String(), "TFLOP/s", true
	case WorkloadBandwidth:
		return fmt.Sprintf("%s bandwidth %s %s %dB", m.Device, m.Label, m.DType, m.Bytes), "GB/s", true
	case WorkloadBlock:
		return m.Device + " block " + BlockName(m), "ms/step", true
	}
	return "", "", false
}

// figure is a measurement's number in the unit of measurementKey.
func figure(m result.Measurement, unit string) float64 {
	if !usable(m) {
		return 0
	}
	switch unit {
	case "TFLOP/s":
		return m.FLOPPerSecond / 1e12
	case "GB/s":
		return BandwidthBytesPerSecond(m) / 1e9
	}
	return m.Seconds.Median * 1e3
}

// Gate compares the new runs with the baseline runs. Machines are paired by
// Machine.Key, or directly when each side holds one machine; measurements by
// device, workload, dtype and shape. Among several baseline runs of a
// machine the newest usable measurement is the baseline; throttled and
// unverified measurements are never used and are reported as such.
func Gate(baseline, current []Input, opt GateOptions) (*GateResult, error) {
	if opt.Alpha <= 0 {
		opt.Alpha = 0.05
	}
	oldMs, newMs := Machines(baseline), Machines(current)
	if len(oldMs) == 0 || len(newMs) == 0 {
		return nil, fmt.Errorf("%w: a side holds no measurements", ErrNothingInCommon)
	}
	res := &GateResult{Threshold: opt.Threshold, Alpha: opt.Alpha}
	oldTypes, newTypes := map[string]MachineType{}, map[string]MachineType{}
	for _, m := range oldMs {
		oldTypes[m.Type] = TypeOf(m)
	}
	for _, m := range newMs {
		newTypes[m.Type] = TypeOf(m)
	}
	// One type on each side but not the same: refuse unless allowed.
	crossed := false
	if len(oldTypes) == 1 && len(newTypes) == 1 && oldMs[0].Type != newMs[0].Type {
		d := typeDifferences(TypeOf(oldMs[0]), TypeOf(newMs[0]))
		if !opt.AllowDifferentMachines {
			return nil, fmt.Errorf("%w: %s (--allow-different-machines compares them anyway)", ErrDifferentMachines, strings.Join(d, ", "))
		}
		res.Differences = d
		crossed = true
	}
	matched := false
	for _, nm := range newMs {
		var olds []Machine
		for _, om := range oldMs {
			if om.Type == nm.Type || crossed {
				olds = append(olds, om)
			}
		}
		if len(olds) == 0 {
			res.Unpaired = append(res.Unpaired, nm.Label)
			continue
		}
		// Baseline candidates per key, newest file first.
		cands := map[string][]result.Measurement{}
		var oldKeys []string
		sortNewestFirst(olds)
		for _, om := range olds {
			for _, x := range om.Measurements {
				k, _, ok := measurementKey(x)
				if !ok {
					continue
				}
				if cands[k] == nil {
					oldKeys = append(oldKeys, k)
				}
				cands[k] = append(cands[k], x)
			}
		}
		seen := map[string]bool{}
		for _, x := range nm.Measurements {
			k, unit, ok := measurementKey(x)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			c := judge(cands[k], x, unit, opt)
			c.Machine, c.Measurement = nm.Label, k
			if c.Verdict != NoBaseline {
				matched = true
			}
			res.Changes = append(res.Changes, c)
		}
		for _, k := range oldKeys {
			if !seen[k] {
				res.Changes = append(res.Changes, Change{Machine: nm.Label, Measurement: k, P: -1, Verdict: NotInNew})
			}
		}
	}
	if !matched {
		if len(oldTypes) > 0 && len(newTypes) > 0 && !crossed {
			same := false
			for k := range newTypes {
				if _, ok := oldTypes[k]; ok {
					same = true
				}
			}
			if !same {
				return nil, fmt.Errorf("%w: no machine type of the new run is in the baseline (baseline: %s; new: %s)", ErrDifferentMachines, typeLabels(oldTypes), typeLabels(newTypes))
			}
		}
		return nil, fmt.Errorf("%w: no measurement of the new run has a baseline measurement of the same machine type, device, dtype and shape", ErrNothingInCommon)
	}
	for _, c := range res.Changes {
		if c.Verdict == Regressed || c.Verdict == CheckFailed {
			res.Regressions++
		}
		if c.Verdict == NotInNew {
			res.Missing = append(res.Missing, c.Machine+": "+c.Measurement)
		}
	}
	// A gate that can pass on nothing is no gate.
	usableNew, skipped, failed, unverified := 0, 0, 0, 0
	for _, nm := range newMs {
		for _, x := range nm.Measurements {
			switch {
			case usable(x):
				usableNew++
			case x.Status == result.StatusSkipped:
				skipped++
			case x.Status == result.StatusFailed:
				failed++
			default:
				unverified++
			}
		}
	}
	if usableNew == 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("the new run holds no usable measurement (%d skipped, %d failed, %d unverified)", skipped, failed, unverified))
	}
	partial := map[string]bool{}
	for _, in := range current {
		if in.File.Partial && !partial[in.Path] {
			partial[in.Path] = true
			res.Problems = append(res.Problems, Clean(in.Path)+" is partial: the run was interrupted before it finished")
		}
	}
	return res, nil
}

func typeLabels(ts map[string]MachineType) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Label)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func sortNewestFirst(ms []Machine) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Created.After(ms[j-1].Created); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// judge compares one new measurement with its baseline candidates.
func judge(cands []result.Measurement, x result.Measurement, unit string, opt GateOptions) Change {
	c := Change{Unit: unit, P: -1, New: figure(x, unit)}
	if len(cands) == 0 {
		c.Verdict = NoBaseline
		return c
	}
	var base *result.Measurement
	throttled, unverified := 0, 0
	for i := range cands {
		switch {
		case !usable(cands[i]):
			unverified++
		case Throttled(cands[i]):
			throttled++
		case base == nil:
			base = &cands[i]
		}
	}
	if base == nil {
		c.Verdict = BaselineNotUsed
		switch {
		case throttled > 0 && unverified > 0:
			c.Reason = "baseline throttled or unverified"
		case throttled > 0:
			c.Reason = "baseline throttled"
		default:
			c.Reason = "baseline unverified (failed or skipped its check)"
		}
		return c
	}
	c.Old = figure(*base, unit)
	if x.Status == result.StatusFailed {
		c.Verdict, c.Reason = CheckFailed, "the new run failed its correctness check"
		return c
	}
	if !usable(x) {
		c.Verdict, c.Reason = NotInNew, "skipped or unverified in the new run"
		return c
	}
	oldT, newT := base.Seconds.Median, x.Seconds.Median
	c.Speed = oldT/newT - 1
	var reasons []string
	significant := true
	switch {
	case len(base.Samples) >= 2 && len(x.Samples) >= 2:
		c.P = MannWhitney(base.Samples, x.Samples)
		significant = c.P < opt.Alpha
		if !significant && minP(len(base.Samples), len(x.Samples)) >= opt.Alpha {
			reasons = append(reasons, fmt.Sprintf("too few samples (%d and %d) for a rank test at alpha %g", len(base.Samples), len(x.Samples), opt.Alpha))
		}
	default:
		// Without samples, the recorded interquartile ranges must not
		// overlap.
		significant = x.Seconds.P25 > base.Seconds.P75 || x.Seconds.P75 < base.Seconds.P25
		reasons = append(reasons, "no samples stored: judged by the recorded interquartile ranges")
	}
	switch {
	case math.Abs(c.Speed) <= opt.Threshold:
		c.Verdict = Unchanged
	case !significant:
		c.Verdict = WithinNoise
	case c.Speed < 0:
		c.Verdict = Regressed
	default:
		c.Verdict = Improved
	}
	if Throttled(x) {
		reasons = append(reasons, "the new run throttled")
	}
	c.Reason = strings.Join(reasons, "; ")
	return c
}

// minP is the smallest two-sided p-value the rank test can give for samples
// of n1 and n2: 2 / C(n1+n2, n1).
func minP(n1, n2 int) float64 {
	lg := func(n int) float64 { v, _ := math.Lgamma(float64(n + 1)); return v }
	return 2 * math.Exp(lg(n1)+lg(n2)-lg(n1+n2))
}

// RenderGate writes a gate's outcome in a format, ending with a summary
// line in the text formats.
func RenderGate(w io.Writer, g *GateResult, f Format) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(g)
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.Write([]string{"machine", "measurement", "unit", "old", "new", "speed_change", "p", "verdict", "reason"})
		for _, c := range g.Changes {
			cw.Write([]string{c.Machine, c.Measurement, c.Unit, num(c.Old), num(c.New), num(c.Speed), num(c.P), string(c.Verdict), c.Reason})
		}
		cw.Flush()
		return cw.Error()
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{
			tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}}),
	}
	if f == FormatMarkdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	tab := tablewriter.NewTable(w, opts...)
	tab.Header([]string{"machine", "measurement", "baseline", "new", "change", "p", "verdict", "why"})
	var body [][]string
	for _, c := range g.Changes {
		old, nw, change, p := "—", "—", "—", "—"
		if c.Old > 0 {
			old = FormatValue(c.Old, "") + " " + c.Unit
		}
		if c.New > 0 {
			nw = FormatValue(c.New, "") + " " + c.Unit
		}
		if c.Old > 0 && c.New > 0 {
			change = fmt.Sprintf("%+.1f%%", 100*c.Speed)
		}
		switch {
		case c.P >= 0.001:
			p = fmt.Sprintf("%.3f", c.P)
		case c.P >= 0:
			p = "<0.001"
		}
		body = append(body, []string{c.Machine, c.Measurement, old, nw, change, p, string(c.Verdict), c.Reason})
	}
	if err := tab.Bulk(body); err != nil {
		return err
	}
	if err := tab.Render(); err != nil {
		return err
	}
	var b strings.Builder
	if len(g.Differences) > 0 {
		fmt.Fprintf(&b, "machine types differ (allowed): %s\n", strings.Join(g.Differences, ", "))
	}
	if len(g.Missing) > 0 {
		fmt.Fprintf(&b, "%s of the baseline not in the new run: %s\n", plural(len(g.Missing), "measurement"), strings.Join(g.Missing, "; "))
	}
	if len(g.Unpaired) > 0 {
		fmt.Fprintf(&b, "not gated, no baseline of their machine type: %s\n", strings.Join(g.Unpaired, "; "))
	}
	for _, p := range g.Problems {
		fmt.Fprintf(&b, "gate fails: %s\n", p)
	}
	fmt.Fprintf(&b, "%s regressed (threshold %g%%, alpha %g; change is speed: negative is slower)\n",
		plural(g.Regressions, "measurement"), 100*g.Threshold, g.Alpha)
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// ParseThreshold reads a threshold such as "5%" or "5" (percent) and
// returns it as a fraction.
func ParseThreshold(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a percentage (e.g. 5%%)", s)
	}
	if v < 0 || v >= 100 {
		return 0, fmt.Errorf("%q must be between 0%% and 100%%", s)
	}
	return v / 100, nil
}
