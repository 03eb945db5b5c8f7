package fleet

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
)

// synthetic builds a merged-style file: ranks on the given nodes and hosts.
func synthetic(nodes, hosts []string, launcher string) *result.File {
	f := &result.File{Fleet: &result.Fleet{RunID: "r1", Launcher: launcher, WorldSize: len(nodes)}}
	for r := range nodes {
		f.Fleet.Ranks = append(f.Fleet.Ranks, Hello{Rank: r, Node: nodes[r], Host: hosts[r], Version: "1"})
	}
	return f
}

func rankp(r int) *int { return &r }

// local adds a verified local GEMM with samples around sec seconds.
func addLocal(f *result.File, r int, sec float64) {
	samples := []float64{sec * 0.99, sec, sec * 1.01, sec * 1.02, sec * 0.98, sec, sec * 1.005, sec * 0.995}
	s, _ := stats.Summarize(samples)
	f.Measurements = append(f.Measurements, result.Measurement{Workload: "gemm", Label: "fleet_local", Device: "cpu", DType: "fp32",
		Status: result.StatusOK, Verified: true, FLOPs: 1e9, FLOPPerSecond: 1e9 / s.Median, Seconds: &s, Samples: samples, Rank: rankp(r)})
}

func TestLocalStragglerPerDevice(t *testing.T) {
	// four hosts: rank 2's device is half as fast
	f := synthetic([]string{"a", "b", "c", "d"}, []string{"a", "b", "c", "d"}, LauncherSlurm)
	for r, sec := range []float64{0.010, 0.0102, 0.020, 0.0099} {
		addLocal(f, r, sec)
	}
	f.Fleet.Stragglers = Stragglers(f, nil)
	if len(f.Fleet.Stragglers) != 1 || f.Fleet.Stragglers[0].Rank != 2 || f.Fleet.Stragglers[0].Check != CheckLocalGEMM {
		t.Fatalf("stragglers %+v", f.Fleet.Stragglers)
	}
	s := f.Fleet.Stragglers[0]
	if s.Measured < 0.49e11 || s.Measured > 0.51e11 || s.PValue >= 0.05 {
		t.Errorf("figures %+v", s)
	}
	vs := Judge(f, nil, []string{"a", "b", "c", "d", "e"})
	got := map[string]string{}
	for _, v := range vs {
		got[v.Node] = v.Verdict
	}
	if fmt.Sprint(got) != "map[a:PASS b:PASS c:FAIL d:PASS e:FAIL]" {
		t.Errorf("verdicts %v", vs)
	}
	cmds := DrainCommands(&result.File{Fleet: &result.Fleet{RunID: "r1", Launcher: LauncherSlurm, Verdicts: vs}})
	if len(cmds) != 2 || !strings.HasPrefix(cmds[0], `scontrol update nodename=c state=drain reason="flopcast fleet r1: local_gemm"`) {
		t.Errorf("drain commands %q", cmds)
	}
	k := DrainCommands(&result.File{Fleet: &result.Fleet{RunID: "r1", Launcher: LauncherKubernetes, Verdicts: vs}})
	if len(k) != 4 || !strings.HasPrefix(k[0], "kubectl label node c ") || !strings.HasPrefix(k[1], "kubectl taint node c ") {
		t.Errorf("kubernetes commands %q", k)
	}

	// the same figures from four ranks on one host: one device, no
	// straggler (it cannot be slower than itself)
	g := synthetic([]string{"a", "b", "c", "d"}, []string{"h", "h", "h", "h"}, LauncherFlags)
	for r, sec := range []float64{0.010, 0.0102, 0.020, 0.0099} {
		addLocal(g, r, sec)
	}
	if s := Stragglers(g, nil); len(s) != 0 {
		t.Errorf("one host: stragglers %+v", s)
	}
}

