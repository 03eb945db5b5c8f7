package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestPeersPython runs bench/peers/test_peers.py: the PyTorch peers'
// GPU-free parts (the window aggregation, which must match the Go
// sampler's on the same series; nvidia-smi parsing; window planning) and
// the device check's table printer on fake results files.
func TestPeersPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3 to run bench/peers/test_peers.py: not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "unittest", "test_peers")
	cmd.Dir = "peers"
	cmd.Env = append(cmd.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3 -m unittest test_peers: %v\n%s", err, out)
	}
}
