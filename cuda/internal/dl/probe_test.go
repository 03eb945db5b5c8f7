package dl

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildLib compiles C source into dir/name as a shared library, skipping
// the test without gcc.
func buildLib(t *testing.T, dir, name, src string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build a test library")
	}
	c := filepath.Join(t.TempDir(), "lib.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if b, err := exec.Command(gcc, "-shared", "-fPIC", "-o", out, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func TestLoadSkipsALibraryLackingARequiredSymbol(t *testing.T) {
	bad, good := t.TempDir(), t.TempDir()
	buildLib(t, bad, "libflopfake.so.1", "int other_symbol(void) { return 1; }\n")
	goodPath := buildLib(t, good, "libflopfake.so.1", "int flop_init_v2(void) { return 0; }\nint flop_run(void) { return 0; }\n")
	t.Setenv(EnvPath, bad+":"+good)
	s := Spec{Name: "flopfake", Sonames: []string{"libflopfake.so.1"}, Require: Required(map[string][]string{
		"init": {"flop_init_v2", "flop_init"}, "run": {"flop_run"},
	})}

	lib, cand, err := Load(s)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer lib.Close()
	if cand.Path != goodPath || cand.Source != EnvPath {
		t.Errorf("Load chose %+v, want %s from %s", cand, goodPath, EnvPath)
	}
	path, cand, err := Probe(s)
	if err != nil || path != goodPath || cand.Path != goodPath {
		t.Errorf("Probe = %q, %+v, %v; want %s", path, cand, err, goodPath)
	}

	// Only the bad one: not found, and the message says why the file
	// that opened was not used.
	t.Setenv(EnvPath, bad)
	_, _, err = Probe(s)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Probe with only a bad library: %v, want ErrNotFound", err)
	}
	msg := err.Error()
	for _, want := range []string{"no usable libflopfake.so.1 (1 file(s) of that name lack its functions)",
		filepath.Join(bad, "libflopfake.so.1") + " (FLOPCAST_CUDA_PATH): lacks flop_init_v2|flop_init"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestOpenResolvesTheMappedPath(t *testing.T) {
	dir := t.TempDir()
	p := buildLib(t, dir, "libflopfake.so.1", "int flop_run(void) { return 0; }\n")
	lib, err := OpenLazy(p)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	if lib.Path != p {
		t.Errorf("Path = %q, want %q", lib.Path, p)
	}
	if m := lib.Missing([][]string{{"flop_run"}, {"nope_v2", "nope"}}); m != "nope_v2|nope" {
		t.Errorf("Missing = %q, want nope_v2|nope", m)
	}
	if m := lib.Missing([][]string{{"flop_run"}}); m != "" {
		t.Errorf("Missing = %q, want none", m)
	}
}

func TestRequiredIsSortedByKey(t *testing.T) {
	got := Required(map[string][]string{"b": {"y"}, "a": {"x_v2", "x"}})
	if len(got) != 2 || strings.Join(got[0], ",") != "x_v2,x" || strings.Join(got[1], ",") != "y" {
		t.Errorf("Required = %v", got)
	}
}

func TestLoadBoundBindsOrKeepsTheLibraryOnABindError(t *testing.T) {
	dir := t.TempDir()
	p := buildLib(t, dir, "libflopfake.so.1", "int flop_init(void) { return 0; }\nint flop_run(void) { return 0; }\n")
	t.Setenv(EnvPath, dir)
	s := Spec{Name: "flopfake", Sonames: []string{"libflopfake.so.1"}}

	lib, cand, f, err := LoadBound(s, map[string][]string{"init": {"flop_init_v2", "flop_init"}, "run": {"flop_run"}})
	if err != nil {
		t.Fatalf("LoadBound: %v", err)
	}
	defer lib.Close()
	if cand.Path != p || len(f) != 2 || f["init"] == nil || f["run"] == nil {
		t.Errorf("LoadBound = %+v, %v; want %s and init, run bound", cand, f, p)
	}

	lib2, cand, f, err := LoadBound(s, map[string][]string{"gone": {"flop_gone"}})
	if err == nil || !strings.Contains(err.Error(), "flop_gone") || f != nil {
		t.Fatalf("LoadBound with a missing symbol = %v, %v; want an error naming flop_gone", f, err)
	}
	if lib2 == nil || cand.Path != p {
		t.Errorf("LoadBound on a bind error returned library %v from %+v, want the one opened from %s", lib2, cand, p)
	}
	lib2.Close()

	t.Setenv(EnvPath, t.TempDir())
	s.Sonames = []string{"libflopabsent.so.9"}
	if lib, _, f, err := LoadBound(s, nil); !errors.Is(err, ErrNotFound) || lib != nil || f != nil {
		t.Errorf("LoadBound of an absent library = %v, %v, %v; want ErrNotFound", lib, f, err)
	}
}
