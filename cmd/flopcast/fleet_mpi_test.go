package main

import (
	"os"
	"os/exec"
	"testing"
)

// requireMPI returns the environment mpirun needs (Open MPI refuses root
// without the two ALLOW variables); it skips, or fails where a cluster is
// required, when mpirun is missing.
func requireMPI(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("mpirun"); err != nil {
		noCluster(t, "mpirun not found: install openmpi-bin")
	}
	return append(os.Environ(), "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
}

// mpirunArgs are the mpirun flags of every test: four local ranks on two
// cores, Open MPI's own wiring on loopback only, and mpirun's own deadline.
func mpirunArgs(dir string) []string {
	return []string{"--allow-run-as-root", "--oversubscribe", "-np", "4", "--timeout", "50",
		"--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", "--wdir", dir}
}

// TestMPILaunchEnvironment checks what the fleet reads from Open MPI: four
// world ranks, their local ranks and the world size.
func TestMPILaunchEnvironment(t *testing.T) {
	env := requireMPI(t)
	dir := t.TempDir()
	args := append(mpirunArgs(dir), "bash", "-c", `echo "$OMPI_COMM_WORLD_RANK $OMPI_COMM_WORLD_SIZE $OMPI_COMM_WORLD_LOCAL_RANK"`)
	checkLaunchedRanks(t, dir, env, "mpirun", args, []string{"0 4 0", "1 4 1", "2 4 2", "3 4 3"})
}

// TestMPIFleetRun runs "mpirun -np 4 flopcast fleet run": four ranks on
// this one node, a merged passing file.
func TestMPIFleetRun(t *testing.T) {
	env := requireMPI(t)
	dir := t.TempDir()
	out, errOut, code := launchFleet(t, dir, env, "mpirun", mpirunArgs(dir), "")
	if code != 0 {
		t.Fatalf("mpirun ... fleet run: exit %d\n%s%s", code, out, errOut)
	}
	f, _ := mergedFleet(t, dir, 4)
	host := f.Fleet.Ranks[0].Node
	checkPassingFleet(t, f, "openmpi", []string{host})
}

// TestMPIFleetStraggler: under mpirun the injected slow rank is found too.
func TestMPIFleetStraggler(t *testing.T) {
	env := requireMPI(t)
	dir := t.TempDir()
	out, errOut, code := launchFleet(t, dir, env, "mpirun", mpirunArgs(dir), "slow-rank:3:30ms", "--ops", "all_reduce", "--scopes", "world")
	if code != 1 {
		t.Fatalf("mpirun ... fleet run with a slow rank: exit %d, want 1\n%s%s", code, out, errOut)
	}
	f, _ := mergedFleet(t, dir, 4)
	checkStraggler(t, f, f.Fleet.Ranks[3].Node)
}
