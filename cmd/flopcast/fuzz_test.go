package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// naninf matches a NaN or an infinity as Go prints them ("NaN", "+Inf",
// "-Inf", "Inf"), not a word that merely contains the letters.
var naninf = regexp.MustCompile(`(^|[^A-Za-z])(NaN|[+-]?Inf)([^A-Za-z]|$)`)

// checkOutcome fails t when a command run in-process broke a promise:
// an exit code other than 0, 1 or 2, a NaN or infinity in anything it
// printed or wrote, or bad input (exit 2) reported in more than one line.
func checkOutcome(t *testing.T, args []string, code int, stdout, stderr string, files ...string) {
	t.Helper()
	what := strings.Join(args, " ")
	if code != 0 && code != 1 && code != 2 {
		t.Fatalf("%s: exit %d\n%s", what, code, stderr)
	}
	for name, text := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if loc := naninf.FindStringIndex(text); loc != nil {
			t.Fatalf("%s: %s prints %q: …%s…", what, name, text[loc[0]:loc[1]], text[max(0, loc[0]-80):min(len(text), loc[1]+80)])
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if loc := naninf.FindIndex(data); loc != nil {
			t.Fatalf("%s: %s holds %q: …%s…", what, f, data[loc[0]:loc[1]], data[max(0, loc[0]-80):min(len(data), loc[1]+80)])
		}
	}
	help := strings.Contains(what, "-h") || strings.Contains(what, "help")
	if code == 2 && !help && strings.Count(strings.TrimRight(stderr, "\n"), "\n") > 0 {
		t.Fatalf("%s: bad input reported in more than one line:\n%s", what, stderr)
	}
}

// hangLimit is how long one command may run in a fuzzer before it counts
// as hung.
const hangLimit = 20 * time.Second

// runInProcess runs a command line as main would and returns its exit
// code and output. A command still running after hangLimit crashes the
// process, so that the fuzzer keeps the input that hung it.
func runInProcess(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	watchdog := time.AfterFunc(hangLimit, func() {
		panic(fmt.Sprintf("flopcast %s: still running after %v", strings.Join(args, " "), hangLimit))
	})
	defer watchdog.Stop()
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// safeArgs reports whether fuzzed arguments keep to what a test may do:
// no device or kernel files (a read of /dev/zero never ends) and a
// bounded count.
func safeArgs(args []string) bool {
	if len(args) > 40 {
		return false
	}
	for _, a := range args {
		if strings.Contains(a, "/dev") || strings.Contains(a, "/proc") || strings.Contains(a, "/sys") {
			return false
		}
	}
	return true
}

// FuzzForecastFlags feeds the forecast arbitrary flags: it must never
// panic, exit other than 0, 1 or 2, or print NaN or infinity.
func FuzzForecastFlags(f *testing.F) {
	// Seeds are cheap forecasts (a few GPUs), so that the seed corpus,
	// which every "go test" runs, stays fast; the fuzzer finds the rest.
	for _, seed := range []string{
		"--model llama3-8b --tokens 1T --gpu h100-sxm --gpus 8",
		"--model llama3-8b --tokens 1T --instance p5.48xlarge --gpus 8 --format json",
		"--model llama3-8b --tokens 1T --gpu h100-sxm --gpus 8 --budget 1M --days 30",
		"--model llama3-8b --tokens 1e-3 --gpu b200 --gpus 1 --dtype fp8 --tp 1 --pp 1 --dp 1",
		"--hidden 4096 --layers 2 --heads 32 --ffn 14336 --seq 8192 --gpu h100-sxm --gpus 8 --device-tflops 700 --explain",
		"--model llama3-8b --gpu h100-sxm --gpus 8 --global-batch-tokens 16M --checkpoint-interval 1h --discount 0.3 --grid-intensity 0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"forecast"}, strings.Fields(line)...)
		if !safeArgs(args) {
			return
		}
		code, stdout, stderr := runInProcess(args...)
		checkOutcome(t, args, code, stdout, stderr)
	})
}

// FuzzCompareFiles feeds crafted results files to every reader: compare
// (beside a real file, and as the new side of the regression gate), show
// and report. None may panic, exit other than 0, 1 or 2, or print or draw
// NaN or infinity; a file they refuse is refused in one line.
func FuzzCompareFiles(f *testing.F) {
	for _, p := range []string{
		"../../bench/compare/testdata/fixture-h200-a.json",
		"../../results/2026-11-26_cpu-amd-epyc-2c_block-tiny.json",
	} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"flopcast"},"measurements":[{"workload":"gemm","device":"cpu","dtype":"fp32","status":"ok","flops":1e9,"seconds":{"n":3,"median":1e-300},"flop_per_second":1e9,"verified":true}]}`))
	base, err := filepath.Abs("../../bench/compare/testdata/fixture-cpu.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "fuzz.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		html := filepath.Join(dir, "report.html")
		// A small reference run keeps the forecast each reader prices
		// cheap; the files are what is fuzzed.
		const ref = "--reference=llama3-8b:1T:8"
		for _, args := range [][]string{
			{"compare", ref, path, base},
			{"compare", ref, "--format", "json", "--all", path},
			{"compare", "--baseline", base, path},
			{"show", path},
			{"report", ref, path, "-o", html},
		} {
			code, stdout, stderr := runInProcess(args...)
			checkOutcome(t, args, code, stdout, stderr, html)
		}
	})
}
