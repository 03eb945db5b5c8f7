package fleet

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
)

// Straggler checks: a rank is late at the collective (least wait) or its
// local benchmark is slower than the fleet's.
const (
	CheckWait      = "straggler_wait"
	CheckLocalGEMM = "local_gemm"
)

// stragglerP is the Mann–Whitney p-value below which a difference counts
// (with enough samples for the test to reach it).
const stragglerP = 0.05

// isStraggler reports whether m is the straggler test's measurement.
func isStraggler(m result.Measurement) bool {
	return m.Workload == result.WorkloadComm && strings.HasPrefix(m.Label, "straggler ") && len(m.WaitSeconds) > 0
}

// isLocal reports whether m is a rank's local GEMM benchmark.
func isLocal(m result.Measurement) bool {
	return m.Workload == "gemm" && m.Label == "fleet_local"
}

// Stragglers finds the ranks whose figures stand out: per call of the
// straggler test, a rank's lateness is the longest wait of any rank less
// its own (the late rank waits least); a rank whose median lateness passes
// its node's limit, and whose waits differ from the others' by the
// Mann–Whitney test, is late. A rank whose local GEMM throughput is below
// the limit ratio of the fleet median, with the same test on the call
// times, is slow.
func Stragglers(f *result.File, th *Thresholds) []result.Straggler {
	roster := f.Fleet.Ranks
	hello := func(r int) Hello {
		if r >= 0 && r < len(roster) && roster[r].Rank == r {
			return roster[r]
		}
		for _, h := range roster {
			if h.Rank == r {
				return h
			}
		}
		return Hello{Rank: r}
	}
	var out []result.Straggler
	waits := map[int][]float64{}
	for _, m := range f.Measurements {
		if isStraggler(m) && m.Rank != nil && m.Status == result.StatusOK {
			waits[*m.Rank] = m.WaitSeconds
		}
	}
	if len(waits) >= 2 {
		ranks := slices.Sorted(maps.Keys(waits))
		late, calls := lateness(waits)
		var all, allLate []float64
		for _, r := range ranks {
			all = append(all, waits[r][:calls]...)
			allLate = append(allLate, late[r]...)
		}
		fleetLate := median(allLate)
		for _, r := range ranks {
			var others []float64
			for _, s := range ranks {
				if s != r {
					others = append(others, waits[s][:calls]...)
				}
			}
			lim := th.limitsFor(hello(r)).Straggler
			lateness := median(late[r])
			p := stats.MannWhitney(waits[r][:calls], others)
			if lateness > lim.value && p < stragglerP {
				out = append(out, result.Straggler{
					Rank: r, Node: hello(r).Node, Check: CheckWait, Measured: lateness, FleetMedian: fleetLate, Threshold: lim.value, Unit: "s", PValue: p,
					Message: fmt.Sprintf("arrives %.1f ms late at the collective (median over %d calls; it waits %.2f ms, the fleet median wait is %.2f ms; limit %.1f ms, %s)", lateness*1e3, calls, median(waits[r][:calls])*1e3, median(all)*1e3, lim.value*1e3, lim.source),
				})
			}
		}
	}
	// Local benchmarks are compared per device: ranks sharing one (CPU
	// ranks on one host) pool their figures, since a device cannot be
	// slower than itself.
	type dev struct {
		ranks   []int
		rates   []float64
		samples []float64
		dtype   string
	}
	devs := map[string]*dev{}
	var keys []string
	for _, m := range f.Measurements {
		if !isLocal(m) || m.Rank == nil || m.Status != result.StatusOK || m.FLOPPerSecond <= 0 {
			continue
		}
		h := hello(*m.Rank)
		k := h.Host + "|" + m.Device
		if len(h.GPUUUIDs) == 1 {
			k = h.GPUUUIDs[0]
		}
		d, ok := devs[k]
		if !ok {
			d = &dev{dtype: m.DType}
			devs[k] = d
			keys = append(keys, k)
		}
		d.ranks = append(d.ranks, *m.Rank)
		d.rates = append(d.rates, m.FLOPPerSecond)
		d.samples = append(d.samples, m.Samples...)
	}
	if len(devs) >= 3 {
		var rates []float64
		for _, k := range keys {
			rates = append(rates, median(devs[k].rates))
		}
		med := median(rates)
		for _, k := range keys {
			d := devs[k]
			var others []float64
			for _, o := range keys {
				if o != k {
					others = append(others, devs[o].samples...)
				}
			}
			rate := median(d.rates)
			p := stats.MannWhitney(d.samples, others)
			for _, r := range d.ranks {
				lim := th.limitsFor(hello(r)).FleetRatioLocal
				if rate < lim.value*med && p < stragglerP {
					out = append(out, result.Straggler{
						Rank: r, Node: hello(r).Node, Check: CheckLocalGEMM, Measured: rate, FleetMedian: med, Threshold: lim.value * med, Unit: "FLOP/s", PValue: p,
						Message: fmt.Sprintf("local %s GEMM at %.2f of the fleet median over %d devices (limit %.2f, %s)", d.dtype, rate/med, len(devs), lim.value, lim.source),
					})
				}
			}
		}
	}
	return out
}

