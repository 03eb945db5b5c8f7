package compare

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
)

// A merged fleet file (flopcast fleet run's fleet-<run id>.json) side by
// side: a column per node, its verdict, the stragglers marked, a row per
// collective figure, and per node the GPU×GPU copy matrix.

// IsFleet reports whether f is a merged fleet file: a fleet block written
// by rank 0 for the whole run (a rank's own file carries its rank).
func IsFleet(f *result.File) bool { return f != nil && f.Fleet != nil && f.Fleet.Rank == nil }

// FleetNode is one column: a node, its ranks and verdict.
type FleetNode struct {
	Node    string          `json:"node"`
	Ranks   []int           `json:"ranks"`
	Verdict string          `json:"verdict,omitempty"`
	Reasons []result.Reason `json:"reasons,omitempty"`
	// Straggler lists the straggler checks that named a rank of the node
	// ("wait", "local_gemm", "link").
	Straggler []string `json:"straggler,omitempty"`
	// Missing: ranks of the node never arrived or sent nothing.
	Missing bool `json:"missing,omitempty"`
}

// FleetRow is one figure across the nodes: the median over each node's
// ranks (NaN where the node has none), and whether any of them failed its
// check (a failed figure shows no value).
type FleetRow struct {
	Key    string    `json:"key"`
	Label  string    `json:"label"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"-"`
	Failed []bool    `json:"failed"`
	// HigherIsBetter is false for times (the straggler wait).
	HigherIsBetter bool `json:"higher_is_better"`
}

// MarshalJSON writes NaN values as null.
func (r FleetRow) MarshalJSON() ([]byte, error) {
	type plain FleetRow
	vals := make([]*float64, len(r.Values))
	for i, v := range r.Values {
		if !math.IsNaN(v) {
			vals[i] = &r.Values[i]
		}
	}
	return json.Marshal(struct {
		plain
		Values []*float64 `json:"values"`
	}{plain(r), vals})
}

// CopyMatrix is one node's GPU×GPU copy bandwidth (bytes/s): One[i][j]
// is GPU i → GPU j one way, Both[i][j] both ways at once (symmetric),
// NaN where not measured (the diagonal) or failed (Failed[i][j]);
// H2D and D2H are host→GPU and GPU→host per GPU.
type CopyMatrix struct {
	Node     string      `json:"node"`
	Rank     int         `json:"rank"`
	GPUs     []int       `json:"gpus"`
	One      [][]float64 `json:"-"`
	Both     [][]float64 `json:"-"`
	Failed   [][]bool    `json:"failed"`
	H2D, D2H []float64   `json:"-"`
}

// FleetTable is a merged fleet file as a table.
type FleetTable struct {
	RunID      string             `json:"run_id"`
	Launcher   string             `json:"launcher"`
	Backend    string             `json:"backend,omitempty"`
	WorldSize  int                `json:"world_size"`
	Missing    []int              `json:"missing_ranks,omitempty"`
	Nodes      []FleetNode        `json:"nodes"`
	Rows       []FleetRow         `json:"rows"`
	Matrices   []CopyMatrix       `json:"copy_matrices,omitempty"`
	Stragglers []result.Straggler `json:"stragglers,omitempty"`
	Path       string             `json:"path,omitempty"`
}

// Copy kinds in p2p measurements (as bench/backend/gpu writes them:
// Collective names the kind, Label is "SRC>DST" with GPU ordinals or
// "host").
const (
	copyPeer      = "copy_peer"
	copyPeerBidir = "copy_peer_bidir"
	copyH2D       = "copy_h2d"
	copyD2H       = "copy_d2h"
)

