package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/compare"
)

// fleet writes a section per merged fleet file among the inputs: a column
// per node with its verdict (the straggler marked), a row per figure, and
// per node its GPU×GPU copy matrix as a heatmap with the numbers in a
// table under it. Inputs that are not merged fleet files are skipped.
func (p *page) fleet(inputs []compare.Input) {
	for _, in := range inputs {
		if !compare.IsFleet(in.File) {
			continue
		}
		t, err := compare.BuildFleet(in.File, in.Path)
		if err != nil {
			continue
		}
		p.fleetTable(t)
	}
}

func (p *page) fleetTable(t *compare.FleetTable) {
	p.s("<section id=\"fleet-%s\" class=\"fleet\"><h2>Fleet run %s</h2>\n", esch(t.RunID), esch(t.RunID))
	p.s("<p class=\"sub\">%d ranks on %d nodes, launched by %s", t.WorldSize, len(t.Nodes), esch(t.Launcher))
	if t.Backend != "" {
		p.s(", collectives over %s", esch(t.Backend))
	}
	p.s(". Bandwidths in GB/s (10<sup>9</sup> bytes/s); busbw by nccl-tests' formulas; each cell is the median over the node's ranks.</p>\n")
	p.s("<table class=\"compare fleet\"><thead><tr><th>figure</th><th>unit</th>")
	for _, n := range t.Nodes {
		mark := ""
		if len(n.Straggler) > 0 {
			mark = " ◀ straggler"
		}
		p.s("<th data-node=\"%s\">%s%s</th>", esch(n.Node), esch(n.Node), mark)
	}
	p.s("</tr></thead><tbody>\n<tr><td>verdict</td><td></td>")
	for _, n := range t.Nodes {
		class := "best"
		switch n.Verdict {
		case "FAIL":
			class = "failed"
		case "SKIP", "":
			class = "na"
		}
		text := n.Verdict
		if text == "" {
			text = "-"
		}
		if len(n.Straggler) > 0 {
			text += " (straggler: " + strings.Join(n.Straggler, ", ") + ")"
		}
		var why []string
		for _, r := range n.Reasons {
			s := r.Check
			if r.Message != "" {
				s += ": " + r.Message
			}
			why = append(why, s)
		}
		p.s("<td class=\"%s\" title=\"%s\">%s</td>", class, esch(strings.Join(why, "; ")), esch(text))
	}
	p.s("</tr>\n")
	for _, r := range t.Rows {
		p.s("<tr><td>%s</td><td>%s</td>", esch(r.Label), esch(r.Unit))
		for i, v := range r.Values {
			switch {
			case r.Failed[i]:
				p.s("<td class=\"failed\">FAILED</td>")
			case math.IsNaN(v):
				p.s("<td class=\"na\">-</td>")
			default:
				p.s("<td data-value=\"%s\">%s</td>", raw(v), esch(strconv.FormatFloat(roundTo(v, 3), 'f', -1, 64)))
			}
		}
		p.s("</tr>\n")
	}
	p.s("</tbody></table>\n<ul class=\"notes\">")
	if len(t.Missing) > 0 {
		p.s("<li>missing ranks: %s</li>", esch(fmt.Sprint(t.Missing)))
	}
	for _, s := range t.Stragglers {
		line := compare.StragglerLine(s)
		if s.PValue > 0 && !strings.Contains(s.Message, "p = ") {
			line += fmt.Sprintf(" (Mann–Whitney p = %.3g)", s.PValue)
		}
		p.s("<li>%s</li>", esch(line))
	}
	p.s("</ul>\n")
	for _, m := range t.Matrices {
		p.copyHeatmap(m)
	}
	p.s("</section>\n")
}

