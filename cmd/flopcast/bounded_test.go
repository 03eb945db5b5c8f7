package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flopcastEnv runs the binary in dir with extra environment variables and
// a time limit, so a regression to a hang or an endless allocation fails
// the test instead of stalling it.
func flopcastEnv(t *testing.T, dir string, env []string, limit time.Duration, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("flopcast %s: still running after %v", strings.Join(args, " "), limit)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return outcome{code, out.String(), errb.String()}
}

// wantOneLine checks a bad-input outcome: exit 2, nothing on stdout, and
// exactly one line on stderr containing want.
func wantOneLine(t *testing.T, what string, o outcome, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(o.stderr, "\n"), "\n")
	if o.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], want) || o.stdout != "" {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", what, o.code, o.stdout, o.stderr, want)
	}
}

// TestHugeSizesAreOneLineExit2 (issue 13, case 1): sizes whose products
// overflow int64 are refused up front; before, --seq 2^31 --batch 2^31
// died out of memory with a Go trace and --batch 2^62 exited 0 with
// "skipped" rows, because the block memory estimate wrapped around.
func TestHugeSizesAreOneLineExit2(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--workload", "block", "--seq", "2147483648", "--batch", "2147483648"}, "--seq 2147483648: seq 2147483648 must be <= 1048576"},
		{[]string{"--workload", "block", "--batch", "4611686018427387904"}, "--batch 4611686018427387904: batch 4611686018427387904 must be <= 1048576"},
		{[]string{"--workload", "block", "--seq", "1048576", "--batch", "1048576"}, "--seq 1048576: seq 1048576 × batch 1048576 = 1099511627776 tokens per step"},
		{[]string{"--workload", "block", "--hidden", "4294967296", "--heads", "1", "--ffn", "8"}, "--hidden 4294967296: hidden 4294967296 must be <= 1048576"},
		{[]string{"--sizes", "9223372036854775807x2x2"}, `--sizes: size "9223372036854775807x2x2"`},
		{[]string{"--sizes", "64x9223372036854775807x2"}, "n must be <= 1048576"},
	}
	for i, c := range cases {
		args := append([]string{"run", "--out", filepath.Join(dir, "r"+string(rune('a'+i))+".json")}, c.args...)
		o := flopcastEnv(t, dir, nil, time.Minute, args...)
		wantOneLine(t, strings.Join(c.args, " "), o, c.want)
		if _, err := os.Stat(filepath.Join(dir, "r"+string(rune('a'+i))+".json")); err == nil {
			t.Errorf("%s: a results file was written", strings.Join(c.args, " "))
		}
	}
	// The largest block the flags accept still has a memory estimate that
	// does not wrap: the pre-check refuses it where memory is known.
	o := flopcastEnv(t, dir, nil, time.Minute, "run", "--workload", "block", "--seq", "1048576", "--batch", "4096", "--out", filepath.Join(dir, "big.json"))
	if o.code != 2 || !strings.Contains(o.stderr, "--seq 1048576 --batch 4096: the tiny") || !strings.Contains(o.stderr, "TiB") {
		t.Errorf("seq 2^20 × batch 2^12: exit %d, stderr %q; want exit 2 and the memory it needs", o.code, o.stderr)
	}
}

// craft writes a copy of the repository's CPU results file with one
// measurement field replaced.
func craft(t *testing.T, dir, name string, edit func(m map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile("../../results/2026-11-26_cpu-amd-epyc-2c_gemm-standard.json")
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	edit(f["measurements"].([]any)[3].(map[string]any))
	out, _ := json.Marshal(f)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImplausibleFilesAreRefused (issue 13, case 2): a results file with a
// temperature of 3e15 sent "flopcast report" into an endless, growing loop
// (killed at 24 GB); every reader now refuses it at once with one line
// naming the field, as it refuses a foreign file.
func TestImplausibleFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	files := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"hot.json", func(m map[string]any) { m["state_after"].(map[string]any)["temp_c"] = 3e15 }, "measurements[3].state_after.temp_c: 3e+15 is not a plausible temperature"},
		{"clock.json", func(m map[string]any) { m["state_before"].(map[string]any)["clock_mhz"] = 1e18 }, "measurements[3].state_before.clock_mhz"},
		{"power.json", func(m map[string]any) { m["state_after"].(map[string]any)["power_w"] = 3e15 }, "measurements[3].state_after.power_w"},
		{"fast.json", func(m map[string]any) { m["flop_per_second"] = 1e21 }, "measurements[3].flop_per_second: 1e+21 is not a plausible throughput"},
		{"noflops.json", func(m map[string]any) { m["flops"] = 0 }, "measurements[3].flops: 0 on an ok gemm measurement"},
		{"negative.json", func(m map[string]any) { m["seconds"].(map[string]any)["median"] = -1 }, "measurements[3].seconds.median"},
	}
	for _, f := range files {
		path := craft(t, dir, f.name, f.edit)
		for _, args := range [][]string{
			{"show", path},
			{"compare", path},
			{"report", path, "-o", filepath.Join(dir, f.name+".html")},
			{"forecast", "--from", path, "--model", "llama3-8b", "--tokens", "1T", "--gpus", "8", "--gpu", "h100-sxm"},
		} {
			o := flopcastEnv(t, dir, nil, 30*time.Second, args...)
			wantOneLine(t, args[0]+" "+f.name, o, f.want)
		}
	}
}

