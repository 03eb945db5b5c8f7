package compare

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
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

// Text is the cell as a table shows it: the value with its spread over
// runs ("805 (799–820, n=4)"), the ratio to the --relative-to column
// ("1.42×"), and the marks "‡" (burst timing), "†" (throttled) and "*"
// (best); "FAILED"; or "-" when there is no value.
func (c Cell) Text(unit string) string {
	switch c.State {
	case Value:
		s := FormatValue(c.Value, unit)
		if c.N > 1 {
			s += fmt.Sprintf(" (%s–%s, n=%d)", FormatValue(c.Min, unit), FormatValue(c.Max, unit), c.N)
		}
		if c.Ratio > 0 {
			s += " " + formatRatio(c.Ratio)
		}
		if c.Burst {
			s += " ‡"
		}
		if c.Throttled {
			s += " †"
		}
		if c.Best {
			s += " *"
		}
		return s
	case Failed:
		return "FAILED"
	}
	return "-"
}

func formatRatio(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.01:
		return strconv.FormatFloat(roundSig(r, 3), 'f', -1, 64) + "×"
	}
	return fmt.Sprintf("%.1e×", r)
}

// MaxWidth is the width the text table keeps to; wider tables turn so
// that columns become rows, split into several tables when needed.
const MaxWidth = 120

