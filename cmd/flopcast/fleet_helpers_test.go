package main

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

// Helpers shared by the fleet tests: the ranks started here (fleet_test.go)
// and those started by Slurm and Open MPI (fleet_slurm_test.go,
// fleet_mpi_test.go).

// freePort returns a loopback address with a port that was free a moment
// ago, for the rendezvous of one run. The launcher tests pass it in
// FLOPCAST_RENDEZVOUS: the test cluster's node names (n1, n2) are not host
// names, so the address Slurm's node list would give cannot be resolved,
// and a site whose node names do not resolve would set it the same way.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fleetFiles lists the fleet files in dir: the merged ones, and the number
// of rank files.
func fleetFiles(dir string) (merged []string, rankFiles int, all []string) {
	all, _ = filepath.Glob(filepath.Join(dir, "fleet-*.json"))
	for _, p := range all {
		if strings.Contains(filepath.Base(p), "-rank") {
			rankFiles++
		} else {
			merged = append(merged, p)
		}
	}
	return merged, rankFiles, all
}

// readMerged reads path and checks that it is a merged fleet file.
func readMerged(t *testing.T, path string) (*result.File, string) {
	t.Helper()
	f, err := result.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Fleet == nil || f.Fleet.Rank != nil {
		t.Fatalf("%s: not a merged fleet file", path)
	}
	return f, path
}

// checkLaunchedRanks runs a launcher command whose every task prints one
// line about itself and checks the lines, in any order, against want.
func checkLaunchedRanks(t *testing.T, dir string, env []string, name string, args []string, want []string) {
	t.Helper()
	out, errOut, code := launch(t, dir, env, name, args...)
	if code != 0 {
		t.Fatalf("%s exit %d\n%s%s", name, code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(lines)
	if !slices.Equal(lines, want) {
		t.Fatalf("%s ranks:\n%s\nwant:\n%s", name, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// launchFleet runs "LAUNCHER ARGS... flopcast fleet run" in dir with
// fleetArgs and extra, the rendezvous on a free loopback port and the
// fault spec in FLOPCAST_FLEET_FAULT; it returns what launch does.
func launchFleet(t *testing.T, dir string, env []string, name string, launcherArgs []string, fault string, extra ...string) (stdout, stderr string, code int) {
	t.Helper()
	env = append(env, "FLOPCAST_RENDEZVOUS="+freePort(t), "FLOPCAST_FLEET_FAULT="+fault)
	args := append(append(append(launcherArgs, binary), fleetArgs(dir)...), extra...)
	return launch(t, dir, env, name, args...)
}
