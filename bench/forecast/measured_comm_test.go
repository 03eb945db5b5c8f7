package forecast

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func fleetFile(onePerNode bool) *result.File {
	f := &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}}
	f.Fleet = &result.Fleet{RunID: "r1", Launcher: "slurm", WorldSize: 4}
	for r := 0; r < 4; r++ {
		node := []string{"a", "a", "b", "b"}[r]
		if onePerNode {
			node = []string{"a", "b", "c", "d"}[r]
		}
		f.Fleet.Ranks = append(f.Fleet.Ranks, result.FleetRank{Rank: r, Node: node})
	}
	add := func(op, scope string, bytes int64, bus float64, status string) {
		f.Measurements = append(f.Measurements, result.Measurement{Workload: result.WorkloadComm, Collective: op, Scope: scope,
			Bytes: bytes, BusBytesPerSecond: bus, Status: status, Device: "cpu", DType: "fp32", Verified: status == "ok"})
	}
	if !onePerNode {
		add("all_reduce", result.ScopeIntraNode, 1<<20, 50e9, "ok") // smaller size: not used
		for _, b := range []float64{300e9, 320e9, 340e9, 360e9} {
			add("all_reduce", result.ScopeIntraNode, 1<<30, b, "ok")
		}
		add("all_reduce", result.ScopeIntraNode, 1<<30, 999e9, "failed") // wrong data: not used
		add("all_reduce", result.ScopeInterNode, 1<<30, 40e9, "ok")
		add("all_reduce", result.ScopeInterNode, 1<<30, 44e9, "ok")
		add("all_to_all", result.ScopeInterNode, 1<<28, 20e9, "ok")
	} else {
		add("all_reduce", result.ScopeWorld, 1<<28, 45e9, "ok")
	}
	return f
}

// TestLinksFromFleet: the largest verified size, the median over ranks,
// failed figures left out; the world figure stands for the network when
// every node ran one rank.
func TestLinksFromFleet(t *testing.T) {
	l, ok := LinksFromFleet(fleetFile(false))
	if !ok || l.Intra == nil || l.Inter == nil || l.AllToAllInter == nil {
		t.Fatalf("links %+v", l)
	}
	if l.Intra.BusBytesPerSecond != 330e9 || l.Intra.Bytes != 1<<30 || l.Intra.Ranks != 4 || l.Inter.BusBytesPerSecond != 42e9 || l.InterFromWorld {
		t.Errorf("intra %v, inter %v", l.Intra, l.Inter)
	}
	l, ok = LinksFromFleet(fleetFile(true))
	if !ok || l.Intra != nil || l.Inter == nil || !l.InterFromWorld || l.Inter.BusBytesPerSecond != 45e9 {
		t.Errorf("one rank per node: %+v", l)
	}
	if _, ok := LinksFromFleet(&result.File{}); ok {
		t.Error("a plain results file gave links")
	}
}

// TestMeasuredLinksApply: after Apply the engine's achieved bandwidths
// (envFor: IntraGBps/2 and InterGBps times LinkEfficiency) are exactly
// the measured busbw, and the sources say where they came from.
func TestMeasuredLinksApply(t *testing.T) {
	l, _ := LinksFromFleet(fleetFile(false))
	h := Hardware{Domain: 8, IntraGBps: 900, InterGBps: 50}
	src, warn := l.Apply(&h, "fleet-r1.json", true)
	e := envFor(Input{Hardware: h, Model: kernels.Model{}}, 1)
	if math.Abs(e.h.intraBps-330e9) > 1 || math.Abs(e.h.interBps-42e9) > 1 {
		t.Errorf("engine bandwidths %g %g, want 330e9 42e9", e.h.intraBps, e.h.interBps)
	}
	text := strings.Join(src, "\n")
	for _, want := range []string{"tensor-parallel link: measured by fleet run r1 (fleet-r1.json)", "330.0 GB/s busbw", "catalog's 900 GB/s",
		"data-parallel link", "42.0 GB/s", "expert-parallel all-to-all across nodes: measured by fleet run r1 (fleet-r1.json), inter_node all_to_all"} {
		if !strings.Contains(text, want) {
			t.Errorf("sources lack %q:\n%s", want, text)
		}
	}
	if len(warn) != 0 {
		t.Errorf("warnings %v", warn)
	}
	l, _ = LinksFromFleet(fleetFile(true))
	h = Hardware{IntraGBps: 900, InterGBps: 50}
	_, warn = l.Apply(&h, "f.json", false)
	if h.IntraGBps != 900 || len(warn) != 1 || !strings.Contains(warn[0], "no intra-node all-reduce") {
		t.Errorf("one rank per node: intra %g, warnings %v", h.IntraGBps, warn)
	}
}

