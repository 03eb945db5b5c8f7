package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/gpu"
	"github.com/flopcast/flopcast/bench/fleet"
	"github.com/flopcast/flopcast/bench/result"
)

// The NCCL collective backend of "fleet run --comm nccl" (the default on
// GPUs where libnccl loads; see chooseComm): one communicator per rank on
// its GPU, plus one per group of the intra-node and inter-node scopes,
// unique ids carried by the rendezvous. NCCL is reached through
// bench/backend/gpu only: the command line imports no cuda package.
func init() {
	fleetComms["nccl"] = openFleetNCCL
	fleetCommProbes["nccl"] = gpu.NCCLVersion
	fleetHelloHooks = append(fleetHelloHooks, func(h *fleet.Hello, b backend.Backend) {
		if b.Device().Kind == "cpu" {
			return
		}
		if v, err := gpu.NCCLVersion(); err == nil {
			h.NCCL = v
		}
	})
}

func openFleetNCCL(ctx context.Context, rv *fleet.Rendezvous, b backend.Backend, fault fleet.Fault) (backend.Communicator, error) {
	id := b.Device().ID
	ord, err := strconv.Atoi(strings.TrimPrefix(id, "cuda:"))
	if err != nil || !strings.HasPrefix(id, "cuda:") {
		return nil, fmt.Errorf("--comm nccl: the local device is %q, not a GPU", id)
	}
	env := rv.Env()
	var groups [][]int
	for _, scope := range []string{result.ScopeIntraNode, result.ScopeInterNode} {
		groups = append(groups, fleet.ScopeGroups(rv.Roster(), scope)...)
	}
	return gpu.OpenNCCL(ctx, gpu.NCCLConfig{Device: ord, Rank: env.Rank, Size: env.Size, Broadcast: rv.Broadcast,
		Groups: groups, SlowLocal: fault.SlowRank, Corrupt: fault.Corrupt})
}

// fleetNodeChecks are a GPU node's checks without NCCL, run by its local
// rank 0: the copy matrix of its GPUs (64 MiB copies, every byte
// checked) and their NVML health. CPU ranks have none.
func fleetNodeChecks(b backend.Backend) func(ctx context.Context) ([]result.Measurement, error) {
	if b.Device().Kind == "cpu" {
		return nil
	}
	return func(ctx context.Context) ([]result.Measurement, error) {
		return gpu.DefaultNodeChecks(ctx, gpu.CopyConfig{Bytes: 64 << 20})
	}
}
