package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

func rk(r int) *int { return &r }

// fleetFixture is a merged fleet file: four ranks on two nodes, n2 slow
// and failing one all-gather, rank 3 the straggler, a 2-GPU copy matrix
// on rank 0.
func fleetFixture() *result.File {
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}}
	f.Fleet = &result.Fleet{RunID: "job7-x", Launcher: "slurm", WorldSize: 4, Backend: "tcp",
		Ranks: []result.FleetRank{
			{Rank: 0, Node: "n1", NodeRank: 0}, {Rank: 1, Node: "n1", NodeRank: 0, LocalRank: 1},
			{Rank: 2, Node: "n2", NodeRank: 1}, {Rank: 3, Node: "n2", NodeRank: 1, LocalRank: 1},
		},
		Verdicts: []result.Verdict{{Node: "n1", Verdict: result.VerdictPass},
			{Node: "n2", Verdict: result.VerdictFail, Reasons: []result.Reason{{Check: "wrong_elements", Measured: 1}}}},
		Stragglers: []result.Straggler{{Rank: 3, Node: "n2", Check: "wait", Measured: 0.1, FleetMedian: 5, Unit: "ms"}},
	}
	comm := func(rank int, op, scope string, bus float64, status string) result.Measurement {
		return result.Measurement{Workload: result.WorkloadComm, Collective: op, Scope: scope, Bytes: 1 << 20,
			BusBytesPerSecond: bus, Status: status, Rank: rk(rank)}
	}
	for r, bw := range []float64{10e9, 12e9, 4e9, 6e9} {
		f.Measurements = append(f.Measurements, comm(r, "all_reduce", result.ScopeIntraNode, bw, result.StatusOK))
		st := result.StatusOK
		if r == 3 {
			st, bw = result.StatusFailed, 0
		}
		f.Measurements = append(f.Measurements, comm(r, "all_gather", result.ScopeWorld, bw, st))
		wait := []float64{0.005, 0.006, 0.004}
		if r == 3 {
			wait = []float64{0.0001, 0.0001, 0.0002}
		}
		f.Measurements = append(f.Measurements, result.Measurement{Workload: result.WorkloadComm, Label: "straggler all_reduce",
			Collective: "all_reduce", Scope: result.ScopeWorld, Status: result.StatusOK, WaitSeconds: wait, Rank: rk(r)})
	}
	cp := func(kind, label string, bps float64) result.Measurement {
		return result.Measurement{Workload: result.WorkloadP2P, Collective: kind, Label: label, Status: result.StatusOK, BytesPerSecond: bps, Rank: rk(0)}
	}
	f.Measurements = append(f.Measurements, cp(copyH2D, "host>0", 50e9), cp(copyD2H, "0>host", 51e9), cp(copyH2D, "host>1", 52e9),
		cp(copyD2H, "1>host", 53e9), cp(copyPeer, "0>1", 300e9), cp(copyPeer, "1>0", 310e9), cp(copyPeerBidir, "0>1", 600e9))
	return f
}

func TestBuildFleet(t *testing.T) {
	tb, err := BuildFleet(fleetFixture(), "fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Nodes) != 2 || tb.Nodes[0].Node != "n1" || tb.Nodes[1].Verdict != result.VerdictFail {
		t.Fatalf("nodes %+v", tb.Nodes)
	}
	if len(tb.Nodes[0].Straggler) != 0 || len(tb.Nodes[1].Straggler) != 1 || tb.Nodes[1].Straggler[0] != "wait" {
		t.Errorf("straggler marks: %v %v", tb.Nodes[0].Straggler, tb.Nodes[1].Straggler)
	}
	row := func(key string) FleetRow {
		for _, r := range tb.Rows {
			if strings.Contains(r.Key, key) {
				return r
			}
		}
		t.Fatalf("no row %q in %+v", key, tb.Rows)
		return FleetRow{}
	}
	ar := row("intra_node all_reduce 1 MiB")
	if ar.Values[0] != 11 || ar.Values[1] != 5 || ar.Unit != "GB/s" {
		t.Errorf("all-reduce per node %v %s, want medians 11 and 5 GB/s", ar.Values, ar.Unit)
	}
	ag := row("world all_gather")
	if !ag.Failed[1] || !math.IsNaN(ag.Values[1]) || ag.Values[0] != 11 {
		t.Errorf("all-gather: values %v failed %v", ag.Values, ag.Failed)
	}
	w := row("straggler_wait")
	if w.HigherIsBetter || math.Abs(w.Values[0]-5) > 1e-9 || math.Abs(w.Values[1]-2.55) > 1e-9 {
		t.Errorf("wait row %+v", w)
	}
	if len(tb.Matrices) != 1 {
		t.Fatalf("%d matrices", len(tb.Matrices))
	}
	m := tb.Matrices[0]
	if m.One[0][1] != 300e9 || m.One[1][0] != 310e9 || m.Both[1][0] != 600e9 || !math.IsNaN(m.One[0][0]) || m.H2D[1] != 52e9 || m.D2H[0] != 51e9 {
		t.Errorf("matrix %+v", m)
	}
	var buf bytes.Buffer
	if err := RenderFleet(&buf, tb, FormatTable); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"n2 ◀ straggler", "FAIL (straggler: wait)", "FAILED", "straggler: rank 3 on n2", "GPU copy bandwidth on n1", "300", "310", "2 nodes, launched by slurm"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := RenderFleet(&buf, tb, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || !strings.Contains(buf.String(), `"values": [`) || !strings.Contains(buf.String(), "null") {
		t.Errorf("json: %v\n%s", err, buf.String())
	}
}

func TestBuildFleetRefusesOtherFiles(t *testing.T) {
	if _, err := BuildFleet(&result.File{}, "a.json"); err == nil {
		t.Error("a plain results file accepted")
	}
	f := fleetFixture()
	f.Fleet.Rank = rk(2)
	if IsFleet(f) {
		t.Error("a rank's own file taken for the merged file")
	}
}

func TestParseCopyLabel(t *testing.T) {
	for l, want := range map[string][2]int{"0>3": {0, 3}, "host>2": {-1, 2}, "5>host": {5, -1}} {
		s, d, ok := parseCopyLabel(l)
		if !ok || s != want[0] || d != want[1] {
			t.Errorf("%q: %d %d %v", l, s, d, ok)
		}
	}
	for _, bad := range []string{"", "0-1", "x>1", "1>-1"} {
		if _, _, ok := parseCopyLabel(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRenderFleets: one table per merged fleet file, none for plain
// files, none in JSON.
func TestRenderFleets(t *testing.T) {
	inputs := []Input{{Path: "plain.json", File: &result.File{}}, {Path: "fleet-job7-x.json", File: fleetFixture()}}
	var buf bytes.Buffer
	if err := RenderFleets(&buf, inputs, FormatTable); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "fleet run job7-x") != 1 || !strings.Contains(buf.String(), "fleet-job7-x.json:") || strings.Contains(buf.String(), "plain.json") {
		t.Errorf("fleet tables:\n%s", buf.String())
	}
	buf.Reset()
	if err := RenderFleets(&buf, inputs, FormatJSON); err != nil || buf.Len() != 0 {
		t.Errorf("json: %v %q", err, buf.String())
	}
}
