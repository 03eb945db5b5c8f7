// Package results holds measured results files; this test keeps them
// readable by the current schema.
package results_test

import (
	"path/filepath"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

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
		if r.Partial || len(r.Measurements) == 0 || len(r.Command) == 0 || r.Tool.Commit == "" {
			t.Errorf("%s: partial %v, %d measurements, command %q, commit %q", f, r.Partial, len(r.Measurements), r.Command, r.Tool.Commit)
		}
		for _, m := range r.Measurements {
			if m.Status == result.StatusOK && (!m.Verified || m.Seconds == nil || len(m.Samples) != m.Seconds.N) {
				t.Errorf("%s: %s %s %s: ok without a check or samples", f, m.Workload, m.DType, m.Shape)
			}
		}
	}
}
