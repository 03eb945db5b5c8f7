package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/hw"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/kernels"
)

// runOptions are the parsed flags of "flopcast run".
type runOptions struct {
	device, suite, workload, dtypes, sizes string
	repeats, warmup, threads               int
	minTime, maxTime                       time.Duration
	seed                                   uint64
	out, format                            string
	quiet                                  bool
	set                                    map[string]bool
}

func parseRunFlags(args []string, stderr io.Writer) (*runOptions, error) {
	o := &runOptions{}
	fs := flag.NewFlagSet("flopcast run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.device, "device", "auto", "device: auto (best found) or cpu")
	fs.StringVar(&o.suite, "suite", "standard", "suite: quick, standard or full")
	fs.StringVar(&o.workload, "workload", "gemm", "workload: gemm")
	fs.StringVar(&o.dtypes, "dtype", "", "comma-separated dtypes (default: the suite's; CPU: fp32,fp64)")
	fs.StringVar(&o.sizes, "sizes", "", "comma-separated sizes N or shapes MxNxK (default: the suite's)")
	fs.IntVar(&o.repeats, "repeats", 0, "least number of timed calls (default: the suite's)")
	fs.IntVar(&o.warmup, "warmup", -1, "untimed calls before timing (default: the suite's)")
	fs.DurationVar(&o.minTime, "min-time", -1, "least total timed time per measurement, e.g. 500ms (default: the suite's)")
	fs.DurationVar(&o.maxTime, "max-time", -1, "stop repeating after this long once 3 calls are timed (default: the suite's)")
	fs.IntVar(&o.threads, "threads", 0, "BLAS threads (default: one per logical CPU)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for the random inputs (default: random, recorded in the results)")
	fs.StringVar(&o.out, "out", "", "results file (default: results/<host>-<device>-<UTC time>.json)")
	fs.StringVar(&o.format, "format", "table", "output: table, json, csv, markdown or benchfmt")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: flopcast run [flags]")
			fs.PrintDefaults()
			return nil, err
		}
		return nil, usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageError("unexpected argument %q", fs.Arg(0))
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	return o, nil
}

// plan turns the options into a suite, checking every value; errors name
// the flag and the value.
func (o *runOptions) plan() (bench.Suite, error) {
	suite, err := bench.LookupSuite(o.suite)
	if err != nil {
		return suite, usageError("--suite: %v", err)
	}
	if o.workload != "gemm" {
		return suite, usageError("--workload: unknown workload %q (known: gemm)", o.workload)
	}
	if o.set["dtype"] {
		if suite.DTypes, err = kernels.ParseDTypes(o.dtypes); err != nil {
			return suite, usageError("--dtype: %v", err)
		}
	}
	if o.set["sizes"] {
		shapes, err := kernels.ParseShapes(o.sizes)
		if err != nil {
			return suite, usageError("--sizes: %v", err)
		}
		suite.Problems = nil
		for _, s := range shapes {
			label := "square"
			if s.M != s.N || s.N != s.K {
				label = "shape"
			}
			suite.Problems = append(suite.Problems, bench.Problem{Label: label, Shape: s})
		}
	}
	if o.set["repeats"] {
		if o.repeats < 1 {
			return suite, usageError("--repeats %d: must be >= 1", o.repeats)
		}
		suite.Repeats = o.repeats
	}
	if o.set["warmup"] {
		if o.warmup < 0 {
			return suite, usageError("--warmup %d: must be >= 0", o.warmup)
		}
		suite.Warmup = o.warmup
	}
	if o.set["min-time"] {
		if o.minTime < 0 {
			return suite, usageError("--min-time %v: must be >= 0", o.minTime)
		}
		suite.MinTime = o.minTime
		if !o.set["max-time"] && suite.MaxTime < o.minTime {
			suite.MaxTime = o.minTime
		}
	}
	if o.set["max-time"] {
		if o.maxTime < suite.MinTime {
			return suite, usageError("--max-time %v: must be >= --min-time %v", o.maxTime, suite.MinTime)
		}
		suite.MaxTime = o.maxTime
	}
	if o.threads < 0 || o.threads > 4096 {
		return suite, usageError("--threads %d: must be between 1 and 4096 (0: one per CPU)", o.threads)
	}
	if _, err := report.ParseFormat(o.format); err != nil {
		return suite, usageError("--format: %v", err)
	}
	return suite, nil
}

