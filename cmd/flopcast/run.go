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
	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/hw"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
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

	// ltAlgo forces cuBLASLt's heuristic candidate of this rank, no search
	// (--lt-algo; -1: search).
	ltAlgo int

	// force lets --out replace an existing file.
	force bool

	// search explores shapes around one size for the highest throughput.
	search     bool
	searchStep int
	searchTime time.Duration

	// The block workload's shape: a preset, an arch and overrides.
	preset, arch                               string
	hidden, heads, kvHeads, ffn, seqLen, batch int
	// blocks is what plan made of them.
	blocks []kernels.BlockConfig
}

func parseRunFlags(args []string, stderr io.Writer) (*runOptions, error) {
	o := &runOptions{}
	fs := flag.NewFlagSet("flopcast run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.device, "device", "auto", "device: auto (best found), cpu, cuda, cuda:N or all (every GPU at once, with the spread between them)")
	fs.StringVar(&o.suite, "suite", "standard", "suite: quick, standard or full")
	fs.StringVar(&o.workload, "workload", "gemm", "workload: gemm, block (one transformer layer trained: forward, backward, AdamW) or bandwidth (GPU memory copies only)")
	fs.BoolVar(&o.search, "search", false, "gemm: search the shapes around one size (--sizes; default 8192 on a GPU, 512 on the CPU) for the highest throughput")
	fs.IntVar(&o.searchStep, "search-step", 0, "search: distance between the sizes tried (default: the largest power of two <= size/32)")
	fs.DurationVar(&o.searchTime, "search-time", 2*time.Minute, "search: no new shape starts after this long")
	fs.StringVar(&o.preset, "preset", "", "block: model preset whose layer is trained (default tiny; see kernels presets)")
	fs.StringVar(&o.arch, "arch", "", "block: llama or gpt (default: the preset's)")
	fs.IntVar(&o.hidden, "hidden", 0, "block: hidden size (overrides the preset's)")
	fs.IntVar(&o.heads, "heads", 0, "block: attention heads")
	fs.IntVar(&o.kvHeads, "kv-heads", 0, "block: key/value heads (default: heads for a custom block)")
	fs.IntVar(&o.ffn, "ffn", 0, "block: MLP inner width")
	fs.IntVar(&o.seqLen, "seq", 0, "block: sequence length")
	fs.IntVar(&o.batch, "batch", 0, "block: sequences per step")
	fs.StringVar(&o.dtypes, "dtype", "", "comma-separated dtypes (default: the suite's; CPU: fp32,fp64)")
	fs.StringVar(&o.sizes, "sizes", "", "comma-separated sizes N or shapes MxNxK (default: the suite's)")
	fs.IntVar(&o.repeats, "repeats", 0, "least number of timed calls (default: the suite's)")
	fs.IntVar(&o.warmup, "warmup", 0, "untimed calls before timing (default: the suite's)")
	fs.DurationVar(&o.minTime, "min-time", 0, "least total timed time per measurement, e.g. 500ms (default: the suite's)")
	fs.DurationVar(&o.maxTime, "max-time", 0, "stop repeating after this long once 3 calls are timed (default: the suite's)")
	fs.IntVar(&o.threads, "threads", 0, "BLAS threads (default: one per logical CPU)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for the random inputs (default: random, recorded in the results)")
	fs.StringVar(&o.out, "out", "", "results file, written as measured; an existing file is refused unless --force (default: results/<host>-<device>-<UTC time>-<pid>.json, a new name)")
	fs.StringVar(&o.format, "format", "table", "output: table, json, csv, markdown or benchfmt")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the table")
	fs.IntVar(&o.ltAlgo, "lt-algo", -1, "GPU gemm: use cuBLASLt's heuristic candidate of this rank (0: its first choice) with no algorithm search")
	fs.BoolVar(&o.force, "force", false, "let --out replace an existing file (a results file is never replaced otherwise)")
	set, err := parseFlags(fs, args, stderr, "usage: flopcast run [flags]")
	if err != nil {
		return nil, err
	}
	o.set = set
	return o, nil
}

// plan turns the options into a suite, checking every value; errors name
// the flag and the value.
func (o *runOptions) plan() (bench.Suite, error) {
	suite, err := bench.LookupSuite(o.suite)
	if err != nil {
		return suite, usageError("--suite: %v", err)
	}
	switch o.workload {
	case "gemm", "bandwidth":
		for _, f := range blockFlags {
			if o.set[f] {
				return suite, usageError("--%s: applies to --workload block only", f)
			}
		}
		if o.workload == "bandwidth" {
			for _, f := range []string{"sizes", "dtype"} {
				if o.set[f] {
					return suite, usageError("--%s: --workload bandwidth copies bytes; it takes no %s", f, f)
				}
			}
		}
	case "block":
		if o.set["sizes"] {
			return suite, usageError("--sizes: applies to --workload gemm only; the block takes --preset or --hidden, --heads, --ffn, --seq, --batch")
		}
		blk, err := o.block()
		if err != nil {
			return suite, err
		}
		o.blocks = []kernels.BlockConfig{blk}
	default:
		return suite, usageError("--workload: unknown workload %q (known: gemm, block, bandwidth)", o.workload)
	}
	if o.set["lt-algo"] {
		switch {
		case o.ltAlgo < 0:
			return suite, usageError("--lt-algo %d: must be >= 0 (the rank in cuBLASLt's heuristic list; 0 is its first choice)", o.ltAlgo)
		case o.workload != "gemm":
			return suite, usageError("--lt-algo: applies to --workload gemm only")
		case strings.EqualFold(strings.TrimSpace(o.device), "all"):
			return suite, usageError("--lt-algo: not with --device all; choose one GPU (--device cuda:N)")
		}
	}
	if err := o.planSearch(); err != nil {
		return suite, err
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
	if err := o.checkOut(); err != nil {
		return err
	}

	if strings.EqualFold(strings.TrimSpace(o.device), "all") {
		return runAllDevices(ctx, o, suite, format, args, stdout, stderr)
	}
	b, notices, err := hw.Open(o.device, o.threads)
	if err != nil {
		return usageError("--device: %v", err)
	}
	aborted := false
	defer func() {
		if !aborted { // else a call may still run on b; the process ends
			b.Close()
		}
	}()
	if suite, err = o.fit(suite, b); err != nil {
		return err
	}
	if o.set["lt-algo"] {
		af, ok := b.(backend.AlgoForcer)
		if !ok {
			return usageError("--lt-algo: device %s (%s) has no cuBLASLt algorithm to choose (GPUs only)", b.Device().ID, b.Device().Name)
		}
		if err := af.ForceAlgo(o.ltAlgo); err != nil {
			return usageError("--lt-algo: %v", err)
		}
	}
	if !o.quiet {
		for _, n := range notices {
			fmt.Fprintln(stderr, n)
		}
		if n := hw.LoaderNotice(); n != "" {
			fmt.Fprintln(stderr, n)
		}
	}

	seed := o.runSeed()
	file := bench.NewFile(result.Tool{Version: version, Commit: buildCommit()}, b, o.runThreads(), suite.Name, append([]string{"flopcast", "run"}, args...))
	rec, err := o.recorder(file, file)
	if err != nil {
		return err
	}
	cfg := o.config(suite, seed, stderr)
	cfg.Done = func(m result.Measurement) { rec.Add(m) }
	var ms []result.Measurement
	ms, aborted, err = untilAbort(ctx, rec, func() ([]result.Measurement, error) {
		return o.measure(ctx, b, suite, cfg)
	})
	return o.finish(ctx, rec, file, format, ms, aborted, err, stdout, stderr)
}

// checkOut refuses, before anything is measured, an --out that cannot be
// written or that exists (unless --force), and --force without --out.
func (o *runOptions) checkOut() error {
	if o.set["out"] && o.out == "" {
		return usageError("--out: empty path")
	}
	if o.out == "" {
		if o.force {
			return usageError("--force: applies with --out only (default names are never reused)")
		}
		return nil
	}
	if err := result.CheckWritable(o.out); err != nil {
		return usageError("--out %s: cannot write: %v", o.out, unwrapPath(err))
	}
	if st, err := os.Lstat(o.out); err == nil && !st.Mode().IsRegular() {
		return usageError("--out %s: exists and is not a regular file", o.out)
	} else if err == nil && !o.force {
		return usageError("--out %s: the file exists; flopcast never replaces a results file (give another name, or --force to replace it)", o.out)
	}
	return nil
}

// recorder returns the Recorder that writes file as it is measured, to
// --out or to a new name under results/ made from named.
func (o *runOptions) recorder(file, named *result.File) (*bench.Recorder, error) {
	path, err := o.resultsPath(named)
	if err != nil {
		return nil, err
	}
	opt := bench.RecorderOptions{Replace: o.force}
	if o.out == "" { // a default name taken meanwhile: the next free one
		opt.Rename = func(try int) string { return fmt.Sprintf("%s-%d.json", strings.TrimSuffix(path, ".json"), try) }
	}
	return bench.NewRecorder(file, path, opt), nil
}

// untilAbort runs measure on a goroutine of its own and returns what it
// returns, unless a second interrupt comes first (see main): then it
// returns at once the measurements rec holds (those finished), aborted
// and a cancellation error; the call in progress, which cannot be
// stopped inside BLAS or a driver, ends with the process.
func untilAbort(ctx context.Context, rec *bench.Recorder, measure func() ([]result.Measurement, error)) (ms []result.Measurement, aborted bool, err error) {
	ms, aborted, err = abortable(ctx, measure)
	if aborted {
		ms = rec.Measurements()
	}
	return ms, aborted, err
}

// abortable runs f on a goroutine of its own and returns what it returns,
// unless a second interrupt comes first: then it returns at once, with
// aborted set and a cancellation error, leaving f to end with the
// process.
func abortable[T any](ctx context.Context, f func() (T, error)) (res T, aborted bool, err error) {
	type outcome struct {
		res T
		err error
	}
	done := make(chan outcome, 1)
	abortOf(ctx).handle()
	go func() {
		res, err := f()
		done <- outcome{res, err}
	}()
	select {
	case r := <-done:
		return r.res, false, r.err
	case <-abortOf(ctx).requested():
		return res, true, context.Canceled
	}
}

// fit adapts the suite planned before the device was known to device b
// (the GPU suite on a GPU) and checks that b can run it: the workload,
// every dtype asked for, and the memory of the largest problem.
func (o *runOptions) fit(suite bench.Suite, b backend.Backend) (bench.Suite, error) {
	if b.Device().Kind == "gpu" && o.workload != "block" {
		suite = gpuSuite(o, suite)
	}
	if o.workload == "bandwidth" {
		if _, ok := b.(bench.BandwidthMeter); !ok {
			return suite, usageError("--workload bandwidth: device %s (%s) has no bandwidth measurement (GPUs only; use --device cuda)", b.Device().ID, b.Device().Name)
		}
		return suite, nil
	}
	if o.search {
		suite = o.searchSuite(suite, b.Device().Kind == "gpu")
	}
	if _, ok := b.(backend.BlockBackend); o.workload == "block" && !ok {
		return suite, usageError("--workload block: device %s (%s) does not run the block workload", b.Device().ID, b.Device().Name)
	}
	for _, d := range suite.DTypes {
		if !b.Supports(d) && (o.set["dtype"] || b.Device().Kind != "gpu") {
			return suite, usageError("--dtype %s: not supported on %s (%s)", d, b.Device().ID, b.Device().Name)
		}
	}
	if avail := b.MemoryAvailable(); avail > 0 && o.workload == "block" {
		for _, blk := range o.blocks {
			for _, d := range suite.DTypes {
				if est := bench.BlockMemoryEstimate(blk, d); est.Total() > avail {
					return suite, usageError("%s: the %s %s block needs %s, %s available%s", o.blockFlag(blk), blk, d, est, bench.GiB(avail), limitNote(b, avail))
				}
			}
		}
	} else if avail > 0 {
		for _, p := range suite.Problems {
			for _, d := range suite.DTypes {
				if need := memoryNeeded(p.Shape, d); need > avail {
					return suite, usageError("--sizes %s: %s %s needs %s, %s available%s", p.Shape, p.Shape, d, bench.GiB(need), bench.GiB(avail), limitNote(b, avail))
				}
			}
		}
	}
	return suite, nil
}

// limitNote names the control group's memory limit when it is what leaves
// a CPU backend avail bytes.
func limitNote(b backend.Backend, avail int64) string {
	if b.Device().Kind == "gpu" {
		return ""
	}
	if lim, ok := sysinfo.Local.CgroupMemory(); ok && max(lim.Free(), 1) == avail {
		return fmt.Sprintf(" under the cgroup's memory limit of %s (%s)", bench.GiB(lim.Limit), lim.File)
	}
	return ""
}

// runSeed is --seed, or a random seed recorded in the results.
func (o *runOptions) runSeed() uint64 {
	if o.set["seed"] {
		return o.seed
	}
	return rand.Uint64() >> 11 // 53 bits: exact in JSON readers that use doubles
}

// runThreads is --threads, or one per logical CPU.
func (o *runOptions) runThreads() int {
	if o.threads == 0 {
		return runtime.NumCPU()
	}
	return o.threads
}

// resultsPath is --out, or the default path under results/ (created).
func (o *runOptions) resultsPath(file *result.File) (string, error) {
	if o.out != "" {
		return o.out, nil
	}
	if err := os.MkdirAll("results", 0o755); err != nil {
		return "", usageError("cannot create results/: %v (give --out FILE to write elsewhere)", err)
	}
	path := defaultPath(file)
	if err := result.CheckWritable(path); err != nil {
		return "", usageError("cannot write in results/: %v (give --out FILE to write elsewhere)", unwrapPath(err))
	}
	return path, nil
}

// config is the runner's configuration for a suite.
func (o *runOptions) config(suite bench.Suite, seed uint64, stderr io.Writer) bench.Config {
	cfg := bench.Config{
		Problems: suite.Problems, DTypes: suite.DTypes, Warmup: suite.Warmup,
		MinRepeats: suite.Repeats, MinTime: suite.MinTime, MaxTime: suite.MaxTime, Seed: seed,
		WarmupTime: suite.WarmupTime,
	}
	if !o.quiet && isTerminal(stderr) {
		cfg.Progress = progressBar(stderr)
	}
	return cfg
}

// measure runs the workload on b.
func (o *runOptions) measure(ctx context.Context, b backend.Backend, suite bench.Suite, cfg bench.Config) ([]result.Measurement, error) {
	switch {
	case o.workload == "bandwidth":
		return bench.RunBandwidth(ctx, b, suite.Warmup, suite.Repeats)
	case o.search:
		return o.runSearch(ctx, b, cfg)
	}
	if o.workload == "block" {
		return bench.RunBlocks(ctx, b, bench.BlockRun{
			Blocks: o.blocks, DTypes: cfg.DTypes, Warmup: cfg.Warmup, MinRepeats: cfg.MinRepeats,
			MinTime: cfg.MinTime, MaxTime: cfg.MaxTime, Seed: cfg.Seed, Progress: cfg.Progress, Done: cfg.Done,
		})
	}
	ms, err := bench.Run(ctx, b, cfg)
	if err == nil && suite.Bandwidth {
		bw, err := bench.RunBandwidth(ctx, b, suite.Warmup, suite.Repeats)
		return append(ms, bw...), err
	}
	return ms, err
}

// finish writes the results file a last time (partial when the run was
// interrupted or failed), renders it and turns the outcome into the exit
// status. A file that could not be written where asked is still rendered,
// and the error says where the data went.
func (o *runOptions) finish(ctx context.Context, rec *bench.Recorder, file *result.File, format report.Format, ms []result.Measurement, aborted bool, runErr error, stdout, stderr io.Writer) error {
	interrupted := runErr != nil && ctx.Err() != nil
	if aborted && !o.quiet && isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\033[K") // the progress bar's line
	}
	if runErr != nil && !interrupted {
		if len(ms) == 0 {
			return withCode(exitFailure, runErr)
		}
		path, werr := rec.Finish(ms, true)
		if werr != nil {
			return withCode(exitFailure, fmt.Errorf("%v; %v", runErr, savedWhere(werr, path)))
		}
		return withCode(exitFailure, fmt.Errorf("%v; %d finished measurements written to %s (partial)", runErr, len(ms), path))
	}
	if ms == nil {
		ms = []result.Measurement{}
	}
	path, werr := rec.Finish(ms, interrupted)
	if o.quiet {
		if err := renderQuiet(stdout, file, format); err != nil {
			return err
		}
	} else if err := report.Render(stdout, file, format); err != nil {
		return err
	}
	if werr != nil {
		return withCode(exitFailure, savedWhere(werr, path))
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "results: %s\n", path)
	}
	if aborted {
		return withCode(exitInterrupted, fmt.Errorf("interrupted twice: stopped at once, the measurement in progress abandoned; %d finished measurements written to %s (partial)", len(ms), path))
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

// savedWhere turns a failed write into the error that says where the data
// is: the fallback file, or nowhere but the table printed.
func savedWhere(werr error, path string) error {
	if path == "" {
		return fmt.Errorf("%v; the results are not saved anywhere: the table printed is all that is left", werr)
	}
	return fmt.Errorf("%v; the results are in %s", werr, path)
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

// defaultPath is results/<host>-<device>-<UTC time to the millisecond>-<process ID>.json,
// a name no other run uses (the file is also created exclusively).
func defaultPath(f *result.File) string {
	host := unsafeName.ReplaceAllString(f.Host.Hostname, "_")
	if host == "" {
		host = "host"
	}
	dev := "cpu"
	if len(f.Devices) > 0 {
		dev = unsafeName.ReplaceAllString(f.Devices[0].ID, "_")
	}
	return filepath.Join("results", fmt.Sprintf("%s-%s-%s-%d.json", host, dev, time.Now().UTC().Format("20060102T150405.000Z"), os.Getpid()))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// blockFlags are the flags that shape the block workload.
var blockFlags = []string{"preset", "arch", "hidden", "heads", "kv-heads", "ffn", "seq", "batch"}

// block builds the block configuration from --preset (default tiny, unless
// a custom shape is given with --hidden) and the overriding flags; errors
// name the flag and the value.
func (o *runOptions) block() (kernels.BlockConfig, error) {
	var c kernels.BlockConfig
	custom := !o.set["preset"] && o.set["hidden"]
	if custom {
		for _, f := range []string{"heads", "ffn"} {
			if !o.set[f] {
				return c, usageError("--%s: a custom block (--hidden without --preset) needs --hidden, --heads and --ffn", f)
			}
		}
		c = kernels.BlockConfig{Arch: kernels.Llama, Seq: 128, Batch: 1}
	} else {
		name := o.preset
		if name == "" {
			name = "tiny"
		}
		m, err := kernels.LookupModel(name)
		if err != nil {
			return c, usageError("--preset: %v", err)
		}
		if err := m.BlockError(); err != nil {
			return c, usageError("--preset %s: %v", name, err)
		}
		c = kernels.BlockFromModel(m)
	}
	if o.set["arch"] {
		a, err := kernels.ParseArch(o.arch)
		if err != nil {
			return c, usageError("--arch: %v", err)
		}
		c.Arch = a
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"hidden", o.hidden, &c.Hidden}, {"heads", o.heads, &c.Heads}, {"kv-heads", o.kvHeads, &c.KVHeads},
		{"ffn", o.ffn, &c.FFN}, {"seq", o.seqLen, &c.Seq}, {"batch", o.batch, &c.Batch}} {
		if o.set[f.name] {
			*f.dst = f.v
		}
	}
	if custom && !o.set["kv-heads"] {
		c.KVHeads = c.Heads
	}
	if err := c.Validate(); err != nil {
		var be *kernels.BlockConfigError
		if errors.As(err, &be) {
			return c, usageError("--%s %s: %s", be.Field, be.Value, be.Msg)
		}
		return c, usageError("%v", err)
	}
	return c, nil
}

// blockFlag names the flags that chose a block, for error messages.
func (o *runOptions) blockFlag(c kernels.BlockConfig) string {
	var parts []string
	if c.Preset != "" {
		parts = append(parts, "--preset "+c.Preset)
	}
	for _, f := range []string{"hidden", "seq", "batch"} {
		if o.set[f] {
			parts = append(parts, fmt.Sprintf("--%s %d", f, map[string]int{"hidden": c.Hidden, "seq": c.Seq, "batch": c.Batch}[f]))
		}
	}
	if len(parts) == 0 {
		return "--workload block"
	}
	return strings.Join(parts, " ")
}
