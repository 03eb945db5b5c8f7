package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/result"
)

func fleetInput() compare.Input {
	rk := func(r int) *int { return &r }
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}}
	f.Fleet = &result.Fleet{RunID: "run-9", Launcher: "slurm", WorldSize: 2, Backend: "nccl 2.21.5",
		Ranks:      []result.FleetRank{{Rank: 0, Node: "a", NodeRank: 0}, {Rank: 1, Node: "b", NodeRank: 1}},
		Verdicts:   []result.Verdict{{Node: "a", Verdict: "PASS"}, {Node: "b", Verdict: "FAIL", Reasons: []result.Reason{{Check: "busbw", Message: "below threshold"}}}},
		Stragglers: []result.Straggler{{Rank: 1, Node: "b", Check: "wait", Unit: "ms"}},
	}
	f.Measurements = []result.Measurement{
		{Workload: result.WorkloadComm, Collective: "all_reduce", Scope: result.ScopeWorld, Bytes: 1 << 26, Status: result.StatusOK, BusBytesPerSecond: 3.5e11, Rank: rk(0)},
		{Workload: result.WorkloadComm, Collective: "all_reduce", Scope: result.ScopeWorld, Bytes: 1 << 26, Status: result.StatusFailed, Rank: rk(1)},
	}
	for _, c := range []struct {
		kind, label string
		bps         float64
		status      string
	}{{"copy_peer", "0>1", 380e9, "ok"}, {"copy_peer", "1>0", 190e9, "ok"}, {"copy_peer", "0>2", 0, "failed"}, {"copy_peer", "2>0", 370e9, "ok"},
		{"copy_peer_bidir", "0>1", 700e9, "ok"}, {"copy_h2d", "host>0", 55e9, "ok"}} {
		f.Measurements = append(f.Measurements, result.Measurement{Workload: result.WorkloadP2P, Collective: c.kind, Label: c.label,
			BytesPerSecond: c.bps, Status: c.status, Rank: rk(0)})
	}
	return compare.Input{Path: "fleet-run-9.json", File: f}
}

// TestFleetSection: the node columns with verdicts and the straggler
// marked, a failed cell shown as FAILED, and the copy matrix as an SVG
// heatmap (9 cells for 3 GPUs, the fastest pair darkest, the failed pair
// red) with its numbers in the table under it.
func TestFleetSection(t *testing.T) {
	p := &page{}
	p.fleet([]compare.Input{{Path: "plain.json", File: &result.File{}}, fleetInput()})
	out := p.String()
	for _, want := range []string{"Fleet run run-9", "b ◀ straggler", "FAIL (straggler: wait)", `class="failed">FAILED`,
		`data-value="350"`, "nccl 2.21.5", `data-chart="copy-matrix"`, `data-key="copy_peer 0&gt;1"`, "host→GPU"} {
		if !strings.Contains(out, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	cells := regexp.MustCompile(`<rect [^>]*data-src="(\d)" data-dst="(\d)"`).FindAllStringSubmatch(out, -1)
	if len(cells) != 9 {
		t.Fatalf("%d heatmap cells, want 9", len(cells))
	}
	fill := func(src, dst string) string {
		m := regexp.MustCompile(`fill="(#[0-9a-f]{6})" stroke="#fff" data-src="` + src + `" data-dst="` + dst + `"`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no cell %s>%s", src, dst)
		}
		return m[1]
	}
	if fill("0", "1") != heatColor(1) || fill("0", "2") != "#e8a0a0" || fill("0", "0") != "#eeeeee" {
		t.Errorf("fills: 0>1 %s, 0>2 %s, 0>0 %s", fill("0", "1"), fill("0", "2"), fill("0", "0"))
	}
	if fill("1", "0") != heatColor(0.5) {
		t.Errorf("half-speed pair fill %s, want %s", fill("1", "0"), heatColor(0.5))
	}
}

func TestHeatColor(t *testing.T) {
	if heatColor(0) != "#ebf3fb" || heatColor(1) != "#2166ac" || heatColor(2) != heatColor(1) {
		t.Errorf("heat colours %s %s %s", heatColor(0), heatColor(1), heatColor(2))
	}
}