// TestBrokenNVMLIsSkipped (issue 13, case 10): a libnvidia-ml.so.1 without
// NVML's functions on LD_LIBRARY_PATH made the dynamic linker abort
// "flopcast devices" (exit 127: go-nvml loads it and calls nvmlInit
// unchecked). It is now probed first and skipped with one line.
func TestBrokenNVMLIsSkipped(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the fake library")
	}
	lib := t.TempDir()
	src := filepath.Join(lib, "fake.c")
	os.WriteFile(src, []byte("int not_nvml(void) { return 42; }\n"), 0o644)
	if b, err := exec.Command(gcc, "-shared", "-fPIC", "-o", filepath.Join(lib, "libnvidia-ml.so.1"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	for _, env := range [][]string{{"LD_LIBRARY_PATH=" + lib}, {"FLOPCAST_CUDA_PATH=" + lib}} {
		o := flopcastEnv(t, t.TempDir(), env, time.Minute, "devices")
		if o.code != 0 {
			t.Fatalf("%s flopcast devices: exit %d\n%s", env[0], o.code, o.stderr)
		}
		var line, nvmlLine string
		for _, l := range strings.Split(o.stdout, "\n") {
			if strings.Contains(l, "libnvidia-ml.so.1") && strings.Contains(l, "lacks") {
				line = l
			}
			if strings.HasPrefix(strings.TrimSpace(l), "nvml:") {
				nvmlLine = l
			}
		}
		fake := filepath.Join(lib, "libnvidia-ml.so.1")
		switch {
		case nvmlLine == "":
			t.Errorf("%s: no nvml line:\n%s", env[0], o.stdout)
		case !strings.Contains(nvmlLine, "not loaded"):
			// A real NVML on this machine was found after the fake.
			if strings.Contains(nvmlLine, fake) {
				t.Errorf("%s: the fake library was loaded: %s", env[0], nvmlLine)
			}
		case !strings.Contains(line, fake) || !strings.Contains(line, "lacks nvmlInit_v2|nvmlInit"):
			t.Errorf("%s: no line says the fake library lacks nvmlInit:\n%s", env[0], o.stdout)
		}
	}
}

// TestLoaderPathWarning (issue 13, case 10): an LD_LIBRARY_PATH with "."
// or an empty entry makes the loader search the working directory; devices
// and run say so in one line.
func TestLoaderPathWarning(t *testing.T) {
	dir := t.TempDir()
	o := flopcastEnv(t, dir, []string{"LD_LIBRARY_PATH=.:/usr/lib"}, time.Minute, "devices")
	if o.code != 0 || strings.Count(o.stdout, "LD_LIBRARY_PATH has the entry .") != 1 {
		t.Errorf("devices with LD_LIBRARY_PATH=.:/usr/lib: exit %d\n%s", o.code, o.stdout)
	}
	o = flopcastEnv(t, dir, []string{"LD_LIBRARY_PATH=/usr/lib:"}, time.Minute, append([]string{"run", "--sizes", "32", "--dtype", "fp32", "--out", filepath.Join(dir, "r.json")}, fast...)...)
	if o.code != 0 || strings.Count(o.stderr, `LD_LIBRARY_PATH has the entry "" (empty)`) != 1 {
		t.Errorf("run with LD_LIBRARY_PATH=/usr/lib: : exit %d\n%s", o.code, o.stderr)
	}
	o = flopcastEnv(t, dir, []string{"LD_LIBRARY_PATH=/usr/lib"}, time.Minute, "devices")
	if strings.Contains(o.stdout, "LD_LIBRARY_PATH") {
		t.Errorf("a safe LD_LIBRARY_PATH is warned about:\n%s", o.stdout)
	}
}
