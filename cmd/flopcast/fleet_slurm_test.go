package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
)

// The fleet launcher tests run the built binary under a real Slurm (two
// slurmd node names on this host, started by scripts/ci-slurm.sh) and a
// real Open MPI mpirun. Without them the tests skip and say why, except
// where CI=true or FLOPCAST_REQUIRE_CLUSTER=1: there a missing launcher is
// a failure, so CI cannot pass by skipping.

// launcherTimeout bounds every launcher command (the job, its ranks and
// their rendezvous).
const launcherTimeout = 60 * time.Second

// clusterRequired reports whether a missing launcher fails the test.
func clusterRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("FLOPCAST_REQUIRE_CLUSTER") == "1"
}

// noCluster skips the test with reason, or fails it where a cluster is
// required.
func noCluster(t *testing.T, reason string) {
	t.Helper()
	if clusterRequired() {
		t.Fatalf("%s (a cluster is required: CI=true or FLOPCAST_REQUIRE_CLUSTER=1)", reason)
	}
	t.Skip(reason)
}

// slurmConf returns the slurm.conf of the test cluster: $SLURM_CONF, else
// the one scripts/ci-slurm.sh writes ($FLOPCAST_SLURM_DIR or
// /tmp/flopcast-slurm).
func slurmConf() string {
	if c := os.Getenv("SLURM_CONF"); c != "" {
		return c
	}
	dir := os.Getenv("FLOPCAST_SLURM_DIR")
	if dir == "" {
		dir = "/tmp/flopcast-slurm"
	}
	return filepath.Join(dir, "slurm.conf")
}

// requireSlurm returns the environment srun needs, once sinfo shows at
// least two idle nodes; otherwise it skips (or fails, see noCluster).
func requireSlurm(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("srun"); err != nil {
		noCluster(t, "srun not found: install slurm-wlm and munge and run scripts/ci-slurm.sh start")
	}
	conf := slurmConf()
	if _, err := os.Stat(conf); err != nil {
		noCluster(t, "no Slurm cluster configured ("+conf+" missing): run scripts/ci-slurm.sh start")
	}
	env := append(os.Environ(), "SLURM_CONF="+conf)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sinfo", "-h", "-N", "-t", "idle,mix,alloc", "-o", "%N")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	nodes := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		nodes[f] = true
	}
	if err != nil || len(nodes) < 2 {
		noCluster(t, "Slurm is not up with two usable nodes (sinfo: "+strings.TrimSpace(string(out))+"): run scripts/ci-slurm.sh start")
	}
	return env
}

// launch runs a launcher command line with a deadline: on timeout it gets
// SIGTERM, then SIGKILL 5 s later. It returns stdout, stderr and the exit
// code (-1 when it was killed).
func launch(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), launcherTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), launcherTimeout, out.String(), errb.String())
	}
	code = 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return out.String(), errb.String(), code
}

// srunArgs are the srun flags of every test job: two nodes, four tasks
// (two per node), a one-minute limit Slurm enforces itself.
func srunArgs(dir string) []string {
	return []string{"-N2", "-n4", "--ntasks-per-node=2", "--time=1", "--kill-on-bad-exit=1", "--chdir=" + dir}
}

// TestSlurmLaunchEnvironment checks what the fleet reads from Slurm: four
// ranks, 0..3, over two node names, two local ranks per node, the node list
// in hostlist form.
func TestSlurmLaunchEnvironment(t *testing.T) {
	env := requireSlurm(t)
	dir := t.TempDir()
	args := append(srunArgs(dir), "bash", "-c", `echo "$SLURM_PROCID $SLURM_NTASKS $SLURM_LOCALID $SLURM_NODEID $SLURMD_NODENAME $SLURM_JOB_NODELIST"`)
	checkLaunchedRanks(t, dir, env, "srun", args, []string{
		"0 4 0 0 n1 n[1-2]", "1 4 1 0 n1 n[1-2]",
		"2 4 0 1 n2 n[1-2]", "3 4 1 1 n2 n[1-2]",
	})
}

// fleetArgs are the fleet run flags of the launcher tests: small sizes,
// few calls, deadlines well inside launcherTimeout.
func fleetArgs(dir string) []string {
	return []string{"fleet", "run", "--results-dir", dir, "--rendezvous-timeout", "20s", "--timeout", "30s",
		"--sizes", "4KiB,64KiB", "--iters", "5", "--warmup", "1", "--local-repeats", "3", "--quiet"}
}

// mergedFleet reads the merged fleet file rank 0 wrote in dir and checks
// that every rank wrote its own.
func mergedFleet(t *testing.T, dir string, ranks int) (*result.File, string) {
	t.Helper()
	merged, rankFiles, all := fleetFiles(dir)
	if len(merged) != 1 || rankFiles != ranks {
		t.Fatalf("%d merged files and %d rank files in %s (%v), want 1 and %d", len(merged), rankFiles, dir, all, ranks)
	}
	return readMerged(t, merged[0])
}

// verdictsOf maps node → verdict.
func verdictsOf(f *result.File) map[string]string {
	v := map[string]string{}
	for _, x := range f.Fleet.Verdicts {
		v[x.Node] = x.Verdict
	}
	return v
}

