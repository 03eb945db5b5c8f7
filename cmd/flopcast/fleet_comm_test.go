package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/backend/gpu"
)

// TestChooseComm: --comm auto picks NCCL on a GPU only where its library
// loads, and otherwise falls back to TCP with one notice line naming the
// reason; a named backend that does not load is a one-line error. The
// loader's answers are injected: no GPU or NCCL is needed.
func TestChooseComm(t *testing.T) {
	missing := errors.New("libnccl.so.2 not found; tried:\n/usr/lib/libnccl.so.2: no such file")
	comms := map[string]int{"nccl": 1}
	for _, c := range []struct {
		name, requested, dev string
		comms                map[string]int
		load                 error // nil: NCCL loads
		want, notice, err    string
		probed               bool
	}{
		{"gpu with nccl", "auto", "cuda", comms, nil, "nccl", "", "", true},
		{"gpu without nccl", "auto", "cuda", comms, missing, "tcp", "--comm auto: NCCL does not load (libnccl.so.2 not found; tried: /usr/lib/libnccl.so.2: no such file); collectives over TCP", "", true},
		{"build without nccl", "auto", "cuda", map[string]int{}, nil, "tcp", "this build has no NCCL backend; collectives over TCP", "", false},
		{"cpu", "auto", "cpu", comms, nil, "tcp", "", "", false},
		{"tcp asked", "tcp", "cuda", comms, nil, "tcp", "", "", false},
		{"nccl asked and loads", "nccl", "cuda", comms, nil, "nccl", "", "", true},
		{"nccl asked, missing", "nccl", "cuda", comms, missing, "", "", "--comm nccl: libnccl.so.2 not found; tried: /usr/lib/libnccl.so.2: no such file", true},
		{"unknown", "gloo", "cuda", comms, nil, "", "", `--comm "gloo": not available in this build (auto, tcp, nccl)`, false},
	} {
		probed := false
		probes := map[string]func() (string, error){"nccl": func() (string, error) {
			probed = true
			if c.load != nil {
				return "", c.load
			}
			return "2.21.5", nil
		}}
		name, notice, err := chooseComm(c.requested, c.dev, c.comms, probes)
		if name != c.want || probed != c.probed {
			t.Errorf("%s: backend %q (probed %v), want %q (probed %v)", c.name, name, probed, c.want, c.probed)
		}
		if (c.notice == "") != (notice == "") || !strings.Contains(notice, c.notice) || strings.Contains(notice, "\n") {
			t.Errorf("%s: notice %q, want one line with %q", c.name, notice, c.notice)
		}
		if c.err == "" && err != nil || c.err != "" && (err == nil || err.Error() != c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

// TestFleetRunCommNCCLMissing: "fleet run --comm nccl" where NCCL does
// not load exits 2 with one line naming --comm, before any rendezvous.
func TestFleetRunCommNCCLMissing(t *testing.T) {
	if v, err := gpu.NCCLVersion(); err == nil {
		t.Skipf("NCCL %s loads here: nothing is missing", v)
	}
	code, _, stderr := runInProcess("fleet", "run", "--rank", "0", "--world-size", "1", "--node", "n0", "--rendezvous", "127.0.0.1:1",
		"--rendezvous-timeout", "1s", "--comm", "nccl", "--results-dir", filepath.Join(t.TempDir(), "out"))
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "--comm nccl: ") || !strings.Contains(lines[0], "libnccl") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
