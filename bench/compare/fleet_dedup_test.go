package compare

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

// fleetRankFile is rank r's own file of fleet run r1 on host h<r>: one
// CPU fp32 GEMM at the given TFLOP/s and one all-reduce.
func fleetRankFile(r int, tflops float64) *result.File {
	f := baseFile("h" + string(rune('0'+r)))
	f.Host.CPUModel = "Fixture CPU"
	f.Devices = []result.Device{{ID: "cpu", Kind: "cpu", Name: "Fixture CPU", Cores: 8}}
	g := gemm("cpu", "fp32", 512, tflops, 0.02, 0)
	g.Rank = rk(r)
	ar := result.Measurement{Workload: result.WorkloadComm, Collective: "all_reduce", Scope: result.ScopeWorld, Device: "cpu", DType: "fp32",
		Bytes: 1 << 20, AlgBytesPerSecond: 1e9, BusBytesPerSecond: 1e9, Status: result.StatusOK, Verified: true, Rank: rk(r)}
	f.Measurements = []result.Measurement{g, ar}
	f.Fleet = &result.Fleet{RunID: "r1", Launcher: "flags", WorldSize: 2, Rank: rk(r), Backend: "tcp",
		Ranks: []result.FleetRank{{Rank: 0, Node: "n0", Host: "h0"}, {Rank: 1, Node: "n1", Host: "h1", NodeRank: 1}}}
	return f
}

// fleetMergedFile is rank 0's merged file of the rank files: their
// measurements copied (each naming its rank), rank 0's host and devices,
// no rank of its own, as fleet.Merge writes it.
func fleetMergedFile(ranks ...*result.File) *result.File {
	m := *ranks[0]
	fl := *ranks[0].Fleet
	fl.Rank = nil
	fl.Verdicts = []result.Verdict{{Node: "n0", Verdict: result.VerdictPass}, {Node: "n1", Verdict: result.VerdictPass}}
	m.Fleet = &fl
	m.Measurements = nil
	for _, f := range ranks {
		m.Measurements = append(m.Measurements, f.Measurements...)
	}
	return &m
}

// TestCompareFleetCountsOnce: a directory holding a fleet run's rank files
// and its merged file counts each GEMM once in the machine-type column
// (from the rank files), says so under the table, and still shows the
// merged file's per-node table; with one rank file only, the merged
// file's copy of the other rank's GEMM is the one counted.
func TestCompareFleetCountsOnce(t *testing.T) {
	r0, r1 := fleetRankFile(0, 1), fleetRankFile(1, 3)
	build := func(files map[string]*result.File) (*Table, []Input) {
		t.Helper()
		dir := t.TempDir()
		for name, f := range files {
			writeFile(t, dir, name, f)
		}
		in, err := Load([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		tab, err := Build(in, Options{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Columns) != 1 {
			t.Fatalf("%d columns, want one machine type", len(tab.Columns))
		}
		return tab, in
	}
	merged := fleetMergedFile(r0, r1)
	tab, in := build(map[string]*result.File{"fleet-r1-rank0.json": r0, "fleet-r1-rank1.json": r1, "fleet-r1.json": merged})
	c := rowOf(t, tab, "fp32 GEMM plateau").Cells[0]
	if c.State != Value || c.N != 2 || !near(c.Value, 2) || !near(c.Min, 1) || !near(c.Max, 3) {
		t.Errorf("fp32 plateau %+v, want the median 2 TFLOP/s of 2 runs (1 and 3), each GEMM once", c)
	}
	col := tab.Columns[0]
	if col.Machines != 2 || len(col.Files) != 2 || strings.Contains(strings.Join(col.Files, " "), "fleet-r1.json") {
		t.Errorf("column: %d machines, files %v; want the two rank files", col.Machines, col.Files)
	}
	notes := strings.Join(tab.Notes, "\n")
	if !strings.Contains(notes, "fleet run r1: merged file ") || !strings.Contains(notes, "fleet-r1.json left out of the comparison; its 4 measurements (ranks 0, 1) are counted once, from the rank files") {
		t.Errorf("notes lack the merged file left out:\n%s", notes)
	}
	var out bytes.Buffer
	if err := RenderFleets(&out, in, FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "fleet r1") || !strings.Contains(out.String(), "n1") {
		t.Errorf("the merged file's node table is gone:\n%s", out.String())
	}

	// Rank 1's own file absent: its GEMM counts from the merged file.
	tab, _ = build(map[string]*result.File{"fleet-r1-rank0.json": r0, "fleet-r1.json": merged})
	c = rowOf(t, tab, "fp32 GEMM plateau").Cells[0]
	if c.N != 2 || !near(c.Min, 1) || !near(c.Max, 3) {
		t.Errorf("one rank file: fp32 plateau %+v, want runs 1 and 3", c)
	}
	if notes := strings.Join(tab.Notes, "\n"); !strings.Contains(notes, "2 measurements of merged file ") || !strings.Contains(notes, "(rank 0) counted once, from the rank files; its other 2 measurements kept") {
		t.Errorf("one rank file: notes\n%s", notes)
	}

	// The merged file alone: counted as it is, no note.
	tab, _ = build(map[string]*result.File{"fleet-r1.json": merged})
	if c = rowOf(t, tab, "fp32 GEMM plateau").Cells[0]; c.N != 1 || strings.Contains(strings.Join(tab.Notes, "\n"), "counted once") {
		t.Errorf("merged file alone: %+v, notes %v", c, tab.Notes)
	}
}