// checkPassingFleet asserts a whole, passing run: every rank present, the
// nodes PASS, every scope's collectives verified with a busbw, the pair
// test between the two nodes where there are two.
func checkPassingFleet(t *testing.T, f *result.File, launcher string, nodes []string) {
	t.Helper()
	fl := f.Fleet
	if fl.Launcher != launcher || fl.WorldSize != 4 || len(fl.Ranks) != 4 || len(fl.Missing) != 0 || len(fl.Stragglers) != 0 {
		t.Errorf("fleet block: launcher %q world %d ranks %d missing %v stragglers %+v", fl.Launcher, fl.WorldSize, len(fl.Ranks), fl.Missing, fl.Stragglers)
	}
	want := map[string]string{}
	for _, n := range nodes {
		want[n] = result.VerdictPass
	}
	if got := verdictsOf(f); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	busbw := map[string]int{}
	for _, m := range f.Measurements {
		if m.Workload != result.WorkloadComm && m.Workload != result.WorkloadP2P {
			continue
		}
		if m.Status != result.StatusOK || !m.Verified || m.WrongElements != 0 {
			t.Errorf("%s %s %d B on rank %v: status %s verified %v wrong %d %v", m.Scope, m.Collective, m.Bytes, m.Rank, m.Status, m.Verified, m.WrongElements, m.Notes)
			continue
		}
		if m.BusBytesPerSecond > 0 && m.BusBytesPerSecond < 1e13 {
			busbw[m.Scope]++
		}
	}
	scopes := []string{result.ScopeIntraNode, result.ScopeWorld}
	if len(nodes) > 1 {
		scopes = append(scopes, result.ScopeInterNode, result.ScopePair)
	}
	for _, s := range scopes {
		if busbw[s] == 0 {
			t.Errorf("no verified busbw in scope %s (%v)", s, busbw)
		}
	}
}

// checkStraggler asserts that the injected slow rank 3 was found on node
// and failed it, and that every other node passed.
func checkStraggler(t *testing.T, f *result.File, node string) {
	t.Helper()
	found := false
	for _, s := range f.Fleet.Stragglers {
		if s.Rank == 3 && s.Node == node {
			found = true
		} else {
			t.Errorf("straggler %+v is not the injected one", s)
		}
	}
	if !found {
		t.Errorf("injected straggler (rank 3 on %s) not found: %+v", node, f.Fleet.Stragglers)
	}
	for n, v := range verdictsOf(f) {
		if (n == node) != (v == result.VerdictFail) {
			t.Errorf("node %s: %s", n, v)
		}
	}
}

// TestSlurmFleetRun runs "srun -N2 -n4 flopcast fleet run" to a merged,
// passing fleet file: two nodes, four ranks, every scope measured and
// checked.
func TestSlurmFleetRun(t *testing.T) {
	env := requireSlurm(t)
	dir := t.TempDir()
	out, errOut, code := launchFleet(t, dir, env, "srun", srunArgs(dir), "")
	if code != 0 {
		t.Fatalf("srun ... fleet run: exit %d\n%s%s", code, out, errOut)
	}
	f, path := mergedFleet(t, dir, 4)
	checkPassingFleet(t, f, "slurm", []string{"n1", "n2"})
	if !strings.Contains(out, "PASS n1") || !strings.Contains(out, "PASS n2") || !strings.Contains(out, "merged file: "+path) {
		t.Errorf("rank 0's summary:\n%s", out)
	}
	checkFleetReaders(t, dir, path)
}

// checkFleetReaders runs compare, report and forecast on a merged fleet
// file: a column per node, the fleet section in the page, and the
// forecast's links taken from the file (a CPU fleet: its GEMMs are not a
// GPU's speed, which the forecast says).
func checkFleetReaders(t *testing.T, dir, path string) {
	t.Helper()
	o := flopcast(t, dir, "compare", path)
	if o.code != 0 || !strings.Contains(o.stdout, "fleet run ") || !strings.Contains(o.stdout, "intra_node all_reduce 64 KiB busbw (GB/s)") {
		t.Errorf("compare: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
	o = flopcast(t, dir, "report", path, "-o", "fleet.html")
	page, err := os.ReadFile(filepath.Join(dir, "fleet.html"))
	if o.code != 0 || err != nil || !strings.Contains(string(page), `class="fleet"`) || !strings.Contains(string(page), `data-node="n2"`) {
		t.Errorf("report: exit %d %v\n%s", o.code, err, o.stderr)
	}
	o = flopcast(t, dir, "forecast", "--model", "llama3-8b", "--tokens", "1T", "--instance", "p5.48xlarge", "--gpus", "64", "--from", path)
	if o.code != 0 || !strings.Contains(o.stdout, "tensor-parallel link: measured by fleet run") || !strings.Contains(o.stdout, "data-parallel link: measured by fleet run") {
		t.Errorf("forecast --from a fleet file: exit %d\n%s%s", o.code, o.stdout, o.stderr)
	}
}

// TestSlurmFleetStraggler injects a slow rank (rank 3 sleeps 30 ms before
// each local phase): the run exits 1, rank 3 on n2 is the one straggler
// and n2 the one failed node.
func TestSlurmFleetStraggler(t *testing.T) {
	env := requireSlurm(t)
	dir := t.TempDir()
	out, errOut, code := launchFleet(t, dir, env, "srun", srunArgs(dir), "slow-rank:3:30ms", "--ops", "all_reduce", "--scopes", "world")
	if code != 1 {
		t.Fatalf("srun ... fleet run with a slow rank: exit %d, want 1\n%s%s", code, out, errOut)
	}
	f, _ := mergedFleet(t, dir, 4)
	checkStraggler(t, f, "n2")
	if !strings.Contains(out, "scontrol update nodename=n2 state=drain") {
		t.Errorf("no drain command for n2 in:\n%s", out)
	}
}