// lateness returns per rank how late it arrived at each call of the
// straggler test, over the calls every rank made: the longest wait of any
// rank at that call less its own (the late rank waits least).
func lateness(waits map[int][]float64) (late map[int][]float64, calls int) {
	calls = -1
	for _, w := range waits {
		if calls < 0 || len(w) < calls {
			calls = len(w)
		}
	}
	late = map[int][]float64{}
	for k := range calls {
		longest := 0.0
		for _, w := range waits {
			longest = max(longest, w[k])
		}
		for r, w := range waits {
			late[r] = append(late[r], longest-w[k])
		}
	}
	return late, calls
}

// pairFigure is one pair test: its two nodes, the slower rank's busbw and
// whether both ranks' data were right.
type pairFigure struct {
	Nodes  []string
	Bus    float64
	OK     bool
	Second bool
}

// pairFigures collects the pair scope's tests from the measurements.
func pairFigures(ms []result.Measurement) []*pairFigure {
	var out []*pairFigure
	idx := map[string]*pairFigure{}
	for _, m := range ms {
		if m.Scope != result.ScopePair || len(m.Nodes) != 2 {
			continue
		}
		second := strings.HasPrefix(m.Label, "second pass")
		k := fmt.Sprint(second, m.Nodes)
		f, ok := idx[k]
		if !ok {
			f = &pairFigure{Nodes: m.Nodes, Bus: m.BusBytesPerSecond, OK: true, Second: second}
			idx[k] = f
			out = append(out, f)
		}
		f.Bus = min(f.Bus, m.BusBytesPerSecond)
		f.OK = f.OK && m.Status == result.StatusOK
	}
	return out
}