// Render writes the table in a format.
func Render(w io.Writer, t *Table, f Format) error {
	switch f {
	case FormatTable:
		return renderText(w, t)
	case FormatMarkdown:
		return renderMarkdown(w, t)
	case FormatCSV:
		return renderCSV(w, t)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	return fmt.Errorf("unknown format %q", f)
}

// textWidth is the width of s in a terminal, one cell per rune.
func textWidth(s string) int { return utf8.RuneCountInString(s) }

// wrap breaks s at spaces into lines of at most width runes (a longer word
// keeps its own line).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case textWidth(line)+1+textWidth(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// grid is a text table: header cells (wrapped to the column width) and
// body rows; the first left columns are left-aligned, the rest right.
type textGrid struct {
	header []string
	body   [][]string
	left   int
}

// widths returns each column's width: its widest body cell, at least
// minHeader and at least the header's longest word.
func (g textGrid) widths(minHeader int) []int {
	ws := make([]int, len(g.header))
	for i, h := range g.header {
		for _, word := range strings.Fields(h) {
			ws[i] = max(ws[i], textWidth(word))
		}
		body := 0
		for _, r := range g.body {
			body = max(body, textWidth(r[i]))
		}
		ws[i] = max(ws[i], body, min(minHeader, textWidth(h)))
	}
	return ws
}

func totalWidth(ws []int) int {
	n := 0
	for _, w := range ws {
		n += w
	}
	return n + 2*(len(ws)-1)
}

func pad(s string, w int, right bool) string {
	n := w - textWidth(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// write prints the grid with two spaces between columns and a rule under
// the header.
func (g textGrid) write(w io.Writer, ws []int) error {
	var heads [][]string
	lines := 0
	for i, h := range g.header {
		hs := wrap(h, ws[i])
		heads = append(heads, hs)
		lines = max(lines, len(hs))
	}
	var b strings.Builder
	line := func(cells []string) {
		var parts []string
		for i, c := range cells {
			parts = append(parts, pad(c, ws[i], i >= g.left))
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " "))
		b.WriteByte('\n')
	}
	for l := 0; l < lines; l++ {
		cells := make([]string, len(g.header))
		for i, hs := range heads {
			// Bottom-align header lines.
			if j := l - (lines - len(hs)); j >= 0 {
				cells[i] = hs[j]
			}
		}
		line(cells)
	}
	rule := make([]string, len(ws))
	for i, x := range ws {
		rule[i] = strings.Repeat("─", x)
	}
	line(rule)
	for _, r := range g.body {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// minHeader is the narrowest a column's header wraps to.
const minHeader = 20

func renderText(w io.Writer, t *Table) error {
	g := textGrid{header: []string{"figure", "unit"}, left: 2}
	for _, c := range t.Columns {
		g.header = append(g.header, c.Label)
	}
	for _, r := range t.Rows {
		line := []string{r.Name, r.Unit}
		for _, c := range r.Cells {
			line = append(line, c.Text(r.Unit))
		}
		g.body = append(g.body, line)
	}
	ws := g.widths(minHeader)
	if totalWidth(ws) <= MaxWidth || len(t.Columns) < 2 {
		if err := g.write(w, ws); err != nil {
			return err
		}
	} else if err := renderTurned(w, t); err != nil {
		return err
	}
	return writeNotes(w, t.Notes)
}

// writeNotes prints notes wrapped to MaxWidth, continuation lines indented.
func writeNotes(w io.Writer, notes []string) error {
	var b strings.Builder
	for _, n := range notes {
		for i, l := range wrap(n, MaxWidth-2) {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(l + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderTurned writes the table with one row per column (machine type)
// and one column per figure, split into as many tables as it takes to
// keep each within MaxWidth.
func renderTurned(w io.Writer, t *Table) error {
	what := map[By]string{ByType: "machine type", ByMachine: "machine", ByFile: "file"}[t.By]
	if what == "" {
		what = "column"
	}
	first := textGrid{header: []string{what}, left: 1}
	for _, c := range t.Columns {
		first.body = append(first.body, []string{c.Label})
	}
	labelW := min(first.widths(minHeader)[0], MaxWidth/2)
	for i := range first.body {
		if r := []rune(first.body[i][0]); len(r) > labelW {
			first.body[i][0] = string(r[:labelW-1]) + "…"
		}
	}
	type col struct {
		head  string
		cells []string
		width int
	}
	var cols []col
	for _, r := range t.Rows {
		c := col{head: r.Name + " (" + r.Unit + ")"}
		for _, cell := range r.Cells {
			c.cells = append(c.cells, cell.Text(r.Unit))
		}
		g := textGrid{header: []string{c.head}}
		for _, s := range c.cells {
			g.body = append(g.body, []string{s})
		}
		c.width = g.widths(minHeader)[0]
		cols = append(cols, c)
	}
	for start := 0; start < len(cols); {
		g := textGrid{header: []string{what}, left: 1}
		ws := []int{labelW}
		end := start
		for end < len(cols) && (end == start || totalWidth(append(ws, cols[end].width)) <= MaxWidth) {
			ws = append(ws, cols[end].width)
			g.header = append(g.header, cols[end].head)
			end++
		}
		for i := range t.Columns {
			line := []string{first.body[i][0]}
			for _, c := range cols[start:end] {
				line = append(line, c.cells[i])
			}
			g.body = append(g.body, line)
		}
		if start > 0 {
			fmt.Fprintln(w)
		}
		if err := g.write(w, ws); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// renderMarkdown writes a Markdown table (columns stay columns: a pull
// request comment scrolls sideways) and the notes as a list.
func renderMarkdown(w io.Writer, t *Table) error {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| figure | unit |")
	for _, c := range t.Columns {
		b.WriteString(" " + esc(c.Label) + " |")
	}
	b.WriteString("\n|---|---|")
	for range t.Columns {
		b.WriteString("---:|")
	}
	b.WriteByte('\n')
	for _, r := range t.Rows {
		b.WriteString("| " + esc(r.Name) + " | " + esc(r.Unit) + " |")
		for _, c := range r.Cells {
			s := c.Text(r.Unit)
			if c.Best {
				s = "**" + strings.TrimSuffix(s, " *") + "**"
			}
			b.WriteString(" " + esc(s) + " |")
		}
		b.WriteByte('\n')
	}
	for i, n := range t.Notes {
		if i == 0 {
			b.WriteByte('\n')
		}
		b.WriteString("- " + esc(strings.ReplaceAll(n, "*", `\*`)) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderCSV writes one line per row and column, so that tools read it
// without parsing a wide header.
func renderCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "figure", "unit", "better", "headline", "column", "state", "value", "min", "max", "n",
		"machines", "burst_timing", "ratio", "best", "throttled", "note"})
	g := func(v float64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	for _, r := range t.Rows {
		for i, c := range r.Cells {
			v, lo, hi, n, machines := "", "", "", "", ""
			if c.State == Value {
				v = strconv.FormatFloat(c.Value, 'g', 6, 64)
				if c.N > 0 {
					lo, hi, n, machines = g(c.Min), g(c.Max), strconv.Itoa(c.N), strconv.Itoa(c.Machines)
				}
			}
			cw.Write([]string{r.Section, r.Name, r.Unit, string(r.Better), strconv.FormatBool(r.Headline), t.Columns[i].Label,
				string(c.State), v, lo, hi, n, machines, strconv.FormatBool(c.Burst), g(c.Ratio),
				strconv.FormatBool(c.Best), strconv.FormatBool(c.Throttled), c.Note})
		}
	}
	cw.Flush()
	return cw.Error()
}
