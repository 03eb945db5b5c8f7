// Package report renders results files for people and for other tools:
// tables (text, Markdown, CSV), Go benchmark lines for benchstat, and JSON.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/result"
)

// Format is an output format.
type Format string

// The formats Render knows.
const (
	Table    Format = "table"
	JSON     Format = "json"
	CSV      Format = "csv"
	Markdown Format = "markdown"
	BenchFmt Format = "benchfmt"
)

// Formats lists every format, for help and error messages.
var Formats = []Format{Table, JSON, CSV, Markdown, BenchFmt}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == strings.ToLower(s) {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q (known: %s)", s, strings.Join(names, ", "))
}

// Render writes f in the given format.
func Render(w io.Writer, f *result.File, format Format) error {
	switch format {
	case Table, Markdown:
		return renderTable(w, f, format)
	case CSV:
		return renderCSV(w, f)
	case JSON:
		return result.Encode(w, f)
	case BenchFmt:
		return renderBenchFmt(w, f)
	}
	return fmt.Errorf("unknown format %q", format)
}

var header = []string{"device", "dtype", "shape", "m×n×k", "median", "spread (IQR)", "throughput", "% peak", "rel error", "check"}

// rows builds the table body; the throughput column uses one unit for the
// whole table.
func rows(f *result.File) [][]string {
	unit, scale := rateUnit(f.Measurements)
	spreads := map[int]Spread{} // by the index of the group's last row
	for _, s := range Spreads(f.Measurements) {
		spreads[s.Last] = s
	}
	var out [][]string
	for i, m := range f.Measurements {
		median, spread, rate, peak := "—", "—", "—", "—"
		if m.Seconds != nil {
			median = Duration(m.Seconds.Median)
			spread = fmt.Sprintf("%.1f%%", 100*m.Seconds.RelIQR)
			if m.Noisy {
				spread += " noisy"
			}
		}
		// An unverified figure is never shown as a throughput.
		if m.Status == result.StatusOK && m.Verified && m.FLOPPerSecond > 0 {
			rate = fmt.Sprintf("%.1f %s", m.FLOPPerSecond/scale, unit)
			if m.PeakFLOPPerSecond > 0 {
				peak = percentOfPeak(m.FLOPPerSecond, m.PeakFLOPPerSecond)
			}
		}
		if m.Workload == "bandwidth" && m.Status == result.StatusOK && m.Verified && m.BytesPerSecond > 0 {
			rate = fmt.Sprintf("%.1f GB/s", m.BytesPerSecond/1e9)
			if m.PeakBytesPerSecond > 0 {
				peak = percentOfPeak(m.BytesPerSecond, m.PeakBytesPerSecond)
			}
		}
		rel := "—"
		if m.RelError != nil {
			rel = fmt.Sprintf("%.1e", *m.RelError)
		}
		check := "✓"
		switch {
		case m.Status == result.StatusFailed:
			check = "FAILED"
		case m.Status == result.StatusSkipped:
			check = "skipped"
		case !m.Verified:
			check = "unverified"
		}
		label := m.Label
		if label == "" {
			label = m.Workload
		}
		out = append(out, []string{compare.Clean(m.Device), compare.Clean(m.DType), compare.Clean(label), compare.Clean(shapeText(m)), median, spread, rate, peak, rel, check})
		if s, ok := spreads[i]; ok {
			out = append(out, spreadRow(f.Measurements, s, unit, scale))
		}
	}
	return out
}

// MaxPercentOfPeak is the most of its peak a figure is shown at: a CPU's
// peak is an estimate from the clock the OS shows, which a VM may report
// below the boost clock, so a little over 100% happens; twice the peak
// never does (a corrupt file, or a wrong peak) and is shown as "?".
const MaxPercentOfPeak = 200

