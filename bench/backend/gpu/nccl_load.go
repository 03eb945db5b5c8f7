package gpu

import (
	"context"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda/nccl"
	"github.com/flopcast/flopcast/cuda/nvml"
)

// NCCLVersion loads NCCL (once per process, through cuda/nccl's loader)
// and returns its version, e.g. "2.21.5", or the one-line reason it does
// not load (no libnccl.so.2 on the search path: every path tried; a file
// lacking NCCL's functions). The command line asks it before choosing
// the collective backend, without importing cuda itself.
func NCCLVersion() (string, error) {
	lib, err := nccl.Load()
	if err != nil {
		return "", err
	}
	return lib.VersionString(), nil
}

// DefaultNodeChecks is NodeChecks with NVML's default health limits.
func DefaultNodeChecks(ctx context.Context, cfg CopyConfig) ([]result.Measurement, error) {
	return NodeChecks(ctx, cfg, nvml.HealthLimits{})
}
