package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/fleet"
	"github.com/flopcast/flopcast/bench/result"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// fleetBound bounds every multi-process fleet test: no run may hang.
const fleetBound = 20 * time.Second

type rankOutcome struct {
	code           int
	stdout, stderr string
}

// fleetWorld starts n ranks of "flopcast fleet run" on 127.0.0.1, rank r on
// node "node<r/perNode>", with a small suite, the fault spec in
// FLOPCAST_FLEET_FAULT, and waits for all (each killed at fleetBound).
func fleetWorld(t *testing.T, dir string, n, perNode int, fault string, extra ...string) []rankOutcome {
	t.Helper()
	return fleetWorldKill(t, dir, n, perNode, fault, -1, 0, extra...)
}

// fleetWorldKill is fleetWorld that also kills rank kill (SIGKILL) after
// the given time.
func fleetWorldKill(t *testing.T, dir string, n, perNode int, fault string, kill int, after time.Duration, extra ...string) []rankOutcome {
	t.Helper()
	addr := freePort(t)
	// A shared 2-core test machine delays processes by milliseconds at
	// random: the tests hold stragglers to 30 ms (the default is 5 ms) and
	// inject 120 ms.
	th := filepath.Join(dir, "thresholds.yaml")
	if err := os.WriteFile(th, []byte("default:\n  straggler_ms: 30\n  source: test machine, shared CPUs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fleetBound)
	defer cancel()
	out := make([]rankOutcome, n)
	var wg sync.WaitGroup
	start := time.Now()
	for r := range n {
		args := []string{"fleet", "run", "--rank", fmt.Sprint(r), "--world-size", fmt.Sprint(n),
			"--node", fmt.Sprintf("node%d", r/perNode), "--rendezvous", addr,
			"--sizes", "4KiB,256KiB", "--iters", "5", "--warmup", "1", "--local-size", "64", "--local-repeats", "5",
			"--rendezvous-timeout", "3s", "--timeout", "10s", "--results-dir", "out", "--threads", "1", "--thresholds", th}
		args = append(args, extra...)
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "FLOPCAST_FLEET_FAULT="+fault)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if r == kill {
			timer := time.AfterFunc(after, func() { cmd.Process.Kill() })
			defer timer.Stop()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			out[r] = rankOutcome{code, so.String(), se.String()}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("a fleet run (fault %q) was still running after %v: %+v", fault, fleetBound, out)
	}
	t.Logf("fault %q: %d ranks in %v", fault, n, time.Since(start).Round(time.Millisecond))
	return out
}

// mergedFile reads the one merged fleet file in dir/out.
func mergedFile(t *testing.T, dir string) (*result.File, string) {
	t.Helper()
	merged, _, _ := fleetFiles(filepath.Join(dir, "out"))
	if len(merged) != 1 {
		t.Fatalf("want one merged file, found %v", merged)
	}
	return readMerged(t, merged[0])
}

func verdictOf(f *result.File, node string) result.Verdict {
	for _, v := range f.Fleet.Verdicts {
		if v.Node == node {
			return v
		}
	}
	return result.Verdict{Node: node, Verdict: "absent"}
}

func hasCheck(v result.Verdict, check string) bool {
	for _, r := range v.Reasons {
		if r.Check == check {
			return true
		}
	}
	return false
}

// TestFleetRunPasses runs 4 ranks on 2 "nodes" (2 each) over TCP and checks
// the merged file, the bandwidth arithmetic, the metrics and the offline
// merge.
func TestFleetRunPasses(t *testing.T) {
	dir := t.TempDir()
	outs := fleetWorld(t, dir, 4, 2, "", "--metrics-out", "out/fleet.prom")
	for r, o := range outs {
		if o.code != 0 {
			t.Fatalf("rank %d exit %d\nstdout:\n%s\nstderr:\n%s", r, o.code, o.stdout, o.stderr)
		}
	}
	f, path := mergedFile(t, dir)
	if f.Fleet.WorldSize != 4 || len(f.Fleet.Ranks) != 4 || f.Fleet.Launcher != "flags" || f.Fleet.Backend != "tcp" || len(f.Fleet.Missing) != 0 ||
		!strings.Contains(f.Fleet.Thresholds, "thresholds.yaml") {
		t.Fatalf("fleet block %+v", f.Fleet)
	}
	for _, n := range []string{"node0", "node1"} {
		if v := verdictOf(f, n); v.Verdict != result.VerdictPass {
			t.Errorf("%s: %+v", n, v)
		}
	}
	scopes := map[string]int{}
	for _, m := range f.Measurements {
		if m.Collective == "" {
			continue
		}
		scopes[m.Scope]++
		if m.Status != result.StatusOK || !m.Verified || m.WrongElements != 0 || m.Rank == nil {
			t.Errorf("%s: %+v", m.Label, m)
			continue
		}
		n := 4
		switch m.Scope {
		case result.ScopeIntraNode, result.ScopeInterNode, result.ScopePair:
			n = 2
		}
		alg := float64(m.Bytes) / m.Seconds.Median
		if d := m.AlgBytesPerSecond/alg - 1; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s %d B: algbw %v, bytes/median %v", m.Label, m.Bytes, m.AlgBytesPerSecond, alg)
		}
		if d := m.BusBytesPerSecond/(alg*fleet.BusFactor(backend.CollectiveOp(m.Collective), n)) - 1; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s %d B: busbw %v", m.Label, m.Bytes, m.BusBytesPerSecond)
		}
	}
	// 4 ops × 2 sizes per rank: intra-node on all 4 ranks, world on 4,
	// inter-node on the 2 leaders; the pair test on the 2 leaders; the
	// straggler test on 4.
	want := map[string]int{result.ScopeIntraNode: 32, result.ScopeWorld: 32 + 4, result.ScopeInterNode: 16, result.ScopePair: 2}
	for s, n := range want {
		if scopes[s] != n {
			t.Errorf("scope %s: %d measurements, want %d", s, scopes[s], n)
		}
	}
	if !strings.Contains(outs[0].stdout, "PASS node0") || !strings.Contains(outs[0].stdout, "merged file: out/fleet-") {
		t.Errorf("rank 0 printed:\n%s", outs[0].stdout)
	}
	// The metrics file parses strictly and carries dcgm-exporter's labels.
	prom, err := os.ReadFile(filepath.Join(dir, "out", "fleet.prom"))
	if err != nil {
		t.Fatal(err)
	}
	fams, err := fleet.ParseMetrics(prom)
	if err != nil {
		t.Fatalf("metrics: %v\n%s", err, prom)
	}
	bus := fams["flopcast_fleet_bus_bytes_per_second"]
	if len(bus) == 0 {
		t.Fatalf("no busbw series:\n%s", prom)
	}
	for _, l := range []string{"Hostname", "gpu", "UUID", "modelName"} {
		if _, ok := bus[0].Labels[l]; !ok {
			t.Errorf("busbw series lacks label %s: %v", l, bus[0].Labels)
		}
	}
	// Offline merge of the rank files gives the same verdicts.
	o := flopcast(t, dir, "fleet", "merge", "out", "-o", "again.json", "--quiet")
	if o.code != 0 {
		t.Fatalf("merge: %+v", o)
	}
	g, err := result.Read(filepath.Join(dir, "again.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.Fleet.Verdicts) != fmt.Sprint(f.Fleet.Verdicts) || len(g.Measurements) != len(f.Measurements) {
		t.Errorf("offline merge differs from %s", path)
	}
}

// TestFleetFaults injects each fault into a 4-rank run and checks that it
// is flagged on the right node, for the right reason, with no hang.
func TestFleetFaults(t *testing.T) {
	cases := []struct {
		name, fault string
		perNode     int
		// rank 0's exit code and the checks expected per node
		code  int
		fails map[string]string
		pass  []string
		args  []string
	}{
		{"slow rank", "slow-rank:1:120ms", 2, 1, map[string]string{"node0": fleet.CheckWait}, []string{"node1"}, []string{"--scopes", "world"}},
		{"corrupt result", "corrupt:3", 2, 1, map[string]string{"node1": "wrong_elements"}, []string{"node0"}, []string{"--scopes", "intra_node,world"}},
		{"slow link", "slow-link:1>0:60ms", 1, 1, map[string]string{"node0": "link", "node1": "link"}, []string{"node2", "node3"}, []string{"--scopes", "pair", "--straggler-bytes", "0"}},
		{"slow node", "slow-link:1:60ms", 1, 1, map[string]string{"node1": "node_network"}, []string{"node0", "node2", "node3"}, []string{"--scopes", "pair", "--straggler-bytes", "0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			outs := fleetWorld(t, dir, 4, c.perNode, c.fault, c.args...)
			if outs[0].code != c.code {
				t.Fatalf("rank 0 exit %d, want %d\nstdout:\n%s\nstderr:\n%s", outs[0].code, c.code, outs[0].stdout, outs[0].stderr)
			}
			f, _ := mergedFile(t, dir)
			for node, check := range c.fails {
				if v := verdictOf(f, node); v.Verdict != result.VerdictFail || !hasCheck(v, check) {
					t.Errorf("%s: want FAIL on %s, got %+v", node, check, v)
				}
			}
			for _, node := range c.pass {
				if v := verdictOf(f, node); v.Verdict != result.VerdictPass {
					t.Errorf("%s: want PASS, got %+v", node, v)
				}
			}
			if !strings.Contains(outs[0].stdout, "state=drain") {
				t.Errorf("no drain command printed:\n%s", outs[0].stdout)
			}
			if c.fault == "corrupt:3" {
				for _, m := range f.Measurements {
					if m.Rank != nil && *m.Rank == 3 && m.Collective != "" && (m.WrongElements == 0 || m.BusBytesPerSecond != 0 || m.Status != result.StatusFailed) {
						t.Errorf("rank 3 %s: wrong %d busbw %v status %s", m.Label, m.WrongElements, m.BusBytesPerSecond, m.Status)
					}
				}
			}
			if c.fault == "slow-rank:1:120ms" {
				if len(f.Fleet.Stragglers) != 1 || f.Fleet.Stragglers[0].Rank != 1 || f.Fleet.Stragglers[0].Measured < 0.1 ||
					(f.Fleet.Stragglers[0].Threshold < 0.0299 || f.Fleet.Stragglers[0].Threshold > 0.0301) || !strings.Contains(f.Fleet.Stragglers[0].Message, "test machine, shared CPUs") {
					t.Errorf("stragglers %+v", f.Fleet.Stragglers)
				}
			}
		})
	}
}

// TestFleetRendezvousFaults: a rank that never arrives is named and the
// run exits 1 within the timeout; a version mismatch exits 2 naming the
// odd rank, on every rank.
func TestFleetRendezvousFaults(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	outs := fleetWorld(t, dir, 4, 2, "never-arrive:3")
	if outs[0].code != 1 || !strings.Contains(outs[0].stderr, "rank 3 did not arrive") {
		t.Errorf("rank 0: %+v", outs[0])
	}
	for _, r := range []int{1, 2} {
		if outs[r].code != 1 || !strings.Contains(outs[r].stderr, "rank 3") {
			t.Errorf("rank %d: %+v", r, outs[r])
		}
	}
	f, _ := mergedFile(t, dir)
	if !slices.Equal(f.Fleet.Missing, []int{3}) || verdictOf(f, "(rank 3)").Verdict != result.VerdictFail {
		t.Errorf("missing %v verdicts %+v", f.Fleet.Missing, f.Fleet.Verdicts)
	}
	t.Logf("never-arrive handled in %v", time.Since(start))

	dir = t.TempDir()
	outs = fleetWorld(t, dir, 4, 2, "version:2")
	if outs[0].code != 2 || !strings.Contains(outs[0].stderr, "rank 2 (node node1) runs flopcast 0.0.0-fault") {
		t.Errorf("rank 0: %+v", outs[0])
	}
	for _, r := range []int{1, 2, 3} {
		if outs[r].code == 0 || !strings.Contains(outs[r].stderr, "refuses to start") {
			t.Errorf("rank %d: %+v", r, outs[r])
		}
	}
}

// TestFleetRankLostMidRun kills rank 3 while the collectives run: the
// others do not hang, rank 0 writes the merged file with rank 3 missing and
// its node failed, and exits 1.
func TestFleetRankLostMidRun(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	outs := fleetWorldKill(t, dir, 4, 2, "slow-link:3:40ms", 3, 1500*time.Millisecond, "--scopes", "world", "--straggler-bytes", "0", "--iters", "20")
	if outs[0].code != 1 || !strings.Contains(outs[0].stderr, "rank 3") {
		t.Fatalf("rank 0: %+v", outs[0])
	}
	if outs[3].code != -1 {
		t.Errorf("rank 3 was not killed mid-run: %+v", outs[3])
	}
	f, _ := mergedFile(t, dir)
	if !slices.Equal(f.Fleet.Missing, []int{3}) {
		t.Errorf("missing %v", f.Fleet.Missing)
	}
	if v := verdictOf(f, "node1"); v.Verdict != result.VerdictFail || !hasCheck(v, "ranks_present") {
		t.Errorf("node1: %+v", v)
	}
	if v := verdictOf(f, "node0"); v.Verdict == result.VerdictFail {
		t.Errorf("node0 blamed for rank 3's loss: %+v", v)
	}
	t.Logf("lost rank handled in %v", time.Since(start))
}

// TestFleetRootLostThenMerge kills rank 0 mid-run: every other rank ends
// with a line naming rank 0 (no hang) and keeps its own file, and "fleet
// merge" rebuilds the merged file offline with rank 0 missing (exit 1).
func TestFleetRootLostThenMerge(t *testing.T) {
	dir := t.TempDir()
	outs := fleetWorldKill(t, dir, 4, 2, "slow-link:3:40ms", 0, 1500*time.Millisecond, "--scopes", "world", "--straggler-bytes", "0", "--iters", "20")
	if outs[0].code != -1 {
		t.Fatalf("rank 0 was not killed mid-run: %+v", outs[0])
	}
	for _, r := range []int{1, 2, 3} {
		if outs[r].code != 1 || !strings.Contains(outs[r].stderr, "rank 0") {
			t.Errorf("rank %d: %+v", r, outs[r])
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "fleet-*-rank*.json"))
	if len(files) != 3 {
		t.Fatalf("rank files %v", files)
	}
	o := flopcast(t, dir, "fleet", "merge", "out", "-o", "merged.json")
	if o.code != 1 || !strings.Contains(o.stderr, "1 ranks missing") {
		t.Fatalf("merge: %+v", o)
	}
	f, err := result.Read(filepath.Join(dir, "merged.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Fleet.Missing, []int{0}) || len(f.Fleet.Ranks) != 4 || verdictOf(f, "node0").Verdict != result.VerdictFail {
		t.Errorf("merged: missing %v, ranks %d, verdicts %+v", f.Fleet.Missing, len(f.Fleet.Ranks), f.Fleet.Verdicts)
	}
}

// TestFleetBadInput: each bad value gets one line naming it and exit 2.
func TestFleetBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"SLURM_PROCID=abc", "SLURM_NTASKS=4"}, nil, "SLURM_PROCID"},
		{[]string{"OMPI_COMM_WORLD_RANK=5", "OMPI_COMM_WORLD_SIZE=4"}, []string{"--rendezvous", "127.0.0.1:1"}, "OMPI_COMM_WORLD_RANK"},
		{[]string{"RANK=0", "WORLD_SIZE=x"}, nil, "WORLD_SIZE"},
		{[]string{"JOB_COMPLETION_INDEX=1"}, nil, "FLOPCAST_WORLD_SIZE"},
		{nil, nil, "--rank and --world-size"},
		{nil, []string{"--rank", "0", "--world-size", "2"}, "--rendezvous"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:99999"}, "--rendezvous"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:1", "--sizes", "12XB"}, "--sizes"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:1", "--scopes", "galaxy"}, "--scopes"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:1", "--ops", "send_recv"}, "--ops"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:1", "--thresholds", "th.yaml"}, "--thresholds"},
		{nil, []string{"--rank", "0", "--world-size", "2", "--rendezvous", "h:1", "--fault", "melt:1"}, "--fault"},
	}
	if err := os.WriteFile(filepath.Join(dir, "th.yaml"), []byte("default:\n  bus_gbps: {galaxy: 3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clean := []string{}
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if !strings.HasPrefix(k, "SLURM") && !strings.HasPrefix(k, "OMPI_") && !strings.HasPrefix(k, "PMI") && k != "RANK" && k != "WORLD_SIZE" &&
			k != "JOB_COMPLETION_INDEX" && k != "MASTER_ADDR" && k != "MASTER_PORT" && !strings.HasPrefix(k, "FLOPCAST_") {
			clean = append(clean, e)
		}
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, binary, append([]string{"fleet", "run"}, c.args...)...)
		cmd.Dir = dir
		cmd.Env = append(slices.Clone(clean), c.env...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		cancel()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		lines := strings.Split(strings.TrimSpace(se.String()), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("env %v args %v: exit %d, stderr %q (want one line naming %s)", c.env, c.args, code, se.String(), c.want)
		}
	}
}