// memoryNeeded estimates the peak memory one measurement allocates: one
// operand set plus the float64 copies the full check makes.
func memoryNeeded(s kernels.GEMMShape, d kernels.DType) int64 {
	need := s.Bytes(d)
	if max(s.M, s.N, s.K) <= verify.FullLimit {
		a, b, c := s.Elements()
		need += 8 * (a + b + c)
	}
	return need
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	suite, err := o.plan()
	if err != nil {
		return err
	}
	format, _ := report.ParseFormat(o.format)
	if o.set["out"] && o.out == "" {
		return usageError("--out: empty path")
	}
	if o.out != "" {
		if err := result.CheckWritable(o.out); err != nil {
			return usageError("--out %s: cannot write: %v", o.out, unwrapPath(err))
		}
	}

	b, notices, err := hw.Open(o.device, o.threads)
	if err != nil {
		return usageError("--device: %v", err)
	}
	defer b.Close()
	for _, d := range suite.DTypes {
		if !b.Supports(d) {
			return usageError("--dtype %s: not supported on %s (%s)", d, b.Device().ID, b.Device().Name)
		}
	}
	if avail := b.MemoryAvailable(); avail > 0 {
		for _, p := range suite.Problems {
			for _, d := range suite.DTypes {
				if need := memoryNeeded(p.Shape, d); need > avail {
					return usageError("--sizes %s: %s %s needs %s, %s available", p.Shape, p.Shape, d, bench.GiB(need), bench.GiB(avail))
				}
			}
		}
	}
	if !o.quiet {
		for _, n := range notices {
			fmt.Fprintln(stderr, n)
		}
	}

	seed := o.seed
	if !o.set["seed"] {
		seed = rand.Uint64() >> 11 // 53 bits: exact in JSON readers that use doubles
	}
	threads := o.threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	file := bench.NewFile(result.Tool{Version: version, Commit: buildCommit()}, b, threads, suite.Name, append([]string{"flopcast", "run"}, args...))
	path := o.out
	if path == "" {
		if err := os.MkdirAll("results", 0o755); err != nil {
			return usageError("cannot create results/: %v", err)
		}
		path = defaultPath(file)
	}

	cfg := bench.Config{
		Problems: suite.Problems, DTypes: suite.DTypes, Warmup: suite.Warmup,
		MinRepeats: suite.Repeats, MinTime: suite.MinTime, MaxTime: suite.MaxTime, Seed: seed,
	}
	if !o.quiet && isTerminal(stderr) {
		cfg.Progress = progressBar(stderr)
	}
	ms, runErr := bench.Run(ctx, b, cfg)
	file.Measurements = append(file.Measurements, ms...)
	interrupted := runErr != nil && ctx.Err() != nil
	if runErr != nil && !interrupted {
		return withCode(exitFailure, runErr)
	}
	file.Partial = interrupted

	if err := result.Write(path, file); err != nil {
		return withCode(exitFailure, fmt.Errorf("writing %s: %v", path, err))
	}
	if o.quiet {
		if err := renderQuiet(stdout, file, format); err != nil {
			return err
		}
	} else if err := report.Render(stdout, file, format); err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "results: %s\n", path)
	}
	if interrupted {
		return withCode(exitInterrupted, fmt.Errorf("interrupted: %d finished measurements written to %s (partial)", len(ms), path))
	}
	failed := 0
	for _, m := range ms {
		if m.Status == result.StatusFailed {
			failed++
		}
	}
	if failed > 0 {
		return withCode(exitFailure, fmt.Errorf("%d of %d measurements failed their correctness check (see the table)", failed, len(ms)))
	}
	return nil
}

// renderQuiet prints the table without its footnotes.
func renderQuiet(w io.Writer, f *result.File, format report.Format) error {
	if format != report.Table && format != report.Markdown {
		return report.Render(w, f, format)
	}
	var b strings.Builder
	if err := report.Render(&b, f, format); err != nil {
		return err
	}
	text := b.String()
	// The footnotes follow the table's last line.
	lines := strings.SplitAfter(text, "\n")
	end := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "└") || strings.HasPrefix(l, "|") {
			end = i + 1
		}
	}
	_, err := io.WriteString(w, strings.Join(lines[:end], ""))
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultPath is results/<host>-<device>-<UTC timestamp>.json.
func defaultPath(f *result.File) string {
	host := unsafeName.ReplaceAllString(f.Host.Hostname, "_")
	if host == "" {
		host = "host"
	}
	dev := "cpu"
	if len(f.Devices) > 0 {
		dev = unsafeName.ReplaceAllString(f.Devices[0].ID, "_")
	}
	return filepath.Join("results", fmt.Sprintf("%s-%s-%s.json", host, dev, f.Created.Format("20060102T150405Z")))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
