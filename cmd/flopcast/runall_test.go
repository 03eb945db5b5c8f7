package main

import (
	"os"
	"strings"
	"testing"
)

func TestRunDeviceAllWithoutDriverExits2(t *testing.T) {
	requireNoDriver(t)
	dir := t.TempDir()
	o := flopcast(t, dir, "run", "--device", "all", "--sizes", "8")
	// No driver, or (where a driver library is installed without a GPU)
	// no GPU: either way one line, exit 2, no CPU numbers.
	head, tail := "flopcast: --device: all: no NVIDIA ", "; use --device cpu to measure the CPU\n"
	if o.code != 2 || !strings.HasPrefix(o.stderr, head) || !strings.HasSuffix(o.stderr, tail) || strings.Count(o.stderr, "\n") != 1 || o.stdout != "" {
		t.Errorf("run --device all: exit %d, stderr %q, want exit 2 and %q...%q", o.code, o.stderr, head, tail)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left files behind: %v", entries)
	}
}
