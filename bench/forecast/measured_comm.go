package forecast

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
)

// MeasuredLink is one link figure a fleet run measured: the bus bandwidth
// (nccl-tests' busbw, bytes/s) of a collective in a scope at its largest
// size, the median over the ranks whose output was right.
type MeasuredLink struct {
	Collective, Scope string
	Bytes             int64
	// BusBytesPerSecond is the median busbw; Ranks the ranks behind it.
	BusBytesPerSecond float64
	Ranks             int
}

func (l MeasuredLink) String() string {
	return fmt.Sprintf("%s %s at %d bytes: %.1f GB/s busbw (median of %d ranks)", l.Scope, l.Collective, l.Bytes, l.BusBytesPerSecond/1e9, l.Ranks)
}

// MeasuredLinks are the figures a forecast takes from a fleet file: the
// intra-node all-reduce for tensor parallelism, the inter-node all-reduce
// (one rank per node: the network alone) for data parallelism, and the
// all-to-all, inside and across nodes, for expert parallelism. A nil
// field was not measured.
type MeasuredLinks struct {
	Intra, Inter, AllToAllIntra, AllToAllInter *MeasuredLink
	// InterFromWorld: the inter-node figure is the world scope's (every
	// node ran one rank, so the world is the network; or no inter-node
	// scope ran and the world figure is the best there is).
	InterFromWorld bool
	RunID          string
}

// largest returns the figure of collective op in scope at its largest
// verified size, or nil.
func largest(f *result.File, op, scope string) *MeasuredLink {
	var best int64 = -1
	var vals []float64
	for _, m := range f.Measurements {
		if m.Workload != result.WorkloadComm || m.Collective != op || m.Scope != scope || m.Status != result.StatusOK || m.BusBytesPerSecond <= 0 {
			continue
		}
		if strings.HasPrefix(m.Label, "straggler") {
			continue
		}
		switch {
		case m.Bytes > best:
			best, vals = m.Bytes, []float64{m.BusBytesPerSecond}
		case m.Bytes == best:
			vals = append(vals, m.BusBytesPerSecond)
		}
	}
	if best < 0 {
		return nil
	}
	slices.Sort(vals)
	return &MeasuredLink{Collective: op, Scope: scope, Bytes: best, BusBytesPerSecond: stats.Quantile(vals, 0.5), Ranks: len(vals)}
}

// LinksFromFleet extracts the link figures of a fleet file (merged or one
// rank's); ok is false when f is not a fleet file or measured no link.
func LinksFromFleet(f *result.File) (MeasuredLinks, bool) {
	var l MeasuredLinks
	if f == nil || f.Fleet == nil {
		return l, false
	}
	l.RunID = f.Fleet.RunID
	l.Intra = largest(f, "all_reduce", result.ScopeIntraNode)
	l.Inter = largest(f, "all_reduce", result.ScopeInterNode)
	l.AllToAllIntra = largest(f, "all_to_all", result.ScopeIntraNode)
	l.AllToAllInter = largest(f, "all_to_all", result.ScopeInterNode)
	if l.Inter == nil && onePerNode(f) {
		l.Inter, l.InterFromWorld = largest(f, "all_reduce", result.ScopeWorld), true
		if l.AllToAllInter == nil {
			l.AllToAllInter = largest(f, "all_to_all", result.ScopeWorld)
		}
	}
	return l, l.Intra != nil || l.Inter != nil || l.AllToAllIntra != nil || l.AllToAllInter != nil
}

// onePerNode reports whether every node of the fleet ran one rank (the
// world scope then crosses the network only).
func onePerNode(f *result.File) bool {
	nodes := map[string]bool{}
	for _, r := range f.Fleet.Ranks {
		if nodes[r.Node] {
			return false
		}
		nodes[r.Node] = true
	}
	return len(nodes) > 1
}