// TestFleetManifests compares each job file with its golden file
// (go test -run TestFleetManifests -update rewrites them).
func TestFleetManifests(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"sbatch", []string{"--kind", "sbatch", "--nodes", "16", "--ranks-per-node", "8", "--gpus-per-node", "8", "--partition", "gpu", "--args", "--sizes 1MiB,1GiB"}},
		{"indexed-job", []string{"--kind", "indexed-job", "--nodes", "4", "--gpus-per-node", "8", "--image", "registry.example/flopcast:0.1"}},
		{"jobset", []string{"--kind", "jobset", "--nodes", "4", "--namespace", "bench"}},
		{"mpijob", []string{"--kind", "mpijob", "--nodes", "2", "--ranks-per-node", "2", "--args", "--scopes world,pair"}},
	} {
		o := flopcast(t, t.TempDir(), append([]string{"fleet", "manifest"}, c.args...)...)
		if o.code != 0 {
			t.Fatalf("%s: %+v", c.name, o)
		}
		golden := filepath.Join("testdata", "fleet", c.name+".golden")
		if *updateGolden {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, []byte(o.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/flopcast -run TestFleetManifests -update)", err)
		}
		if o.stdout != string(want) {
			t.Errorf("%s differs from %s:\n%s", c.name, golden, o.stdout)
		}
	}
	for _, bad := range [][]string{{"--kind", "helm"}, {"--kind", "sbatch", "--nodes", "0"}, {"--kind", "jobset", "--name", "Bad_Name"}, {}} {
		o := flopcast(t, t.TempDir(), append([]string{"fleet", "manifest"}, bad...)...)
		if o.code != 2 || strings.Count(strings.TrimSpace(o.stderr), "\n") != 0 {
			t.Errorf("%v: %+v", bad, o)
		}
	}
}