// TestUseFleetLinksCPUFleet: a fleet file without GEMMs of the forecast's
// GPU (here: none) gives the links only; From is cleared so the speed
// comes from elsewhere, and a warning says so.
func TestUseFleetLinksCPUFleet(t *testing.T) {
	f := fleetFile(false)
	ok := f.Measurements[:0]
	for _, m := range f.Measurements {
		if m.Status == result.StatusOK {
			ok = append(ok, m)
		}
	}
	f.Measurements = ok
	path := filepath.Join(t.TempDir(), "fleet.json")
	if err := result.Write(path, f); err != nil {
		t.Fatal(err)
	}
	c := catalog.Default()
	g, err := c.GPU("h100-sxm")
	if err != nil {
		t.Fatal(err)
	}
	r := Request{From: path}
	in := Input{Hardware: Hardware{GPU: g, IntraGBps: 900, InterGBps: 50}}
	read, err := result.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.useFleetLinks(c, &in, read); err != nil {
		t.Fatal(err)
	}
	if r.From != "" || math.Abs(in.Hardware.IntraGBps-2*330/LinkEfficiency) > 1e-9 {
		t.Errorf("From %q, intra %g", r.From, in.Hardware.IntraGBps)
	}
	if !strings.Contains(strings.Join(in.Warnings, "\n"), "only its link figures are used") {
		t.Errorf("warnings %v", in.Warnings)
	}
}

