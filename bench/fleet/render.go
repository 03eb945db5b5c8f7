package fleet

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/bench/result"
)

// ParseByteSizes parses a comma-separated list of sizes: plain bytes or
// with a unit B, KiB, MiB, GiB (powers of two) or KB, MB, GB (powers of
// ten), e.g. "4KiB,1MiB,64".
func ParseByteSizes(list string) ([]int64, error) {
	var out []int64
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		num := strings.TrimRight(item, "KMGiBkmgb")
		unit := strings.ToLower(item[len(num):])
		mult := map[string]int64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 1e3, "mb": 1e6, "gb": 1e9, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if mult == 0 || err != nil || n <= 0 || n > (1<<40)/mult {
			return nil, fmt.Errorf("size %q: want bytes, e.g. 4096, 64KiB or 1MiB", item)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no sizes")
	}
	return out, nil
}

// Summary prints the merged file for a person: the collectives per scope
// (fleet median and slowest rank of busbw in GB/s), the pair tests, the
// stragglers, each node's verdict with its reasons, and the drain
// commands (printed, never run).
func Summary(w io.Writer, f *result.File) {
	fl := f.Fleet
	nodes := map[string]bool{}
	for _, h := range fl.Ranks {
		nodes[h.Node] = true
	}
	fmt.Fprintf(w, "fleet run %s: %d ranks on %d nodes (%s), collectives over %s\n", fl.RunID, fl.WorldSize, len(nodes), fl.Launcher, orDash(fl.Backend))
	if len(fl.Missing) > 0 {
		fmt.Fprintf(w, "missing: %s\n", rankList(fl.Missing))
	}
	type row struct {
		scope, op, group string
		bytes            int64
		bus              []float64
		slowest          int
		wrong            int64
		failed           bool
	}
	var rows []*row
	idx := map[string]*row{}
	for _, m := range f.Measurements {
		if (m.Workload != result.WorkloadComm && m.Workload != result.WorkloadP2P) || m.Collective == "" || m.Rank == nil {
			continue
		}
		group := strings.Join(m.Nodes, "-")
		if m.Scope == result.ScopeIntraNode {
			group = "" // one row for every node's group
		}
		if isStraggler(m) {
			group = "straggler test"
		} else if strings.HasPrefix(m.Label, "second pass") {
			group += " (2nd pass)"
		}
		k := fmt.Sprint(m.Scope, m.Collective, m.Bytes, group)
		r, ok := idx[k]
		if !ok {
			r = &row{scope: m.Scope, op: m.Collective, group: group, bytes: m.Bytes, slowest: -1}
			idx[k] = r
			rows = append(rows, r)
		}
		r.wrong += m.WrongElements
		if m.Status != result.StatusOK {
			r.failed = true
			continue
		}
		if r.slowest < 0 || m.BusBytesPerSecond < minOf(r.bus) {
			r.slowest = *m.Rank
		}
		r.bus = append(r.bus, m.BusBytesPerSecond)
	}
	if len(rows) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "scope\tcollective\tsize\tbusbw GB/s (1e9 B/s), median\tslowest rank\tnote")
		for _, r := range rows {
			note := r.group
			if r.wrong > 0 {
				note = strings.TrimSpace(note + fmt.Sprintf(" %d wrong elements: no bandwidth", r.wrong))
			} else if r.failed {
				note = strings.TrimSpace(note + " failed on a rank")
			}
			med, slow := "-", "-"
			if len(r.bus) > 0 && r.wrong == 0 {
				med = fmt.Sprintf("%.3f", median(r.bus)/1e9)
				slow = fmt.Sprintf("%.3f (rank %d)", minOf(r.bus)/1e9, r.slowest)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.scope, r.op, byteSize(r.bytes), med, slow, note)
		}
		tw.Flush()
	}
	rankTable(w, f)
	if len(fl.Stragglers) > 0 {
		fmt.Fprintln(w, "\nstragglers:")
		for _, s := range fl.Stragglers {
			fmt.Fprintf(w, "  rank %d (node %s) %s: %s (p = %.2g)\n", s.Rank, s.Node, s.Check, s.Message, s.PValue)
		}
	}
	fmt.Fprintln(w, "\nverdicts:")
	vs := append([]result.Verdict(nil), fl.Verdicts...)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Node < vs[j].Node })
	for _, v := range vs {
		fmt.Fprintf(w, "  %-4s %s\n", v.Verdict, v.Node)
		for _, r := range v.Reasons {
			fig := ""
			if r.Unit != "" {
				fig = fmt.Sprintf(" (measured %.4g %s, threshold %.4g %s)", r.Measured, r.Unit, r.Threshold, r.Unit)
			}
			fmt.Fprintf(w, "         %s: %s%s\n", r.Check, r.Message, fig)
		}
	}
	if cmds := DrainCommands(f); len(cmds) > 0 {
		fmt.Fprintln(w, "\nto take the failed nodes out of service (printed, not run):")
		for _, c := range cmds {
			fmt.Fprintln(w, "  "+c)
		}
	}
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v[1:] {
		m = min(m, x)
	}
	return m
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rankTable prints per rank the straggler test's collective time and wait
// after the fixed local phase, how late the rank arrived, and its local
// GEMM throughput.
func rankTable(w io.Writer, f *result.File) {
	type fig struct {
		coll, wait, late, gflops float64
		has                      bool
	}
	figs := map[int]*fig{}
	get := func(r int) *fig {
		if figs[r] == nil {
			figs[r] = &fig{}
		}
		return figs[r]
	}
	waits := map[int][]float64{}
	for _, m := range f.Measurements {
		if m.Rank == nil || m.Status != result.StatusOK {
			continue
		}
		switch {
		case isStraggler(m):
			g := get(*m.Rank)
			if m.Seconds != nil {
				g.coll = m.Seconds.Median
			}
			g.wait, g.has = median(m.WaitSeconds), true
			waits[*m.Rank] = m.WaitSeconds
		case isLocal(m):
			g := get(*m.Rank)
			g.gflops, g.has = m.FLOPPerSecond/1e9, true
		}
	}
	if len(figs) == 0 {
		return
	}
	if len(waits) > 1 {
		late, _ := lateness(waits)
		for r, l := range late {
			get(r).late = median(l)
		}
	}
	node := map[int]string{}
	for _, h := range f.Fleet.Ranks {
		node[h.Rank] = h.Node
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tnode\tall-reduce ms (median)\twait after local phase ms\tlate by ms\tlocal GEMM GFLOP/s")
	for _, r := range slices.Sorted(maps.Keys(figs)) {
		g := figs[r]
		cell := func(v float64, scale float64, ok bool) string {
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.2f", v*scale)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r, node[r], cell(g.coll, 1e3, g.coll > 0), cell(g.wait, 1e3, len(waits[r]) > 0),
			cell(g.late, 1e3, len(waits) > 1 && len(waits[r]) > 0), cell(g.gflops, 1, g.gflops > 0))
	}
	tw.Flush()
}
