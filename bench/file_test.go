package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

func recorderFile() *result.File {
	return &result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName},
		Measurements: []result.Measurement{}}
}

func skipped(label string) result.Measurement {
	return result.Measurement{Workload: "gemm", Label: label, Device: "cpu", DType: "fp32", Status: result.StatusSkipped}
}

// readBack reads a results file and fails the test when it is not valid.
func readBack(t *testing.T, path string) *result.File {
	t.Helper()
	f, err := result.Read(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return f
}

func TestRecorderWritesEachMeasurement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	rec := NewRecorder(recorderFile(), path, RecorderOptions{})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the file exists before anything is measured")
	}
	for i, label := range []string{"a", "b", "c"} {
		rec.Add(skipped(label))
		f := readBack(t, path)
		if !f.Partial || len(f.Measurements) != i+1 || f.Measurements[i].Label != label {
			t.Fatalf("after %d measurements: partial %v, %d measurements", i+1, f.Partial, len(f.Measurements))
		}
	}
	final := []result.Measurement{skipped("a"), skipped("b"), skipped("best")}
	where, err := rec.Finish(final, false)
	if err != nil || where != path {
		t.Fatalf("Finish: %q, %v", where, err)
	}
	rec.Add(skipped("late")) // after Finish: ignored
	f := readBack(t, path)
	if f.Partial || len(f.Measurements) != 3 || f.Measurements[2].Label != "best" {
		t.Errorf("final file: partial %v, %+v", f.Partial, f.Measurements)
	}
}

func TestRecorderNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", t.TempDir())
	taken := filepath.Join(dir, "taken.json")
	if err := os.WriteFile(taken, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A default name taken meanwhile: the next free name.
	rec := NewRecorder(recorderFile(), taken, RecorderOptions{Rename: func(try int) string {
		return filepath.Join(dir, "taken-"+string(rune('0'+try))+".json")
	}})
	rec.Add(skipped("a"))
	where, err := rec.Finish(nil, false)
	if err != nil || where != filepath.Join(dir, "taken-1.json") {
		t.Fatalf("renamed: %q, %v", where, err)
	}
	if len(readBack(t, where).Measurements) != 1 {
		t.Error("renamed file lacks the measurement")
	}

	// --out taken meanwhile: not replaced; the data goes to TMPDIR and
	// the error says where.
	rec = NewRecorder(recorderFile(), taken, RecorderOptions{})
	rec.Add(skipped("a"))
	where, err = rec.Finish(nil, false)
	if err == nil || !strings.Contains(err.Error(), "not replaced") || !strings.HasPrefix(where, os.TempDir()) {
		t.Fatalf("taken --out: %q, %v", where, err)
	}
	if b, _ := os.ReadFile(taken); string(b) != "not ours" {
		t.Error("an existing file was replaced")
	}
	if f := readBack(t, where); f.Partial || len(f.Measurements) != 1 {
		t.Errorf("fallback file: partial %v, %d measurements", f.Partial, len(f.Measurements))
	}

	// --force: replaced.
	rec = NewRecorder(recorderFile(), taken, RecorderOptions{Replace: true})
	rec.Add(skipped("a"))
	if where, err := rec.Finish(nil, false); err != nil || where != taken || len(readBack(t, taken).Measurements) != 1 {
		t.Fatalf("--force: %q, %v", where, err)
	}
}

// A write that fails mid-run (here the directory vanishes; a full disk
// fails the same way) moves the file under os.TempDir() with everything
// measured, and the error names both places.
func TestRecorderWriteFailureFallsBack(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := filepath.Join(t.TempDir(), "results")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "r.json")
	rec := NewRecorder(recorderFile(), path, RecorderOptions{})
	rec.Add(skipped("a"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	rec.Add(skipped("b"))
	rec.Add(skipped("c"))
	where, err := rec.Finish(nil, false)
	if err == nil || !strings.Contains(err.Error(), path) || filepath.Dir(where) != tmp {
		t.Fatalf("Finish: %q, %v", where, err)
	}
	if f := readBack(t, where); f.Partial || len(f.Measurements) != 3 {
		t.Errorf("fallback: partial %v, %d measurements", f.Partial, len(f.Measurements))
	}
	if got := rec.Measurements(); len(got) != 3 {
		t.Errorf("Measurements() holds %d", len(got))
	}
}