// heatColor maps v in [0, 1] from pale to deep blue; NaN is grey.
func heatColor(v float64) string {
	if math.IsNaN(v) {
		return "#eeeeee"
	}
	v = math.Max(0, math.Min(1, v))
	r := int(math.Round(235 - v*(235-33)))
	g := int(math.Round(243 - v*(243-102)))
	b := int(math.Round(251 - v*(251-172)))
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

// copyHeatmap draws one node's one-way GPU×GPU copy matrix as an SVG
// heatmap (row: source, column: destination; colour scaled to the node's
// fastest pair) and the full matrix, both ways and host↔GPU included, in
// the table under it.
func (p *page) copyHeatmap(m compare.CopyMatrix) {
	n := len(m.GPUs)
	p.figure("copy-matrix", fmt.Sprintf("GPU-to-GPU copy bandwidth on %s (rank %d), GB/s, row → column", m.Node, m.Rank))
	top := 0.0
	for _, i := range m.GPUs {
		for _, j := range m.GPUs {
			if v := m.One[i][j]; isFinite(v) {
				top = math.Max(top, v)
			}
		}
	}
	const cellPx, left, head = 56.0, 60.0, 40.0
	w, h := left+cellPx*float64(max(n, 1))+20, head+cellPx*float64(max(n, 1))+30
	b := &svgBuf{}
	b.f(`<svg class="chart heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		w, h, esc("copy bandwidth matrix of "+m.Node))
	for c, j := range m.GPUs {
		b.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">GPU%d</text>`, left+cellPx*(float64(c)+0.5), head-10, j)
	}
	for r, i := range m.GPUs {
		y := head + cellPx*float64(r)
		b.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="end">GPU%d</text>`, left-6, y+cellPx/2+4, i)
		for c, j := range m.GPUs {
			x := left + cellPx*float64(c)
			v := m.One[i][j]
			frac := math.NaN()
			if isFinite(v) && top > 0 {
				frac = v / top
			}
			label := "-"
			switch {
			case m.Failed[i][j]:
				label = "FAIL"
			case isFinite(v):
				label = strconv.FormatFloat(roundTo(v/1e9, 3), 'f', -1, 64)
			}
			fill := heatColor(frac)
			if m.Failed[i][j] {
				fill = "#e8a0a0"
			}
			textFill := "#111"
			if isFinite(frac) && frac > 0.6 {
				textFill = "#fff"
			}
			b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#fff" data-src="%d" data-dst="%d"/>`, x, y, cellPx, cellPx, fill, i, j)
			b.f(`<text class="note" x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, x+cellPx/2, y+cellPx/2+4, textFill, esc(label))
		}
	}
	if n < 2 {
		b.f(`<text class="note" x="%.1f" y="%.1f">one GPU: no GPU-to-GPU link to measure</text>`, 8.0, h-8)
	}
	b.f("</svg>\n")
	p.s("%s", b.String())
	header := []string{"from \\ to"}
	for _, j := range m.GPUs {
		header = append(header, "GPU"+strconv.Itoa(j))
	}
	header = append(header, "both ways with", "host→GPU", "GPU→host")
	var rows [][]cell
	val := func(v float64, key string) cell {
		if !isFinite(v) {
			return txt("-")
		}
		return num(v, strconv.FormatFloat(roundTo(v/1e9, 3), 'f', -1, 64), key)
	}
	for _, i := range m.GPUs {
		row := []cell{txt("GPU" + strconv.Itoa(i))}
		var both []string
		for _, j := range m.GPUs {
			if m.Failed[i][j] {
				row = append(row, txt("FAILED"))
			} else {
				row = append(row, val(m.One[i][j], fmt.Sprintf("copy_peer %d>%d", i, j)))
			}
			if isFinite(m.Both[i][j]) {
				both = append(both, fmt.Sprintf("GPU%d %s", j, strconv.FormatFloat(roundTo(m.Both[i][j]/1e9, 3), 'f', -1, 64)))
			}
		}
		row = append(row, txt(strings.Join(both, ", ")), val(m.H2D[i], fmt.Sprintf("copy_h2d host>%d", i)), val(m.D2H[i], fmt.Sprintf("copy_d2h %d>host", i)))
		rows = append(rows, row)
	}
	p.fallback("copy-matrix", header, rows)
}
