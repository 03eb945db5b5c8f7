package result

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCreateNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	first := sample()
	if err := Create(path, first); err != nil {
		t.Fatal(err)
	}
	second := sample()
	second.Host.Hostname = "other"
	err := Create(path, second)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: err = %v, want fs.ErrExist", err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host.Hostname != "vm" {
		t.Errorf("the existing file was replaced: host %q", got.Host.Hostname)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestCreateConcurrentOneWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := sample()
			f.Measurements[0].Seed = uint64(i)
			errs[i] = Create(path, f)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent creations succeeded, want 1", won, n)
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
}

// A final name of 250 bytes (NAME_MAX is 255) has a temporary name that
// fits: the temporary name does not grow with it.
func TestLongFileName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, strings.Repeat("a", 245)+".json")
	if err := CheckWritable(path); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	if err := Create(path, sample()); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := Write(path, sample()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
}
