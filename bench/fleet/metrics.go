package fleet

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
)

// metric is one sample of a family.
type metric struct {
	labels [][2]string
	value  float64
}

type family struct {
	name, help string
	samples    []metric
}

// WriteMetrics writes the merged fleet file f as a Prometheus text-format
// file at path, atomically (a scraper or node-exporter's textfile
// collector sees the old file or the new one). Per-GPU series carry
// dcgm-exporter's label names (Hostname, gpu, UUID, modelName) so the two
// join on a dashboard.
func WriteMetrics(path string, f *result.File) error {
	return result.WriteWith(path, func(w io.Writer) error { return EncodeMetrics(w, f) })
}

// EncodeMetrics writes f's figures in the Prometheus text format.
func EncodeMetrics(w io.Writer, f *result.File) error {
	fl := f.Fleet
	if fl == nil {
		return fmt.Errorf("not a fleet file")
	}
	run := [2]string{"run_id", fl.RunID}
	byRank := map[int]Hello{}
	for _, h := range fl.Ranks {
		byRank[h.Rank] = h
	}
	// dcgm-exporter's labels for a rank's device.
	device := func(rank int, dev string) [][2]string {
		h := byRank[rank]
		gpu, uuid := "", ""
		if i, ok := strings.CutPrefix(dev, "cuda:"); ok {
			gpu = i
			if n, err := strconv.Atoi(i); err == nil && n < len(h.GPUUUIDs) {
				uuid = h.GPUUUIDs[n]
			} else if len(h.GPUUUIDs) == 1 {
				uuid = h.GPUUUIDs[0]
			}
		}
		model := h.GPUModel
		if model == "" {
			model = dev
		}
		return [][2]string{{"Hostname", h.Node}, {"gpu", gpu}, {"UUID", uuid}, {"modelName", model}, {"rank", strconv.Itoa(rank)}, run}
	}
	fams := []*family{
		{name: "flopcast_fleet_node_verdict", help: "Node verdict of the fleet run: 1 for the verdict named in the label."},
		{name: "flopcast_fleet_node_failed_checks", help: "Number of failed checks of the node."},
		{name: "flopcast_fleet_world_size", help: "Ranks the fleet run expected."},
		{name: "flopcast_fleet_missing_ranks", help: "Ranks that did not arrive or sent no results."},
		{name: "flopcast_fleet_bus_bytes_per_second", help: "Collective bus bandwidth (nccl-tests formula) in bytes per second; absent when the output was wrong."},
		{name: "flopcast_fleet_alg_bytes_per_second", help: "Collective algorithm bandwidth (bytes / median time) in bytes per second."},
		{name: "flopcast_fleet_collective_seconds", help: "Median time of one collective call on the rank."},
		{name: "flopcast_fleet_wrong_elements", help: "Collective output elements that differed from the exact expected value."},
		{name: "flopcast_fleet_wait_seconds", help: "Median wait inside the collective after a fixed local phase (the late rank waits least)."},
		{name: "flopcast_fleet_local_flop_per_second", help: "Local GEMM throughput of the rank's device (verified)."},
		{name: "flopcast_fleet_straggler", help: "1 for a rank found straggling, by check."},
	}
	get := func(name string) *family {
		for _, f := range fams {
			if f.name == name {
				return f
			}
		}
		panic(name)
	}
	add := func(name string, v float64, labels ...[2]string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		get(name).samples = append(get(name).samples, metric{labels, v})
	}
	for _, v := range fl.Verdicts {
		for _, s := range []string{result.VerdictPass, result.VerdictFail, result.VerdictSkip} {
			val := 0.0
			if v.Verdict == s {
				val = 1
			}
			add("flopcast_fleet_node_verdict", val, [2]string{"Hostname", v.Node}, [2]string{"verdict", s}, run)
		}
		failed := 0.0
		if v.Verdict == result.VerdictFail {
			failed = float64(len(v.Reasons))
		}
		add("flopcast_fleet_node_failed_checks", failed, [2]string{"Hostname", v.Node}, run)
	}
	add("flopcast_fleet_world_size", float64(fl.WorldSize), run)
	add("flopcast_fleet_missing_ranks", float64(len(fl.Missing)), run)
	for _, m := range f.Measurements {
		if m.Rank == nil {
			continue
		}
		l := device(*m.Rank, m.Device)
		switch {
		case m.Workload == result.WorkloadComm || m.Workload == result.WorkloadP2P:
			if m.Collective == "" {
				continue
			}
			cl := append(l, [2]string{"collective", m.Collective}, [2]string{"scope", m.Scope},
				[2]string{"bytes", strconv.FormatInt(m.Bytes, 10)}, [2]string{"test", metricTest(m)}, [2]string{"nodes", strings.Join(m.Nodes, "-")})
			add("flopcast_fleet_wrong_elements", float64(m.WrongElements), cl...)
			if m.Status == result.StatusOK && m.Verified && m.BusBytesPerSecond > 0 {
				add("flopcast_fleet_bus_bytes_per_second", m.BusBytesPerSecond, cl...)
				add("flopcast_fleet_alg_bytes_per_second", m.AlgBytesPerSecond, cl...)
			}
			if m.Seconds != nil && m.Status == result.StatusOK {
				add("flopcast_fleet_collective_seconds", m.Seconds.Median, cl...)
			}
			if len(m.WaitSeconds) > 0 {
				if s, err := stats.Summarize(m.WaitSeconds); err == nil {
					add("flopcast_fleet_wait_seconds", s.Median, cl...)
				}
			}
		case isLocal(m) && m.Status == result.StatusOK && m.FLOPPerSecond > 0:
			add("flopcast_fleet_local_flop_per_second", m.FLOPPerSecond, append(l, [2]string{"dtype", m.DType})...)
		}
	}
	for _, s := range fl.Stragglers {
		dev := ""
		for _, m := range f.Measurements {
			if m.Rank != nil && *m.Rank == s.Rank {
				dev = m.Device
				break
			}
		}
		add("flopcast_fleet_straggler", 1, append(device(s.Rank, dev), [2]string{"check", s.Check})...)
	}
	bw := bufio.NewWriter(w)
	for _, fam := range fams {
		if len(fam.samples) == 0 {
			continue
		}
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", fam.name, fam.help, fam.name)
		seen := map[string]bool{}
		for _, s := range fam.samples {
			line := fam.name + formatLabels(s.labels)
			if seen[line] { // one sample per label set
				continue
			}
			seen[line] = true
			fmt.Fprintf(bw, "%s %s\n", line, strconv.FormatFloat(s.value, 'g', -1, 64))
		}
	}
	return bw.Flush()
}

// metricTest tells the pair scope's two passes and the straggler test
// apart from the plain collectives.
func metricTest(m result.Measurement) string {
	switch {
	case isStraggler(m):
		return "straggler"
	case strings.HasPrefix(m.Label, "second pass"):
		return "second_pass"
	}
	return "sweep"
}

func formatLabels(ls [][2]string) string {
	if len(ls) == 0 {
		return ""
	}
	sorted := append([][2]string{}, ls...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l[0])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(l[1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(v string) string { return labelEscaper.Replace(v) }

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