// Judge gives every node a verdict: FAIL with reasons when a rank is
// missing, any output element was wrong, a collective failed, a figure is
// below its threshold or the fleet median's ratio, or it straggles; SKIP
// when nothing of it was measured; else PASS. nodes lists the job's nodes
// where the launcher said (so that a node none of whose ranks arrived is
// named).
func Judge(f *result.File, th *Thresholds, nodes []string) []result.Verdict {
	fl := f.Fleet
	reasons := map[string][]result.Reason{}
	measured := map[string]bool{}
	var order []string
	seen := map[string]bool{}
	addNode := func(n string) {
		if !seen[n] {
			seen[n] = true
			order = append(order, n)
		}
	}
	nodeOf := map[int]string{}
	ranksOn := map[string]int{}
	limits := map[string]resolved{}
	for _, h := range fl.Ranks {
		addNode(h.Node)
		nodeOf[h.Rank] = h.Node
		ranksOn[h.Node]++
		if _, ok := limits[h.Node]; !ok {
			limits[h.Node] = th.limitsFor(h)
		}
	}
	// The launcher's node list names nodes none of whose ranks arrived,
	// when its names are the ranks' (not with --node overrides).
	consistent := len(nodes) > 0
	for _, h := range fl.Ranks {
		consistent = consistent && slices.Contains(nodes, h.Node)
	}
	if consistent {
		for _, n := range nodes {
			addNode(n)
		}
	}
	fail := func(node string, r result.Reason) { reasons[node] = append(reasons[node], r) }
	// Missing ranks.
	missingOn := map[string][]int{}
	for _, r := range fl.Missing {
		n, ok := nodeOf[r]
		if !ok {
			n = fmt.Sprintf("(rank %d)", r)
			addNode(n)
			ranksOn[n]++
		}
		missingOn[n] = append(missingOn[n], r)
	}
	for _, n := range order {
		if m := missingOn[n]; len(m) > 0 {
			msg := rankList(m) + " sent no results"
			if strings.HasPrefix(n, "(rank ") {
				msg = rankList(m) + " never arrived: its node is unknown"
			}
			fail(n, result.Reason{Check: "ranks_present", Measured: float64(ranksOn[n] - len(m)), Threshold: float64(ranksOn[n]), Unit: "ranks", Message: msg})
		} else if ranksOn[n] == 0 && !strings.HasPrefix(n, "(rank ") {
			fail(n, result.Reason{Check: "ranks_present", Measured: 0, Threshold: 1, Unit: "ranks", Message: "no rank of this node arrived"})
		}
	}
	// Wrong elements and failed measurements, per node.
	wrong := map[string]int64{}
	for _, m := range f.Measurements {
		if m.Rank == nil {
			continue
		}
		n := nodeOf[*m.Rank]
		measured[n] = true
		wrong[n] += m.WrongElements
		if m.Status == result.StatusFailed && m.WrongElements == 0 {
			msg := m.Label + " failed"
			if len(m.Notes) > 0 {
				msg = m.Label + ": " + m.Notes[len(m.Notes)-1]
			}
			check := "collective"
			if m.Workload == "gemm" {
				check = CheckLocalGEMM
			}
			r := result.Reason{Check: check, Measured: 0, Threshold: 0, Unit: "", Message: fmt.Sprintf("rank %d: %s", *m.Rank, msg)}
			if len(fl.Missing) > 0 && check == "collective" {
				// with a rank lost, the others' collectives break too:
				// that says nothing against their node
				r.Check = "incomplete"
				r.Message += " (a rank was lost)"
			}
			fail(n, r)
		}
	}
	for _, n := range order {
		if wrong[n] > 0 {
			fail(n, result.Reason{Check: "wrong_elements", Measured: float64(wrong[n]), Threshold: 0, Unit: "elements",
				Message: "collective outputs differ from the exact expected values: no bandwidth is shown for them"})
		}
	}
	// Local benchmark against the absolute threshold.
	for _, m := range f.Measurements {
		if !isLocal(m) || m.Rank == nil || m.Status != result.StatusOK {
			continue
		}
		n := nodeOf[*m.Rank]
		if v, ok := limits[n].localTFLOPS(m.DType); ok && m.FLOPPerSecond < v.value*1e12 {
			fail(n, result.Reason{Check: CheckLocalGEMM, Measured: m.FLOPPerSecond / 1e12, Threshold: v.value, Unit: "TFLOP/s", Source: v.source,
				Message: fmt.Sprintf("rank %d: local %s GEMM %s below the threshold", *m.Rank, m.DType, m.Shape)})
		}
	}
	// Collectives: each node's figure at the largest size of each scope
	// and collective is its slowest rank's.
	type key struct{ scope, op string }
	largest := map[key]int64{}
	for _, m := range f.Measurements {
		if m.Workload == result.WorkloadComm && m.Scope != "" && !isStraggler(m) {
			k := key{m.Scope, m.Collective}
			largest[k] = max(largest[k], m.Bytes)
		}
	}
	fig := map[key]map[string]float64{}
	for _, m := range f.Measurements {
		k := key{m.Scope, m.Collective}
		if m.Workload != result.WorkloadComm || m.Rank == nil || isStraggler(m) || m.Bytes != largest[k] || m.Status != result.StatusOK {
			continue
		}
		n := nodeOf[*m.Rank]
		if fig[k] == nil {
			fig[k] = map[string]float64{}
		}
		if v, ok := fig[k][n]; !ok || m.BusBytesPerSecond < v {
			fig[k][n] = m.BusBytesPerSecond
		}
	}
	keys := make([]key, 0, len(fig))
	for k := range fig {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].scope+keys[i].op < keys[j].scope+keys[j].op
	})
	for _, k := range keys {
		var all []float64
		for _, v := range fig[k] {
			all = append(all, v)
		}
		med := median(all)
		for _, n := range order {
			v, ok := fig[k][n]
			if !ok {
				continue
			}
			lim := limits[n]
			if t, ok := lim.busGBps(k.scope, backend.CollectiveOp(k.op)); ok && v < t.value*1e9 {
				fail(n, result.Reason{Check: "bus_bandwidth", Measured: v / 1e9, Threshold: t.value, Unit: "GB/s", Source: t.source,
					Message: fmt.Sprintf("%s %s busbw at %s", k.scope, k.op, byteSize(largest[k]))})
			}
			// Only groups that differ can be compared with each other:
			// intra-node groups (one per node); world and inter-node
			// collectives run as one.
			if k.scope == result.ScopeIntraNode && len(all) >= 3 && v < lim.FleetRatioComm.value*med {
				fail(n, result.Reason{Check: "bus_bandwidth_vs_fleet", Measured: v / 1e9, Threshold: lim.FleetRatioComm.value * med / 1e9, Unit: "GB/s", Source: fmt.Sprintf("%.2f × the fleet median %.3g GB/s (%s)", lim.FleetRatioComm.value, med/1e9, lim.FleetRatioComm.source),
					Message: fmt.Sprintf("%s %s busbw at %s", k.scope, k.op, byteSize(largest[k]))})
			}
		}
	}
	judgePairs(f.Measurements, limits, fail)
	for _, s := range fl.Stragglers {
		r := result.Reason{Check: s.Check, Measured: s.Measured, Threshold: s.Threshold, Unit: s.Unit, Message: fmt.Sprintf("rank %d: %s", s.Rank, s.Message)}
		if s.Check == CheckWait {
			r.Source = "lateness = the longest wait of any rank in a call less this rank's; the limit is the straggler threshold"
		} else {
			r.Source = "ratio to the fleet median"
		}
		fail(s.Node, r)
	}
	out := make([]result.Verdict, 0, len(order))
	for _, n := range order {
		v := result.Verdict{Node: n, Verdict: result.VerdictPass, Reasons: reasons[n]}
		incomplete := len(reasons[n]) > 0
		for _, r := range reasons[n] {
			incomplete = incomplete && r.Check == "incomplete"
		}
		switch {
		case incomplete:
			v.Verdict = result.VerdictSkip
		case len(reasons[n]) > 0:
			v.Verdict = result.VerdictFail
		case !measured[n]:
			v.Verdict = result.VerdictSkip
			v.Reasons = []result.Reason{{Check: "measured", Message: "nothing of this node was measured"}}
		}
		out = append(out, v)
	}
	return out
}

