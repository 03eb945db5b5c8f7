package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
)

// binary is the flopcast command built once for the tests that run it as a
// user would.
var binary string

func TestMain(m *testing.M) {
	// Fuzzing (coordinator and workers alike) runs commands in-process:
	// no binary to build.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "flopcast-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "flopcast")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building flopcast: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type outcome struct {
	code           int
	stdout, stderr string
}

// flopcast runs the binary in dir.
func flopcast(t *testing.T, dir string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return outcome{code, out.String(), errb.String()}
}

// fast are run flags that keep a measurement short.
var fast = []string{"--repeats", "3", "--warmup", "1", "--min-time", "0s", "--max-time", "1s"}

func TestBadInputIsOneLineExit2(t *testing.T) {
	notOurs := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(notOurs, []byte(`{"name": "something else"}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--sizes", "0"}, `--sizes: size "0": gemm shape 0x0x0: m must be > 0`},
		{[]string{"run", "--sizes", "-5"}, "--sizes"},
		{[]string{"run", "--sizes", "abc"}, `--sizes: size "abc" is not a number`},
		{[]string{"run", "--sizes", "64x64"}, "--sizes"},
		{[]string{"run", "--sizes", "512,"}, "--sizes"},
		{[]string{"run", "--sizes", "1000000"}, "--sizes 1000000x1000000x1000000: 1000000x1000000x1000000 fp32 needs"},
		{[]string{"run", "--dtype", "fp12"}, `--dtype: unknown dtype "fp12"`},
		{[]string{"run", "--dtype", "bf16"}, "--dtype bf16: not supported on cpu"},
		{[]string{"run", "--suite", "huge"}, `--suite: unknown suite "huge"`},
		{[]string{"run", "--workload", "conv"}, `--workload: unknown workload "conv"`},
		{[]string{"run", "--repeats", "0"}, "--repeats 0: must be >= 1"},
		{[]string{"run", "--repeats", "x"}, `invalid value "x" for flag -repeats`},
		{[]string{"run", "--warmup", "-2"}, "--warmup -2"},
		{[]string{"run", "--min-time", "soon"}, "min-time"},
		{[]string{"run", "--threads", "-1"}, "--threads -1"},
		{[]string{"run", "--format", "xml"}, `--format: unknown format "xml"`},
		{[]string{"run", "--device", "tpu"}, `--device: unknown device "tpu"`},
		{[]string{"run", "--out", "/nonexistent/dir/r.json", "--sizes", "8"}, "--out /nonexistent/dir/r.json: cannot write"},
		{[]string{"run", "--out", "", "--sizes", "8"}, "--out: empty path"},
		{[]string{"run", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"run", "extra"}, `unexpected argument "extra"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"show"}, "no results file given"},
		{[]string{"show", "/nonexistent.json"}, "no such file"},
		{[]string{"show", notOurs}, "not a flopcast results file"},
		{[]string{"devices", "--format", "xml"}, "--format"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			o := flopcast(t, dir, c.args...)
			if o.code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", o.code, o.stderr)
			}
			lines := strings.Split(strings.TrimRight(o.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "flopcast: ") {
				t.Errorf("stderr is not one flopcast line: %q", o.stderr)
			}
			if !strings.Contains(o.stderr, c.want) {
				t.Errorf("stderr %q does not say %q", o.stderr, c.want)
			}
			if o.stdout != "" {
				t.Errorf("stdout not empty: %q", o.stdout)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left files behind: %v", entries)
			}
		})
	}
}

func TestRunWritesVerifiedResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	args := append([]string{"run", "--sizes", "64,96x32x48", "--dtype", "fp32,fp64", "--seed", "7",
		"--out", out, "--format", "json", "--quiet"}, fast...)
	o := flopcast(t, dir, args...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	if o.stderr != "" {
		t.Errorf("--quiet printed to stderr: %q", o.stderr)
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	var printed result.File
	if err := json.Unmarshal([]byte(o.stdout), &printed); err != nil {
		t.Fatalf("--format json output is not JSON: %v", err)
	}
	if len(f.Measurements) != 4 || len(printed.Measurements) != 4 {
		t.Fatalf("%d measurements in the file, %d printed", len(f.Measurements), len(printed.Measurements))
	}
	for i, m := range f.Measurements {
		if m.Status != result.StatusOK || !m.Verified || m.FLOPPerSecond <= 0 || m.Seconds.N < 3 || m.Seed != 7+uint64(i) {
			t.Errorf("measurement %d: %+v", i, m)
		}
	}
	if f.Partial || f.Tool.Name != "flopcast" || f.Host.Cores < 1 || f.Devices[0].Library == nil || f.Environment.Threads < 1 {
		t.Errorf("file header: partial %v tool %+v host %+v", f.Partial, f.Tool, f.Host)
	}
	if f.Measurements[1].Shape.M != 96 || f.Measurements[1].Label != "shape" {
		t.Errorf("rectangular shape recorded as %+v", f.Measurements[1])
	}

	show := flopcast(t, dir, "show", out)
	if show.code != 0 || strings.Count(show.stdout, "✓") != 4 || !strings.Contains(show.stdout, "GFLOP/s") {
		t.Errorf("show: exit %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	for format, want := range map[string]string{
		"csv":      "device,workload,label,dtype,m,n,k",
		"markdown": "| device | dtype |",
		"benchfmt": "BenchmarkGEMM/dtype=fp32/shape=64x64x64 1 ",
	} {
		o := flopcast(t, dir, "show", "--format", format, out)
		if o.code != 0 || !strings.Contains(o.stdout, want) {
			t.Errorf("show --format %s: exit %d, output lacks %q:\n%s", format, o.code, want, o.stdout)
		}
	}
}

func TestRunDefaultPathAndTable(t *testing.T) {
	dir := t.TempDir()
	o := flopcast(t, dir, append([]string{"run", "--sizes", "32", "--dtype", "fp32"}, fast...)...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "results", "*-cpu-*.json"))
	if len(files) != 1 {
		t.Fatalf("results files: %v", files)
	}
	if !regexp.MustCompile(`-cpu-\d{8}T\d{6}\.\d{3}Z-\d+\.json$`).MatchString(files[0]) {
		t.Errorf("default name %s", files[0])
	}
	if !strings.Contains(o.stderr, "results: results/") {
		t.Errorf("stderr does not name the file: %q", o.stderr)
	}
	for _, want := range []string{"device", "32x32x32", "GFLOP/s", "✓", "BLAS"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, o.stdout)
		}
	}
}

func TestInterruptWritesPartialResults(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	cmd := exec.Command(binary, "run", "--sizes", "48,48,48,48,48,48,48,48", "--dtype", "fp32",
		"--min-time", "400ms", "--max-time", "400ms", "--out", out, "--quiet")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130 (stderr %q)", err, stderr.String())
	}
	f, rerr := result.Read(out)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !f.Partial || len(f.Measurements) == 0 || len(f.Measurements) >= 8 {
		t.Fatalf("partial %v with %d measurements", f.Partial, len(f.Measurements))
	}
	for _, m := range f.Measurements {
		if !m.Verified {
			t.Errorf("unfinished measurement kept: %+v", m)
		}
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestDevices(t *testing.T) {
	o := flopcast(t, t.TempDir(), "devices")
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	for _, want := range []string{"device cpu", "cores:", "blas:", "instance:", "gpus"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("devices lacks %q:\n%s", want, o.stdout)
		}
	}
	j := flopcast(t, t.TempDir(), "devices", "--format", "json")
	var v struct {
		Host    result.Host
		Devices []result.Device
	}
	if err := json.Unmarshal([]byte(j.stdout), &v); err != nil || len(v.Devices) != 1 || v.Devices[0].ID != "cpu" {
		t.Errorf("devices --format json: %v %+v", err, v)
	}
}

func TestVersionAndHelp(t *testing.T) {
	if o := flopcast(t, t.TempDir(), "version"); o.code != 0 || !strings.HasPrefix(o.stdout, "flopcast ") {
		t.Errorf("version: %+v", o)
	}
	if o := flopcast(t, t.TempDir()); o.code != 2 || !strings.Contains(o.stderr, "usage") {
		t.Errorf("no arguments: %+v", o)
	}
	if o := flopcast(t, t.TempDir(), "run", "-h"); o.code != 0 || !strings.Contains(o.stderr, "--sizes") && !strings.Contains(o.stderr, "-sizes") {
		t.Errorf("run -h: %+v", o)
	}
}

func TestGonumFallbackSaysSoOnce(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, append([]string{"run", "--sizes", "40", "--dtype", "fp64", "--out", "r.json"}, fast...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLOPCAST_BLAS=gonum")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "OpenBLAS not loaded (FLOPCAST_BLAS=gonum); using gonum"); n != 1 {
		t.Errorf("fallback notice printed %d times: %q", n, stderr.String())
	}
	f, err := result.Read(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if lib := f.Devices[0].Library; lib.Name != "gonum" || lib.Fallback == "" || !f.Measurements[0].Verified {
		t.Errorf("library %+v, verified %v", lib, f.Measurements[0].Verified)
	}
}