func TestThresholdsLevelsAndCatalog(t *testing.T) {
	th, err := ParseThresholds([]byte(`
default:
  bus_gbps: {world: 1}
  fleet_ratio_local: 0.9
  source: site policy 2026
gpu_models:
  H100:
    local_tflops: 700
instance_types:
  p5.48xlarge:
    bus_gbps: {intra_node/all_reduce: 300}
    straggler_ms: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	th.Path = "th.yaml"
	h := Hello{Node: "n", InstanceType: "p5.48xlarge", GPUModel: "NVIDIA H100 80GB HBM3"}
	r := th.limitsFor(h)
	if v, ok := r.busGBps("intra_node", "all_reduce"); !ok || v.value != 300 || v.source != "th.yaml: instance_types.p5.48xlarge" {
		t.Errorf("intra_node/all_reduce %+v", v)
	}
	// no file value for intra_node all_gather: the catalog's p5 figure,
	// half of one direction of 900 GB/s bidirectional
	if v, ok := r.busGBps("intra_node", "all_gather"); !ok || v.value != 225 || !strings.Contains(v.source, "catalog") || !strings.Contains(v.source, "AWS-DOC") {
		t.Errorf("intra_node/all_gather %+v", v)
	}
	// pair: 3200 Gbit/s over 8 GPUs = 50 GB/s per GPU, half of it
	if v, ok := r.busGBps("pair", "send_recv"); !ok || v.value != 25 {
		t.Errorf("pair %+v", v)
	}
	if v, _ := r.localTFLOPS("bf16"); v.value != 700 || !strings.Contains(v.source, "gpu_models.H100") {
		t.Errorf("local %+v", v)
	}
	if r.Straggler.value != 0.002 || r.FleetRatioLocal.value != 0.9 || !strings.Contains(r.FleetRatioLocal.source, "site policy 2026") || r.FleetRatioComm.source != builtinSource {
		t.Errorf("ratios %+v %+v %+v", r.Straggler, r.FleetRatioLocal, r.FleetRatioComm)
	}
	// without a file: the catalog's H100 bf16 peak 989.4 TFLOP/s, half
	var none *Thresholds
	if v, ok := none.limitsFor(h).localTFLOPS("bf16"); !ok || v.value != 494.7 || !strings.Contains(v.source, "h100-sxm") {
		t.Errorf("catalog local %+v", v)
	}
	if _, ok := none.limitsFor(Hello{Node: "cpu"}).localTFLOPS("fp32"); ok {
		t.Error("a CPU node got a catalog GEMM threshold")
	}
	for _, bad := range []string{"default: {bus_gbps: {galaxy: 1}}", "default: {fleet_ratio_comm: 2}", "default: {local_tflops: -1}", "defaults: {}", "default: [1]"} {
		if _, err := ParseThresholds([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestJudgeBusThresholdAndWrongElements(t *testing.T) {
	f := synthetic([]string{"a", "a", "b", "b"}, []string{"a", "a", "b", "b"}, LauncherFlags)
	for r := range 4 {
		bus := 2e9
		if r >= 2 {
			bus = 0.5e9
		}
		m := result.Measurement{Workload: result.WorkloadComm, Label: "intra_node all_reduce", Device: "cpu", DType: "fp32", Collective: "all_reduce",
			Scope: result.ScopeIntraNode, Bytes: 1 << 20, Status: result.StatusOK, Verified: true, BusBytesPerSecond: bus, Rank: rankp(r)}
		if r == 1 {
			m.Status, m.Verified, m.WrongElements, m.BusBytesPerSecond = result.StatusFailed, false, 3, 0
		}
		f.Measurements = append(f.Measurements, m)
	}
	th, err := ParseThresholds([]byte("default: {bus_gbps: {intra_node: 1}}"))
	if err != nil {
		t.Fatal(err)
	}
	vs := Judge(f, th, nil)
	if len(vs) != 2 || vs[0].Verdict != result.VerdictFail || vs[0].Reasons[0].Check != "wrong_elements" || vs[0].Reasons[0].Measured != 3 {
		t.Fatalf("node a: %+v", vs)
	}
	r := vs[1].Reasons
	if vs[1].Verdict != result.VerdictFail || len(r) != 1 || r[0].Check != "bus_bandwidth" || r[0].Measured != 0.5 || r[0].Threshold != 1 || r[0].Unit != "GB/s" {
		t.Errorf("node b: %+v", vs[1])
	}
}

func TestMetricsParse(t *testing.T) {
	f := synthetic([]string{"a\"x", "b"}, []string{"h", "h"}, LauncherFlags)
	f.Fleet.Ranks[1].GPUUUIDs = []string{"GPU-1234"}
	f.Fleet.Ranks[1].GPUModel = "NVIDIA H100 80GB HBM3"
	s, _ := stats.Summarize([]float64{0.001, 0.002})
	for r, dev := range []string{"cpu", "cuda:0"} {
		f.Measurements = append(f.Measurements, result.Measurement{Workload: result.WorkloadComm, Label: "world all_reduce", Device: dev, DType: "fp32",
			Collective: "all_reduce", Scope: result.ScopeWorld, Bytes: 4096, Status: result.StatusOK, Verified: true, Seconds: &s,
			AlgBytesPerSecond: 2.7e6, BusBytesPerSecond: 2.7e6, Rank: rankp(r), WaitSeconds: []float64{0.1, 0.2}})
	}
	f.Fleet.Verdicts = Judge(f, nil, nil)
	var b bytes.Buffer
	if err := EncodeMetrics(&b, f); err != nil {
		t.Fatal(err)
	}
	fams, err := ParseMetrics(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	bus := fams["flopcast_fleet_bus_bytes_per_second"]
	if len(bus) != 2 || bus[0].Labels["Hostname"] != `a"x` || bus[1].Labels["UUID"] != "GPU-1234" || bus[1].Labels["gpu"] != "0" ||
		bus[1].Labels["modelName"] != "NVIDIA H100 80GB HBM3" || bus[1].Value != 2.7e6 {
		t.Errorf("busbw series %+v", bus)
	}
	if v := fams["flopcast_fleet_node_verdict"]; len(v) != 6 {
		t.Errorf("verdict series %+v", v)
	}
	if w := fams["flopcast_fleet_wait_seconds"]; len(w) != 2 || w[0].Value < 0.149 || w[0].Value > 0.151 {
		t.Errorf("wait series %+v", w)
	}
	for _, bad := range []string{
		"x 1\n",
		"# HELP x h\n# TYPE x gauge\nx 1",
		"# HELP x h\n# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",
		"# HELP x h\n# TYPE x gauge\nx{a=1} 1\n",
		"# HELP x h\n# TYPE x gauge\nx NaN\n",
		"# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",
		"# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n",
		"# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\ny 1\nx 1\n",
		"# HELP x h\n# TYPE x gauge\nx 1 123 4\n",
		"# TYPE x gauge\nx 1\n",
	} {
		if _, err := ParseMetrics([]byte(bad)); err == nil {
			t.Errorf("ParseMetrics accepted %q", bad)
		}
	}
}

func TestManifestValidation(t *testing.T) {
	ok := ManifestOptions{Kind: "jobset", Name: "f", Namespace: "ns", Nodes: 2, RanksPerNode: 1, Image: "img", Port: 1, Time: "1"}
	var b bytes.Buffer
	if err := Manifest(&b, ok); err != nil || !strings.Contains(b.String(), "f-workers-0-0.f") {
		t.Errorf("%v\n%s", err, b.String())
	}
	for _, mod := range []func(*ManifestOptions){
		func(o *ManifestOptions) { o.Kind = "helm" },
		func(o *ManifestOptions) { o.Name = "A" },
		func(o *ManifestOptions) { o.Nodes = 0 },
		func(o *ManifestOptions) { o.Image = "a b" },
		func(o *ManifestOptions) { o.Args = []string{"$(rm)"} },
	} {
		o := ok
		mod(&o)
		if err := Manifest(&b, o); err == nil || !IsBadInput(err) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