// judgePairs fails the nodes and links the pair scope found slow: a pair
// below its threshold is told apart by the second pass (each node against
// a known-good partner): a node whose figure with a good partner is still
// nearer the slow pair's than the fleet's (geometric midpoint) is a bad
// node; a pair whose nodes are both fine with good partners is a bad
// link.
func judgePairs(ms []result.Measurement, limits map[string]resolved, fail func(string, result.Reason)) {
	figs := pairFigures(ms)
	var firstBus []float64
	for _, p := range figs {
		if !p.Second {
			firstBus = append(firstBus, p.Bus)
		}
	}
	med := pairReference(firstBus)
	slow := func(p *pairFigure) (bool, string, float64, string) {
		return pairSlow(p, limits[p.Nodes[0]], med, len(firstBus))
	}
	goodFirst := map[string]bool{}
	for _, p := range figs {
		if s, _, _, _ := slow(p); !p.Second && !s {
			goodFirst[p.Nodes[0]], goodFirst[p.Nodes[1]] = true, true
		}
	}
	for _, p := range figs {
		if p.Second {
			continue
		}
		bad, why, thr, src := slow(p)
		if !bad {
			continue
		}
		a, b := p.Nodes[0], p.Nodes[1]
		// second pass: each node against a good partner
		var badNodes, fineNodes []string
		for _, n := range []string{a, b} {
			if goodFirst[n] {
				fineNodes = append(fineNodes, n)
				continue
			}
			tested := false
			for _, q := range figs {
				if q.Second && slices.Contains(q.Nodes, n) {
					tested = true
					// Closer (on a log scale) to the slow pair's figure than
					// to the fleet's: the node is slow with any partner.
					if !q.OK || q.Bus < math.Sqrt(p.Bus*med) {
						badNodes = append(badNodes, n)
					} else {
						fineNodes = append(fineNodes, n)
					}
					break
				}
			}
			if !tested {
				badNodes = nil
				fineNodes = nil
				break
			}
		}
		r := result.Reason{Check: "link", Measured: p.Bus / 1e9, Threshold: thr, Unit: "GB/s", Source: src}
		switch {
		case len(badNodes)+len(fineNodes) < 2:
			r.Message = fmt.Sprintf("pair %s–%s send/recv %s; no known-good partner to tell a bad node from a bad link", a, b, why)
			fail(a, r)
			fail(b, r)
		case len(badNodes) == 0:
			r.Message = fmt.Sprintf("link %s–%s is slow (%s) though both nodes are fine with a known-good partner: suspect the link or switch port, not the nodes", a, b, why)
			fail(a, r)
			fail(b, r)
		default:
			r.Check = "node_network"
			for _, n := range badNodes {
				r.Message = fmt.Sprintf("pair %s–%s send/recv %s, and %s is slow with a known-good partner too: a bad node", a, b, why, n)
				fail(n, r)
			}
		}
	}
}

