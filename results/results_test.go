// Package results holds measured results files; this test keeps them
// readable by the current schema and holds them to the project's rules.
package results_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

// uncheckedByThatBuild lists the measurements, by file and label, that a
// build ran before it checked them. The device check's second H200 run
// (flopcast 81f7da2 with the fixes later committed as 80417d6) timed the
// pinned host copies without comparing their bytes; from 80417d6 on every
// copy is compared byte for byte. The figures stay in the file, marked
// unverified, and README.md says not to use them.
var uncheckedByThatBuild = map[string][]string{
	"2026-11-26_nvidia-h200_gemm-quick-bandwidth.json": {"h2d_pinned", "d2h_pinned"},
}

func TestCommittedResultsRead(t *testing.T) {
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no committed results files")
	}
	for _, f := range files {
		r, err := result.Read(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		// A run cut short writes a partial file; such a file is committed
		// only under a name that says so.
		if r.Partial != strings.HasSuffix(f, "_partial.json") {
			t.Errorf("%s: partial is %v; partial files, and only they, end in _partial.json", f, r.Partial)
		}
		if len(r.Measurements) == 0 || len(r.Command) == 0 || r.Tool.Commit == "" {
			t.Errorf("%s: %d measurements, command %q, commit %q", f, len(r.Measurements), r.Command, r.Tool.Commit)
		}
		for _, m := range r.Measurements {
			if m.Status != result.StatusOK {
				continue
			}
			if m.Seconds == nil || len(m.Samples) != m.Seconds.N {
				t.Errorf("%s: %s %s %s: ok without its samples", f, m.Workload, m.DType, m.Label)
			}
			if !m.Verified && !slices.Contains(uncheckedByThatBuild[f], m.Label) {
				t.Errorf("%s: %s %s %s: ok without a check", f, m.Workload, m.DType, m.Label)
			}
		}
	}
}

// TestGPUResultsMeetTheBars holds the committed GPU results to issue 3's
// and 4's bars, each against the PyTorch figure stored beside it (same
// GPU, same device call): GEMM at least 0.98× torch, device-to-device copy
// at least 0.95× torch's tensor copy, the block step at most 1.25× torch
// eager's step time.
func TestGPUResultsMeetTheBars(t *testing.T) {
	files, _ := filepath.Glob("*nvidia*.json")
	compared := 0
	for _, f := range files {
		r, err := result.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Measurements {
			if m.Peer == nil || m.Status != result.StatusOK {
				continue
			}
			compared++
			switch {
			case m.Workload == "gemm":
				if ratio := m.FLOPPerSecond / m.Peer.FLOPPerSecond; !(ratio >= 0.98) {
					t.Errorf("%s: %s %s: %.3f× %s, bar 0.98×", f, m.DType, m.Shape, ratio, m.Peer.Name)
				}
			case m.Workload == "bandwidth":
				if ratio := m.BytesPerSecond / m.Peer.BytesPerSecond; !(ratio >= 0.95) {
					t.Errorf("%s: %s: %.3f× %s, bar 0.95×", f, m.Label, ratio, m.Peer.Name)
				}
			case m.Workload == "block":
				if ratio := m.Seconds.Median / m.Peer.Seconds; !(ratio <= 1.25) {
					t.Errorf("%s: %s block step %.3f× %s's time, bar 1.25×", f, m.Label, ratio, m.Peer.Name)
				}
			}
		}
	}
	if compared < 4 {
		t.Errorf("%d GPU measurements carry a peer figure; want bf16 and fp8 8192³, the copy and the block step", compared)
	}
}