// parseCopyLabel reads "SRC>DST"; -1 is the host.
func parseCopyLabel(label string) (src, dst int, ok bool) {
	a, b, found := strings.Cut(label, ">")
	if !found {
		return 0, 0, false
	}
	end := func(s string) (int, bool) {
		if s == "host" {
			return -1, true
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	src, ok1 := end(a)
	dst, ok2 := end(b)
	return src, dst, ok1 && ok2
}

func isCopy(m result.Measurement) bool {
	switch m.Collective {
	case copyPeer, copyPeerBidir, copyH2D, copyD2H:
		return true
	}
	return false
}

// BuildFleet turns a merged fleet file into a FleetTable.
func BuildFleet(f *result.File, path string) (*FleetTable, error) {
	if !IsFleet(f) {
		return nil, fmt.Errorf("%s: not a merged fleet file (no fleet block, or one rank's own file)", path)
	}
	fl := f.Fleet
	t := &FleetTable{RunID: fl.RunID, Launcher: fl.Launcher, Backend: fl.Backend, WorldSize: fl.WorldSize,
		Missing: fl.Missing, Stragglers: fl.Stragglers, Path: path}
	// Columns: nodes in node-rank order, then verdict-only nodes.
	nodeOf := map[int]string{}
	col := map[string]int{}
	roster := slices.Clone(fl.Ranks)
	sort.SliceStable(roster, func(i, j int) bool {
		if roster[i].NodeRank != roster[j].NodeRank {
			return roster[i].NodeRank < roster[j].NodeRank
		}
		return roster[i].Rank < roster[j].Rank
	})
	addNode := func(n string) int {
		if i, ok := col[n]; ok {
			return i
		}
		col[n] = len(t.Nodes)
		t.Nodes = append(t.Nodes, FleetNode{Node: n})
		return col[n]
	}
	for _, r := range roster {
		nodeOf[r.Rank] = r.Node
		i := addNode(r.Node)
		t.Nodes[i].Ranks = append(t.Nodes[i].Ranks, r.Rank)
	}
	for _, v := range fl.Verdicts {
		i := addNode(v.Node)
		t.Nodes[i].Verdict, t.Nodes[i].Reasons = v.Verdict, v.Reasons
		for _, r := range v.Reasons {
			if strings.Contains(r.Check, "missing") || strings.Contains(r.Message, "never arrived") {
				t.Nodes[i].Missing = true
			}
		}
	}
	for _, s := range fl.Stragglers {
		n := s.Node
		if n == "" {
			n = nodeOf[s.Rank]
		}
		if i, ok := col[n]; ok && !slices.Contains(t.Nodes[i].Straggler, s.Check) {
			t.Nodes[i].Straggler = append(t.Nodes[i].Straggler, s.Check)
		}
	}
	// Rows: figures grouped by key, per node the ranks' values.
	type acc struct {
		row    FleetRow
		vals   [][]float64
		failed []bool
		order  int
	}
	rows := map[string]*acc{}
	get := func(key, label, unit string, higher bool) *acc {
		a := rows[key]
		if a == nil {
			a = &acc{row: FleetRow{Key: key, Label: label, Unit: unit, HigherIsBetter: higher},
				vals: make([][]float64, len(t.Nodes)), failed: make([]bool, len(t.Nodes)), order: len(rows)}
			rows[key] = a
		}
		return a
	}
	matrices := map[int]*CopyMatrix{}
	for _, m := range f.Measurements {
		if m.Rank == nil {
			continue
		}
		node, ok := nodeOf[*m.Rank]
		if !ok {
			continue
		}
		ci := col[node]
		ok = m.Status == result.StatusOK
		switch {
		case isCopy(m):
			addCopy(matrices, *m.Rank, node, m)
		case m.Workload == result.WorkloadComm || m.Workload == result.WorkloadP2P:
			if strings.HasPrefix(m.Label, "straggler") {
				a := get("straggler_wait", "straggler test: wait in all-reduce after the local phase (median)", "ms", false)
				if !ok {
					a.failed[ci] = true
				} else if len(m.WaitSeconds) > 0 {
					if s, err := stats.Summarize(m.WaitSeconds); err == nil {
						a.vals[ci] = append(a.vals[ci], s.Median*1e3)
					}
				}
				continue
			}
			label := fmt.Sprintf("%s %s %s busbw", m.Scope, m.Collective, byteLabel(m.Bytes))
			if m.Scope == result.ScopePair {
				prefix, _, _ := strings.Cut(m.Label, "pair ")
				label = strings.TrimSpace(prefix+" pair") + " " + m.Collective + " " + byteLabel(m.Bytes) + " busbw"
			}
			a := get("comm|"+label, label, "GB/s", true)
			if !ok {
				a.failed[ci] = true
			} else if m.BusBytesPerSecond > 0 {
				a.vals[ci] = append(a.vals[ci], m.BusBytesPerSecond/1e9)
			}
		case m.FLOPs > 0:
			label := fmt.Sprintf("local %s %s %s", m.Workload, m.DType, shapeLabel(m))
			a := get("local|"+label, label, "TFLOP/s", true)
			if !ok {
				a.failed[ci] = true
			} else if m.FLOPPerSecond > 0 {
				a.vals[ci] = append(a.vals[ci], m.FLOPPerSecond/1e12)
			}
		}
	}
	accs := make([]*acc, 0, len(rows))
	for _, a := range rows {
		accs = append(accs, a)
	}
	sort.Slice(accs, func(i, j int) bool { return accs[i].order < accs[j].order })
	for _, a := range accs {
		r := a.row
		r.Values = make([]float64, len(t.Nodes))
		r.Failed = a.failed
		for i, vs := range a.vals {
			r.Values[i] = math.NaN()
			if len(vs) > 0 && !a.failed[i] {
				r.Values[i] = median(vs)
			}
		}
		t.Rows = append(t.Rows, r)
	}
	ranks := make([]int, 0, len(matrices))
	for r := range matrices {
		ranks = append(ranks, r)
	}
	slices.Sort(ranks)
	for _, r := range ranks {
		t.Matrices = append(t.Matrices, *matrices[r])
	}
	return t, nil
}

func shapeLabel(m result.Measurement) string {
	if m.Shape.M == 0 {
		return m.Label
	}
	return fmt.Sprintf("%dx%dx%d", m.Shape.M, m.Shape.N, m.Shape.K)
}

// byteLabel writes a message size with binary prefixes: 64 MiB.
func byteLabel(b int64) string {
	for _, u := range []struct {
		n   int64
		sym string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if b >= u.n {
			return strconv.FormatFloat(roundSig(float64(b)/float64(u.n), 3), 'f', -1, 64) + " " + u.sym
		}
	}
	return strconv.FormatInt(b, 10) + " B"
}

// addCopy places one copy measurement of rank's node in its matrix.
func addCopy(ms map[int]*CopyMatrix, rank int, node string, m result.Measurement) {
	src, dst, ok := parseCopyLabel(m.Label)
	if !ok {
		return
	}
	cm := ms[rank]
	if cm == nil {
		cm = &CopyMatrix{Node: node, Rank: rank}
		ms[rank] = cm
	}
	for _, g := range []int{src, dst} {
		if g >= 0 && !slices.Contains(cm.GPUs, g) {
			cm.GPUs = append(cm.GPUs, g)
			slices.Sort(cm.GPUs)
		}
	}
	n := 0
	for _, g := range cm.GPUs {
		n = max(n, g+1)
	}
	grow := func(a [][]float64) [][]float64 {
		for len(a) < n {
			a = append(a, nil)
		}
		for i := range a {
			for len(a[i]) < n {
				a[i] = append(a[i], math.NaN())
			}
		}
		return a
	}
	cm.One, cm.Both = grow(cm.One), grow(cm.Both)
	for len(cm.Failed) < n {
		cm.Failed = append(cm.Failed, nil)
	}
	for i := range cm.Failed {
		for len(cm.Failed[i]) < n {
			cm.Failed[i] = append(cm.Failed[i], false)
		}
	}
	for len(cm.H2D) < n {
		cm.H2D = append(cm.H2D, math.NaN())
	}
	for len(cm.D2H) < n {
		cm.D2H = append(cm.D2H, math.NaN())
	}
	v := math.NaN()
	if m.Status == result.StatusOK && m.BytesPerSecond > 0 {
		v = m.BytesPerSecond
	}
	switch m.Collective {
	case copyPeer:
		cm.One[src][dst] = v
		cm.Failed[src][dst] = cm.Failed[src][dst] || m.Status == result.StatusFailed
	case copyPeerBidir:
		cm.Both[src][dst], cm.Both[dst][src] = v, v
		if m.Status == result.StatusFailed {
			cm.Failed[src][dst], cm.Failed[dst][src] = true, true
		}
	case copyH2D:
		cm.H2D[dst] = v
	case copyD2H:
		cm.D2H[src] = v
	}
}

// RenderFleet writes the fleet table as text (table, markdown, csv or
// json).
func RenderFleet(w io.Writer, t *FleetTable, f Format) error {
	if f == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	header := []string{"fleet " + t.RunID}
	for _, n := range t.Nodes {
		h := n.Node
		if len(n.Straggler) > 0 {
			h += " ◀ straggler"
		}
		header = append(header, h)
	}
	var body [][]string
	verdict := []string{"verdict"}
	ranks := []string{"ranks"}
	for _, n := range t.Nodes {
		v := n.Verdict
		if v == "" {
			v = "-"
		}
		if len(n.Straggler) > 0 {
			v += " (straggler: " + strings.Join(n.Straggler, ", ") + ")"
		}
		verdict = append(verdict, v)
		rs := make([]string, len(n.Ranks))
		for i, r := range n.Ranks {
			rs[i] = strconv.Itoa(r)
		}
		ranks = append(ranks, strings.Join(rs, ","))
	}
	body = append(body, verdict, ranks)
	for _, r := range t.Rows {
		line := []string{r.Label + " (" + r.Unit + ")"}
		for i, v := range r.Values {
			switch {
			case r.Failed[i]:
				line = append(line, "FAILED")
			case math.IsNaN(v):
				line = append(line, "-")
			default:
				line = append(line, strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64))
			}
		}
		body = append(body, line)
	}
	switch f {
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.WriteAll(append([][]string{header}, body...))
		return cw.Error()
	case FormatMarkdown:
		fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(header)))
		for _, l := range body {
			fmt.Fprintln(w, "| "+strings.Join(l, " | ")+" |")
		}
	default:
		fmt.Fprintf(w, "fleet run %s: %d ranks on %d nodes, launched by %s", t.RunID, t.WorldSize, len(t.Nodes), t.Launcher)
		if t.Backend != "" {
			fmt.Fprintf(w, ", collectives over %s", t.Backend)
		}
		fmt.Fprintln(w, " (GB = 1e9 bytes; busbw by nccl-tests' formulas)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, l := range append([][]string{header}, body...) {
			fmt.Fprintln(tw, strings.Join(l, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(t.Missing) > 0 {
		fmt.Fprintf(w, "missing ranks: %v\n", t.Missing)
	}
	for _, s := range t.Stragglers {
		fmt.Fprint(w, StragglerLine(s))
		if s.PValue > 0 && !strings.Contains(s.Message, "p = ") {
			fmt.Fprintf(w, " (Mann-Whitney p = %.3g)", s.PValue)
		}
		fmt.Fprintln(w)
	}
	for _, m := range t.Matrices {
		writeMatrix(w, m)
	}
	return nil
}

// StragglerLine says in one line which rank straggled and how: the
// fleet's own message where it gave one.
func StragglerLine(s result.Straggler) string {
	if s.Message != "" {
		return fmt.Sprintf("straggler: rank %d on %s, %s: %s", s.Rank, s.Node, s.Check, s.Message)
	}
	return fmt.Sprintf("straggler: rank %d on %s, %s %.4g %s against a fleet median of %.4g", s.Rank, s.Node, s.Check, s.Measured, s.Unit, s.FleetMedian)
}

// writeMatrix prints one node's copy matrix in GB/s.
func writeMatrix(w io.Writer, m CopyMatrix) {
	fmt.Fprintf(w, "\nGPU copy bandwidth on %s (rank %d), GB/s, one way (row → column):\n", m.Node, m.Rank)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"from\\to"}
	for _, g := range m.GPUs {
		head = append(head, "GPU"+strconv.Itoa(g))
	}
	head = append(head, "host→GPU", "GPU→host")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	cell := func(v float64, failed bool) string {
		switch {
		case failed:
			return "FAILED"
		case math.IsNaN(v):
			return "-"
		}
		return strconv.FormatFloat(roundSig(v/1e9, 3), 'f', -1, 64)
	}
	for _, i := range m.GPUs {
		line := []string{"GPU" + strconv.Itoa(i)}
		for _, j := range m.GPUs {
			line = append(line, cell(m.One[i][j], m.Failed[i][j]))
		}
		line = append(line, cell(m.H2D[i], false), cell(m.D2H[i], false))
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	tw.Flush()
	if len(m.GPUs) < 2 {
		fmt.Fprintln(w, "(one GPU: no GPU-to-GPU link to measure)")
	}
}

// RenderFleets writes, after the comparison, a fleet table for every
// merged fleet file among the inputs (a column per node). JSON output
// gets none: it stays one document, the comparison's.
func RenderFleets(w io.Writer, inputs []Input, f Format) error {
	if f == FormatJSON {
		return nil
	}
	for _, in := range inputs {
		if !IsFleet(in.File) {
			continue
		}
		t, err := BuildFleet(in.File, in.Path)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s:\n", in.Path)
		if err := RenderFleet(w, t, f); err != nil {
			return err
		}
	}
	return nil
}

// countOnce returns the inputs with every fleet measurement counted once.
// A fleet run leaves each measurement twice: in its rank's own file and,
// as a copy, in rank 0's merged fleet-<run id>.json. Where both are among
// the inputs, the rank file's copy is the one kept (it carries that
// rank's host and devices, so its machine, column and machine count are
// right, while the merged file carries rank 0's host for every rank):
// the merged file's measurements of ranks whose file of the same run_id
// is present are left out of the comparison (the machine columns, the
// gate, the report), and a merged file left with none is dropped from
// it. Measurements of ranks without their own file stay. The merged file
// itself is not changed: RenderFleets still shows it whole, a column per
// node. The notes say what was left out, for the notes under the table.
func countOnce(inputs []Input) ([]Input, []string) {
	ranks := map[string]map[int]bool{} // run id -> ranks with their own file
	for _, in := range inputs {
		if in.File == nil {
			continue
		}
		if fl := in.File.Fleet; fl != nil && fl.Rank != nil {
			if ranks[fl.RunID] == nil {
				ranks[fl.RunID] = map[int]bool{}
			}
			ranks[fl.RunID][*fl.Rank] = true
		}
	}
	if len(ranks) == 0 {
		return inputs, nil
	}
	var out []Input
	var notes []string
	for _, in := range inputs {
		have := ranks[fleetRunID(in.File)]
		if !IsFleet(in.File) || len(have) == 0 {
			out = append(out, in)
			continue
		}
		var kept []result.Measurement
		dropped := map[int]bool{}
		n := 0
		for _, m := range in.File.Measurements {
			if m.Rank != nil && have[*m.Rank] {
				dropped[*m.Rank] = true
				n++
				continue
			}
			kept = append(kept, m)
		}
		if n == 0 {
			out = append(out, in)
			continue
		}
		rs := make([]int, 0, len(dropped))
		for r := range dropped {
			rs = append(rs, r)
		}
		sort.Ints(rs)
		what := "rank " + joinInts(rs)
		if len(rs) > 1 {
			what = "ranks " + joinInts(rs)
		}
		if len(kept) == 0 {
			notes = append(notes, fmt.Sprintf("fleet run %s: merged file %s left out of the comparison; its %s (%s) are counted once, from the rank files", Clean(fleetRunID(in.File)), Clean(in.Path), plural(n, "measurement"), what))
			continue
		}
		notes = append(notes, fmt.Sprintf("fleet run %s: %s of merged file %s (%s) counted once, from the rank files; its other %s kept", Clean(fleetRunID(in.File)), plural(n, "measurement"), Clean(in.Path), what, plural(len(kept), "measurement")))
		f := *in.File
		f.Measurements = kept
		out = append(out, Input{Path: in.Path, File: &f})
	}
	return out, notes
}

// fleetRunID is f's fleet run id, or "" when f is no fleet file.
func fleetRunID(f *result.File) string {
	if f == nil || f.Fleet == nil {
		return ""
	}
	return f.Fleet.RunID
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