// pairSlow says whether a pair test is slow: wrong data or a failed
// transfer, below the pair threshold, or (with two first-pass pairs or
// more) below the limit ratio of the fleet's figure ref (pairReference). It returns why,
// and the threshold in GB/s with its source.
func pairSlow(p *pairFigure, lim resolved, med float64, pairs int) (bool, string, float64, string) {
	if !p.OK {
		return true, "wrong data or a failed transfer", 0, ""
	}
	if t, ok := lim.busGBps(result.ScopePair, backend.SendRecv); ok && p.Bus < t.value*1e9 {
		return true, "below the threshold", t.value, t.source
	}
	if pairs >= 2 && p.Bus < lim.FleetRatioComm.value*med {
		return true, "below the fleet's ratio", lim.FleetRatioComm.value * med / 1e9,
			fmt.Sprintf("%.2f × the fleet's pair figure %.3g GB/s (the median of three or more pairs, the faster of two; %s)", lim.FleetRatioComm.value, med/1e9, lim.FleetRatioComm.source)
	}
	return false, "", 0, ""
}

// pairReference is what a pair is compared with: the median busbw of
// three or more first-pass pairs, the faster of two (one of two cannot be
// told slow by a median; the second pass then finds which node or link
// is to blame).
func pairReference(bus []float64) float64 {
	if len(bus) == 2 {
		return max(bus[0], bus[1])
	}
	return median(bus)
}

// byteSize formats bytes as B, KiB, MiB or GiB.
func byteSize(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d B", b)
}

// DrainCommands are the commands an operator would run to take the failed
// nodes out of service, for the launcher's scheduler; flopcast prints them
// and never runs them.
func DrainCommands(f *result.File) []string {
	var out []string
	for _, v := range f.Fleet.Verdicts {
		if v.Verdict != result.VerdictFail || strings.HasPrefix(v.Node, "(rank ") {
			continue
		}
		var checks []string
		for _, r := range v.Reasons {
			if r.Check != "incomplete" && !slices.Contains(checks, r.Check) {
				checks = append(checks, r.Check)
			}
		}
		reason := fmt.Sprintf("flopcast fleet %s: %s", f.Fleet.RunID, strings.Join(checks, ","))
		switch f.Fleet.Launcher {
		case LauncherSlurm:
			out = append(out, fmt.Sprintf("scontrol update nodename=%s state=drain reason=%q", v.Node, reason))
		case LauncherKubernetes:
			out = append(out,
				fmt.Sprintf("kubectl label node %s flopcast.dev/fleet-verdict=fail --overwrite", v.Node),
				fmt.Sprintf("kubectl taint node %s flopcast.dev/fleet=fail:NoSchedule --overwrite", v.Node))
		default:
			out = append(out,
				fmt.Sprintf("scontrol update nodename=%s state=drain reason=%q", v.Node, reason),
				fmt.Sprintf("kubectl taint node %s flopcast.dev/fleet=fail:NoSchedule --overwrite", v.Node))
		}
	}
	return out
}
