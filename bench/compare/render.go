package compare

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format is an output format of compare.
type Format string

// The formats compare writes.
const (
	FormatTable    Format = "table"
	FormatMarkdown Format = "markdown"
	FormatCSV      Format = "csv"
	FormatJSON     Format = "json"
)

// Formats lists the formats, for help and errors.
var Formats = []Format{FormatTable, FormatMarkdown, FormatCSV, FormatJSON}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	var names []string
	for _, f := range Formats {
		if string(f) == strings.ToLower(s) {
			return f, nil
		}
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown format %q (known: %s)", s, strings.Join(names, ", "))
}

// SI formats v with an SI prefix and three significant digits: 15T, 1.5G.
func SI(v float64) string {
	for _, p := range []struct {
		scale float64
		sym   string
	}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= p.scale {
			return strconv.FormatFloat(roundSig(v/p.scale, 3), 'f', -1, 64) + p.sym
		}
	}
	return strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64)
}

func roundSig(v float64, digits int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, float64(digits-1)-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// FormatValue formats a figure in a unit for people: three or four
// significant digits, money with a dollar sign.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "$":
		if math.Abs(v) >= 1e6 {
			return "$" + SI(v)
		}
		if math.Abs(v) >= 100 {
			return fmt.Sprintf("$%.0f", v)
		}
		return fmt.Sprintf("$%.3g", v)
	case "$/GPU-hour":
		return fmt.Sprintf("$%.2f", v)
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "tokens/s", "tokens/$":
		return SI(v)
	}
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 2-int(math.Floor(math.Log10(a))), 64)
}

// Text is the cell as a table shows it: the value (with "*" when best and
// "†" when throttled), "missing", "FAILED", or "—" / the note when
// unavailable.
func (c Cell) Text(unit string) string {
	switch c.State {
	case Value:
		s := FormatValue(c.Value, unit)
		if c.Throttled {
			s += " †"
		}
		if c.Best {
			s += " *"
		}
		return s
	case Missing:
		return "missing"
	case Failed:
		return "FAILED"
	}
	if c.Note == forecastUnavailable {
		return c.Note
	}
	return "—"
}

// Render writes the table in a format.
func Render(w io.Writer, t *Table, f Format) error {
	switch f {
	case FormatTable, FormatMarkdown:
		return renderText(w, t, f)
	case FormatCSV:
		return renderCSV(w, t)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	return fmt.Errorf("unknown format %q", f)
}

func renderText(w io.Writer, t *Table, f Format) error {
	align := []tw.Align{tw.AlignLeft, tw.AlignLeft}
	header := []string{"figure", "unit"}
	for _, m := range t.Machines {
		header = append(header, m.Label)
		align = append(align, tw.AlignRight)
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
	}
	if f == FormatMarkdown {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	tab := tablewriter.NewTable(w, opts...)
	tab.Header(header)
	var body [][]string
	for _, r := range t.Rows {
		line := []string{r.Name, r.Unit}
		for _, c := range r.Cells {
			s := c.Text(r.Unit)
			if f == FormatMarkdown && c.Best {
				s = "**" + strings.TrimSuffix(s, " *") + "**"
			}
			line = append(line, s)
		}
		body = append(body, line)
	}
	if err := tab.Bulk(body); err != nil {
		return err
	}
	if err := tab.Render(); err != nil {
		return err
	}
	for i, n := range t.Notes {
		if f == FormatMarkdown {
			if i == 0 {
				fmt.Fprintln(w)
			}
			n = "- " + strings.ReplaceAll(n, "*", `\*`)
		}
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// renderCSV writes one line per row and machine, so that tools read it
// without parsing a wide header.
func renderCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "figure", "unit", "better", "machine", "state", "value", "best", "throttled", "note"})
	for _, r := range t.Rows {
		for i, c := range r.Cells {
			v := ""
			if c.State == Value {
				v = strconv.FormatFloat(c.Value, 'g', 6, 64)
			}
			cw.Write([]string{r.Section, r.Name, r.Unit, string(r.Better), t.Machines[i].Label, string(c.State), v,
				strconv.FormatBool(c.Best), strconv.FormatBool(c.Throttled), c.Note})
		}
	}
	cw.Flush()
	return cw.Error()
}