// percentOfPeak formats v as a percentage of peak.
func percentOfPeak(v, peak float64) string {
	p := 100 * v / peak
	if !(p >= 0 && p <= MaxPercentOfPeak) {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// shapeText is the m×n×k column: the GEMM shape, or for a block the
// architecture and seq×batch.
func shapeText(m result.Measurement) string {
	if b := m.Block; b != nil {
		return fmt.Sprintf("%s seq %d×%d", b.Arch, b.Seq, b.Batch)
	}
	if m.Workload == "bandwidth" {
		return fmt.Sprintf("%.0f MiB moved", float64(m.Bytes)/(1<<20))
	}
	return m.Shape.String()
}

// rateUnit picks GFLOP/s or TFLOP/s for the largest throughput.
func rateUnit(ms []result.Measurement) (string, float64) {
	var top float64
	for _, m := range ms {
		top = math.Max(top, m.FLOPPerSecond)
	}
	if top >= 1e12 {
		return "TFLOP/s", 1e12
	}
	return "GFLOP/s", 1e9
}

func renderTable(w io.Writer, f *result.File, format Format) error {
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{
			tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight,
			tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft}}),
	}
	if format == Markdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	t := tablewriter.NewTable(w, opts...)
	t.Header(header)
	if err := t.Bulk(rows(f)); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	for i, line := range Footnotes(f) {
		if format == Markdown {
			if i == 0 {
				fmt.Fprintln(w)
			}
			line = "- " + line
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// Footnotes returns the lines printed under a table: what ran where, and
// every measurement's notes.
func Footnotes(f *result.File) []string {
	var out []string
	for _, d := range f.Devices {
		line := fmt.Sprintf("%s: %s", d.ID, d.Name)
		if l := d.Library; l != nil {
			line += "; BLAS " + strings.TrimSpace(l.Name+" "+l.Version)
			if l.Threads > 0 {
				line += fmt.Sprintf(", %d threads", l.Threads)
			}
			if l.Fallback != "" {
				line += " (OpenBLAS not used: " + l.Fallback + ")"
			}
		}
		if d.PeakBasis != "" {
			line += "; peak " + d.PeakBasis
		}
		out = append(out, line)
	}
	if f.Host.InstanceType != "" {
		out = append(out, "instance: "+f.Host.InstanceType)
	}
	for _, m := range f.Measurements {
		for _, n := range m.Notes {
			out = append(out, fmt.Sprintf("%s %s %s: %s", m.Device, m.DType, shapeText(m), n))
		}
	}
	if f.Partial {
		out = append(out, "partial: the run was interrupted; only finished measurements are shown")
	}
	for i := range out {
		out[i] = compare.Clean(out[i])
	}
	return out
}

func renderCSV(w io.Writer, f *result.File) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"device", "workload", "label", "dtype", "m", "n", "k", "flops",
		"median_s", "min_s", "max_s", "p25_s", "p75_s", "rel_iqr", "flop_per_second",
		"peak_flop_per_second", "status", "verified", "rel_error", "noisy", "seed"})
	for _, m := range f.Measurements {
		var med, mn, mx, p25, p75, iqr string
		if s := m.Seconds; s != nil {
			med, mn, mx, p25, p75, iqr = g(s.Median), g(s.Min), g(s.Max), g(s.P25), g(s.P75), g(s.RelIQR)
		}
		rel := ""
		if m.RelError != nil {
			rel = g(*m.RelError)
		}
		c := compare.Clean
		cw.Write([]string{c(m.Device), c(m.Workload), c(m.Label), c(m.DType),
			fmt.Sprint(m.Shape.M), fmt.Sprint(m.Shape.N), fmt.Sprint(m.Shape.K), g(m.FLOPs),
			med, mn, mx, p25, p75, iqr, g(m.FLOPPerSecond), g(m.PeakFLOPPerSecond),
			c(m.Status), fmt.Sprint(m.Verified), rel, fmt.Sprint(m.Noisy), fmt.Sprint(m.Seed)})
	}
	cw.Flush()
	return cw.Error()
}

func g(v float64) string { return fmt.Sprintf("%.6g", v) }

// renderBenchFmt writes Go benchmark lines, one per timed call, so that
// benchstat can compare the files of two machines:
//
//	BenchmarkGEMM/dtype=fp32/shape=2048x2048x2048 1 112345678 ns/op 152.9 GFLOP/s
func renderBenchFmt(w io.Writer, f *result.File) error {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\n", compare.Clean(f.Host.OS), compare.Clean(f.Host.Arch))
	if f.Host.CPUModel != "" {
		fmt.Fprintf(w, "cpu: %s\n", compare.Clean(f.Host.CPUModel))
	}
	fmt.Fprintf(w, "pkg: flopcast\n")
	devices := map[string]string{}
	for _, d := range f.Devices {
		devices[compare.Clean(d.ID)] = compare.Clean(d.Name)
	}
	ids := make([]string, 0, len(devices))
	for id := range devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "device-%s: %s\n", id, devices[id])
	}
	for _, m := range f.Measurements {
		if m.Status != result.StatusOK {
			continue
		}
		name := fmt.Sprintf("Benchmark%s/dtype=%s/shape=%s", strings.ToUpper(compare.Clean(m.Workload)), compare.Clean(m.DType), m.Shape)
		if m.Label != "" && m.Label != "square" {
			name += "/op=" + compare.Clean(m.Label)
		}
		for _, s := range m.Samples {
			rate := fmt.Sprintf("%.2f GFLOP/s", m.FLOPs/s/1e9)
			if m.Workload == "bandwidth" {
				rate = fmt.Sprintf("%.2f MB/s", float64(m.Bytes)/s/1e6)
			}
			if _, err := fmt.Fprintf(w, "%s 1 %.0f ns/op %s\n", name, s*1e9, rate); err != nil {
				return err
			}
		}
	}
	return nil
}

// Duration formats seconds with a unit that keeps three or four digits.
func Duration(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.2f ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.1f µs", s*1e6)
	}
	return fmt.Sprintf("%.0f ns", s*1e9)
}