// TestFleetAllToAllPricesExperts: a fleet file's all-to-all busbw prices
// the expert-parallel all-to-all of an MoE forecast, the intra-node figure
// when the expert group fits in a node and the inter-node one beyond, and
// the sources say so; a dense model's forecast is the same with or
// without the all-to-all figures.
func TestFleetAllToAllPricesExperts(t *testing.T) {
	c := catalog.Default()
	dir := t.TempDir()
	// write stores the fleet file with its all-reduce figures and the
	// given all-to-all busbw (0: not measured) inside and across nodes.
	write := func(name string, a2aIntra, a2aInter float64) string {
		f := fleetFile(false)
		keep := f.Measurements[:0]
		for _, m := range f.Measurements {
			if m.Collective != "all_to_all" && m.Status == result.StatusOK {
				keep = append(keep, m)
			}
		}
		f.Measurements = keep
		for scope, bus := range map[string]float64{result.ScopeIntraNode: a2aIntra, result.ScopeInterNode: a2aInter} {
			if bus > 0 {
				f.Measurements = append(f.Measurements, result.Measurement{Workload: result.WorkloadComm, Collective: "all_to_all", Scope: scope,
					Bytes: 1 << 28, BusBytesPerSecond: bus, Status: result.StatusOK, Device: "cpu", DType: "fp32", Verified: true})
			}
		}
		path := filepath.Join(dir, name)
		if err := result.Write(path, f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	none, intraLow, interLow := write("none.json", 0, 0), write("intra.json", 2e9, 0), write("inter.json", 0, 1e9)
	moe, err := kernels.LookupModel("deepseek-v3")
	if err != nil {
		t.Fatal(err)
	}
	run := func(m kernels.Model, from string, ep int) Result {
		t.Helper()
		req := Request{Model: m, Tokens: 1e12, GPU: "h800", GPUs: 2048, From: from, ResultsDir: dir}
		in, err := req.Resolve(c)
		if err != nil {
			t.Fatal(err)
		}
		in.Kernels, in.MTBFGPUHours = ModernKernels, -1
		in.Layout = Layout{TP: 1, PP: 16, EP: ep, MicroBatch: 1, Schedule: "1f1b", Recompute: "full", ZeRO: 1}
		if !m.IsMoE() {
			in.Layout = Layout{TP: 8, PP: 1, MicroBatch: 1, Schedule: "1f1b", Recompute: "full", ZeRO: 1}
		}
		r, err := Forecast(in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	has := func(r Result, want string) bool { return strings.Contains(strings.Join(r.Sources, "\n"), want) }
	for _, ep := range []int{8, 64} {
		catalogLinks, measuredLinks := run(moe, "", ep), run(moe, none, ep)
		withIntra, withInter := run(moe, intraLow, ep), run(moe, interLow, ep)
		if catalogLinks.Breakdown.EPComm <= 0 || measuredLinks.Breakdown.EPComm <= 0 {
			t.Fatalf("ep %d: no expert all-to-all priced (catalog %g, fleet %g)", ep, catalogLinks.Breakdown.EPComm, measuredLinks.Breakdown.EPComm)
		}
		// EP 8 fits in the h800's 8-GPU node: the intra-node figure
		// prices it and the inter-node one changes nothing; EP 64 spans 8
		// nodes, where the 1 GB/s network all-to-all dominates.
		used, unused := withIntra, withInter
		if ep > 8 {
			used = withInter
		}
		// ep_comm is a share of the step; epSeconds its exposed seconds.
		epSeconds := func(r Result) float64 { return r.Breakdown.EPComm * r.StepSeconds }
		if !(used.Breakdown.EPComm > 1.5*catalogLinks.Breakdown.EPComm && used.Breakdown.EPComm > 1.5*measuredLinks.Breakdown.EPComm &&
			epSeconds(used) > 2*epSeconds(catalogLinks) && epSeconds(used) > 2*epSeconds(measuredLinks)) {
			t.Errorf("ep %d: ep_comm with a low all-to-all %.4f (%.3g s), catalog links %.4f (%.3g s), measured all-reduce links %.4f (%.3g s)", ep,
				used.Breakdown.EPComm, epSeconds(used), catalogLinks.Breakdown.EPComm, epSeconds(catalogLinks), measuredLinks.Breakdown.EPComm, epSeconds(measuredLinks))
		}
		if ep == 8 && math.Abs(unused.StepSeconds-measuredLinks.StepSeconds) > 1e-12*measuredLinks.StepSeconds {
			t.Errorf("ep 8: the inter-node all-to-all changed the step: %g s, without it %g s", unused.StepSeconds, measuredLinks.StepSeconds)
		}
	}
	r := run(moe, intraLow, 8)
	if !has(r, "expert-parallel all-to-all inside a node: measured by fleet run r1 ("+intraLow+"), intra_node all_to_all at 268435456 bytes: 2.0 GB/s busbw") {
		t.Errorf("sources lack the intra-node all-to-all:\n%s", strings.Join(r.Sources, "\n"))
	}
	r = run(moe, interLow, 64)
	if !has(r, "expert-parallel all-to-all across nodes: measured by fleet run r1 ("+interLow+"), inter_node all_to_all at 268435456 bytes: 1.0 GB/s busbw") {
		t.Errorf("sources lack the inter-node all-to-all:\n%s", strings.Join(r.Sources, "\n"))
	}
	// A dense model has no expert all-to-all: same forecast, no such line.
	dense, err := kernels.LookupModel("llama3-8b")
	if err != nil {
		t.Fatal(err)
	}
	a, b := run(dense, none, 0), run(dense, intraLow, 0)
	if a.StepSeconds != b.StepSeconds || a.Breakdown.EPComm != 0 || b.Breakdown.EPComm != 0 || has(b, "all-to-all") {
		t.Errorf("dense: step %g vs %g s, ep_comm %g %g, sources:\n%s", a.StepSeconds, b.StepSeconds, a.Breakdown.EPComm, b.Breakdown.EPComm, strings.Join(b.Sources, "\n"))
	}
}