// Apply puts the measured figures into h in place of the catalog's link
// speeds and returns the lines for the forecast's sources. The engine
// prices a link at IntraGBps/2 (per direction) and InterGBps times
// LinkEfficiency; a measured busbw is already what a collective achieves,
// so it is stored divided by LinkEfficiency and the engine's product is
// the measured figure. The all-to-all figures price the expert-parallel
// all-to-all (Hardware.AllToAllIntraGBps, AllToAllInterGBps: inside a
// node when the expert-parallel group fits in one, across nodes beyond);
// they are applied, and named in the sources, only for a mixture-of-experts
// model (moe), the only one with expert all-to-alls. Where no all-reduce
// figure exists for a scope, its all-to-all also stands for that scope's
// link (the best figure there is).
func (l MeasuredLinks) Apply(h *Hardware, path string, moe bool) (sources, warnings []string) {
	intra, inter := l.Intra, l.Inter
	if intra == nil && l.AllToAllIntra != nil {
		intra = l.AllToAllIntra
	}
	if inter == nil && l.AllToAllInter != nil {
		inter = l.AllToAllInter
	}
	if moe && l.AllToAllIntra != nil {
		sources = append(sources, fmt.Sprintf("expert-parallel all-to-all inside a node: measured by fleet run %s (%s), %s, instead of the tensor-parallel link", l.RunID, path, l.AllToAllIntra))
		h.AllToAllIntraGBps = l.AllToAllIntra.BusBytesPerSecond / 1e9
	}
	if moe && l.AllToAllInter != nil {
		sources = append(sources, fmt.Sprintf("expert-parallel all-to-all across nodes: measured by fleet run %s (%s), %s, instead of the data-parallel link", l.RunID, path, l.AllToAllInter))
		h.AllToAllInterGBps = l.AllToAllInter.BusBytesPerSecond / 1e9
	}
	if intra != nil {
		was := h.IntraGBps
		h.IntraGBps = 2 * intra.BusBytesPerSecond / 1e9 / LinkEfficiency
		sources = append(sources, fmt.Sprintf("tensor-parallel link: measured by fleet run %s (%s), %s, instead of the catalog's %.0f GB/s", l.RunID, path, intra, was))
	} else {
		warnings = append(warnings, fmt.Sprintf("%s has no intra-node all-reduce (one rank per node): tensor-parallel traffic priced at the catalog's link speed", path))
	}
	if inter != nil {
		was := h.InterGBps
		h.InterGBps = inter.BusBytesPerSecond / 1e9 / LinkEfficiency
		how := ""
		if l.InterFromWorld {
			how = " (world scope: one rank per node, so the network alone)"
		}
		sources = append(sources, fmt.Sprintf("data-parallel link: measured by fleet run %s (%s), %s%s, instead of the catalog's %.1f GB/s per GPU", l.RunID, path, inter, how, was))
	} else {
		warnings = append(warnings, fmt.Sprintf("%s has no inter-node figure (one node, or no inter-node scope): data-parallel traffic priced at the catalog's network speed", path))
	}
	if moe && l.AllToAllIntra == nil && l.AllToAllInter == nil {
		warnings = append(warnings, fmt.Sprintf("%s has no all-to-all figure: the expert-parallel all-to-all priced at the two links above", path))
	}
	return sources, warnings
}

// useFleetLinks takes the link speeds from f, the file r.From (nil when
// none), when it is a fleet file. When that file's local GEMMs were not
// measured on the forecast's GPU (a CPU fleet, another GPU model), its
// speed is not used: r.From is cleared so the speed comes from the
// results directory or the catalog, and a warning says so.
func (r *Request) useFleetLinks(c *catalog.Catalog, in *Input, f *result.File) error {
	if f == nil || f.Fleet == nil {
		return nil
	}
	links, ok := LinksFromFleet(f)
	if !ok {
		return fmt.Errorf("--from %s: a fleet file without verified collective figures", r.From)
	}
	src, warn := links.Apply(&in.Hardware, r.From, in.Model.IsMoE())
	in.Sources = append(in.Sources, src...)
	in.Warnings = append(in.Warnings, warn...)
	name, has := deviceOf(f)
	matched, isGPU := c.MatchDevice(name)
	if !has || !isGPU || matched.Name != in.Hardware.GPU.Name {
		what := "no verified GEMM"
		if has {
			what = "GEMMs measured on " + name
		}
		in.Warnings = append(in.Warnings, fmt.Sprintf("--from %s: a fleet file with %s, not a %s: only its link figures are used", r.From, what, in.Hardware.GPU.Name))
		r.From = ""
	}
	return nil
}
