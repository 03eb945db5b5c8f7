package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/fleet"
	"github.com/flopcast/flopcast/bench/hw"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
	"github.com/flopcast/flopcast/kernels"
)

func init() {
	register("fleet", "measure every node of a cluster at once (fleet run|merge|manifest)", fleetCmd)
}

// fleetComms are the collective backends "fleet run --comm" offers
// besides tcp; a backend registers itself from its own file's init (the
// GPU one as "nccl").
var fleetComms = map[string]func(ctx context.Context, rv *fleet.Rendezvous, b backend.Backend, fault fleet.Fault) (backend.Communicator, error){}

// fleetCommProbes tell whether a registered collective backend can run
// here: its library's version, or the one-line reason it does not load.
// A backend without a probe is taken to run.
var fleetCommProbes = map[string]func() (string, error){}

// chooseComm resolves --comm (requested) for a rank whose device kind is
// dev ("cpu", "cuda"). "auto" is nccl on a GPU where the nccl backend is
// registered and its probe passes (NCCL loads); otherwise tcp, and on a
// GPU the notice says why in one line. A named backend must be registered
// and its probe must pass, else a one-line error naming --comm.
func chooseComm[V any](requested, dev string, comms map[string]V, probes map[string]func() (string, error)) (name, notice string, err error) {
	probe := func(n string) error {
		if p := probes[n]; p != nil {
			_, err := p()
			return err
		}
		return nil
	}
	switch requested {
	case "tcp":
		return "tcp", "", nil
	case "auto":
		if dev != "cuda" {
			return "tcp", "", nil
		}
		if _, ok := comms["nccl"]; !ok {
			return "tcp", "--comm auto: this build has no NCCL backend; collectives over TCP", nil
		}
		if err := probe("nccl"); err != nil {
			return "tcp", fmt.Sprintf("--comm auto: NCCL does not load (%v); collectives over TCP", oneLine(err)), nil
		}
		return "nccl", "", nil
	}
	if _, ok := comms[requested]; !ok {
		names := []string{"auto", "tcp"}
		for k := range comms {
			names = append(names, k)
		}
		sort.Strings(names[2:])
		return "", "", fmt.Errorf("--comm %q: not available in this build (%s)", requested, strings.Join(names, ", "))
	}
	if err := probe(requested); err != nil {
		return "", "", fmt.Errorf("--comm %s: %v", requested, oneLine(err))
	}
	return requested, "", nil
}

// oneLine is err's text on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// fleetHello is filled from a backend's device for the rendezvous; a GPU
// backend's file may extend it (e.g. with the NCCL version).
var fleetHelloHooks []func(h *fleet.Hello, b backend.Backend)

const fleetUsage = `usage: flopcast fleet run [flags]          one rank of a fleet run (started by srun, mpirun, torchrun, Kubernetes)
       flopcast fleet merge DIR -o FILE      rebuild the merged fleet file from the rank files in DIR
       flopcast fleet manifest --kind KIND   print a job file: sbatch, indexed-job, jobset or mpijob`

func fleetCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("fleet: want a sub-command: run, merge or manifest")
	}
	switch args[0] {
	case "run":
		return fleetRunCmd(ctx, args[1:], stdout, stderr)
	case "merge":
		return fleetMergeCmd(args[1:], stdout, stderr)
	case "manifest":
		return fleetManifestCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, fleetUsage)
		return flag.ErrHelp
	}
	return usageError("fleet: unknown sub-command %q (run, merge, manifest)", args[0])
}

// fleetErr maps the fleet package's errors to exit codes: bad input 2,
// everything else 1.
func fleetErr(err error) error {
	if err == nil {
		return nil
	}
	if fleet.IsBadInput(err) {
		return &exitError{exitUsage, err}
	}
	return withCode(exitFailure, err)
}

// optInt is an int flag that knows whether it was given.
type optInt struct{ v *int }

func (o *optInt) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optInt) Set(s string) error {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != strings.TrimSpace(s) {
		return fmt.Errorf("not an integer")
	}
	o.v = &n
	return nil
}

func fleetRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast fleet run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var rank, world, local optInt
	fs.Var(&rank, "rank", "this process's rank (when no launcher sets it)")
	fs.Var(&world, "world-size", "number of ranks (when no launcher sets it)")
	fs.Var(&local, "local-rank", "rank among the processes on this node")
	node := fs.String("node", "", "this node's name (default: the launcher's, else the host name)")
	rendezvous := fs.String("rendezvous", "", "rank 0's HOST:PORT (default: FLOPCAST_RENDEZVOUS, MASTER_ADDR:MASTER_PORT, or the first Slurm node)")
	rvTimeout := fs.Duration("rendezvous-timeout", 60*time.Second, "how long rank 0 waits for every rank (and the others for rank 0)")
	opTimeout := fs.Duration("timeout", 5*time.Minute, "deadline of each later step (barrier, collective, results)")
	runID := fs.String("run-id", "", "name of the run (rank 0's; default: time and job id)")
	device := fs.String("device", "cpu", "local device: cpu, cuda or cuda:N (cuda: the GPU of the local rank)")
	comm := fs.String("comm", "auto", "collective backend: tcp, or another registered one (auto: nccl on GPUs where available, else tcp)")
	threads := fs.Int("threads", 0, "BLAS threads of the local benchmark (default: the logical CPUs shared among this node's ranks)")
	sizes := fs.String("sizes", "4KiB,256KiB,4MiB", "collective sizes, e.g. 4KiB,1MiB")
	ops := fs.String("ops", "all_reduce,all_gather,reduce_scatter,all_to_all", "collectives of the group scopes (send_recv runs in the pair scope)")
	scopes := fs.String("scopes", "intra_node,world,inter_node,pair", "scopes: intra_node, world, inter_node (one rank per node), pair (pairwise node tests)")
	iters := fs.Int("iters", 10, "timed calls per collective and size")
	warmup := fs.Int("warmup", 2, "untimed calls first")
	stragglerSize := fs.String("straggler-bytes", "64KiB", "all-reduce size of the straggler test (0: skip it)")
	localSize := fs.String("local-size", "128", "local GEMM shape, N or MxNxK: the local benchmark and the fixed local phase of the straggler test")
	localDType := fs.String("local-dtype", "fp32", "local GEMM dtype")
	localRepeats := fs.Int("local-repeats", 10, "timed calls of the local GEMM (0: skip it)")
	resultsDir := fs.String("results-dir", "results", "directory for the rank files and rank 0's merged fleet-<run id>.json")
	metricsOut := fs.String("metrics-out", "", "rank 0: write the figures as a Prometheus text file (written atomically)")
	thresholds := fs.String("thresholds", "", "YAML thresholds file (keyed by instance type, GPU model, default)")
	quiet := fs.Bool("quiet", false, "print only rank 0's summary")
	fault := fs.String("fault", "", "TEST ONLY: inject faults (see FLOPCAST_FLEET_FAULT in bench/fleet/fault.go)")
	if _, err := parseFlags(fs, args, stderr, "usage: flopcast fleet run [flags]"); err != nil {
		return err
	}
	env, err := fleet.DetectEnv(os.Getenv, fleet.Overrides{Rank: rank.v, WorldSize: world.v, LocalRank: local.v, Node: *node, Rendezvous: *rendezvous})
	if err != nil {
		return fleetErr(err)
	}
	switch {
	case *rvTimeout <= 0:
		return usageError("--rendezvous-timeout %v: want a positive duration", *rvTimeout)
	case *opTimeout <= 0:
		return usageError("--timeout %v: want a positive duration", *opTimeout)
	case *threads < 0:
		return usageError("--threads %d: want 0 or more", *threads)
	}
	suite := fleet.Suite{Warmup: *warmup, Iters: *iters, LocalRepeats: *localRepeats, Comm: *comm}
	if suite.Sizes, err = fleet.ParseByteSizes(*sizes); err != nil {
		return usageError("--sizes: %v", err)
	}
	if *stragglerSize != "0" {
		sb, err := fleet.ParseByteSizes(*stragglerSize)
		if err != nil || len(sb) != 1 {
			return usageError("--straggler-bytes %q: want one size, e.g. 64KiB, or 0", *stragglerSize)
		}
		suite.StragglerBytes = sb[0]
	}
	for _, o := range splitList(*ops) {
		suite.Ops = append(suite.Ops, backend.CollectiveOp(o))
	}
	suite.Scopes = splitList(*scopes)
	shapes, err := kernels.ParseShapes(*localSize)
	if err != nil || len(shapes) != 1 {
		return usageError("--local-size %q: want one size N or MxNxK", *localSize)
	}
	suite.Local = shapes[0]
	if suite.LocalDType, err = kernels.ParseDType(*localDType); err != nil {
		return usageError("--local-dtype: %v", err)
	}
	if err := suite.Validate(); err != nil {
		return fleetErr(err)
	}
	if *fault == "" {
		*fault = os.Getenv("FLOPCAST_FLEET_FAULT")
	}
	flt, err := fleet.ParseFault(*fault, env.Rank)
	if err != nil {
		return usageError("--fault: %v", err)
	}
	var th *fleet.Thresholds
	if *thresholds != "" {
		if th, err = fleet.LoadThresholds(*thresholds); err != nil {
			return fleetErr(err)
		}
	}
	if err := os.MkdirAll(*resultsDir, 0o755); err != nil {
		return usageError("--results-dir %s: %v", *resultsDir, err)
	}
	if *metricsOut != "" && env.Rank == 0 {
		if err := result.CheckWritable(*metricsOut); err != nil {
			return usageError("--metrics-out %s: %v", *metricsOut, err)
		}
	}

	// The local device: a GPU process drives the GPU of its local rank.
	dev := strings.ToLower(strings.TrimSpace(*device))
	if dev == "cuda" {
		dev = fmt.Sprintf("cuda:%d", env.LocalRank)
	}
	suite.Device = "cpu"
	if strings.HasPrefix(dev, "cuda") {
		suite.Device = "cuda"
	}
	nthreads := *threads
	if nthreads == 0 {
		nthreads = max(1, runtime.NumCPU()/max(1, env.LocalSize))
	}
	// The collective backend, resolved before the suite's hash is taken:
	// ranks that resolved "auto" differently (NCCL on some nodes only)
	// are refused at the rendezvous as a flag mismatch.
	commName, commNotice, err := chooseComm(strings.ToLower(strings.TrimSpace(*comm)), suite.Device, fleetComms, fleetCommProbes)
	if err != nil {
		return usageError("%v", err)
	}
	suite.Comm = commName
	b, notices, err := hw.Open(dev, nthreads)
	if err != nil {
		return usageError("--device: %v", err)
	}
	if commNotice != "" {
		notices = append(notices, commNotice)
	}
	if !*quiet && env.Rank == 0 {
		for _, n := range notices {
			fmt.Fprintf(stderr, "rank %d: %s\n", env.Rank, n)
		}
	}
	var newComm func(ctx context.Context, rv *fleet.Rendezvous) (backend.Communicator, error)
	if commName != "tcp" {
		mk := fleetComms[commName]
		newComm = func(ctx context.Context, rv *fleet.Rendezvous) (backend.Communicator, error) {
			return mk(ctx, rv, b, flt)
		}
	}
	hostInfo := sysinfo.Local.Host()
	hello := fleet.Hello{Host: hostInfo.Hostname, InstanceType: hostInfo.InstanceType, Version: versionString()}
	if d := b.Device(); d.Kind != "cpu" {
		hello.GPUModel, hello.Driver = d.Name, d.Driver
		if d.UUID != "" {
			hello.GPUUUIDs = []string{d.UUID}
		}
		for _, l := range d.Libraries {
			if strings.Contains(strings.ToLower(l.Name), "cuda") { // libcuda, cudart
				hello.CUDA = l.Version
			}
		}
	}
	for _, h := range fleetHelloHooks {
		h(&hello, b)
	}
	file := bench.NewFile(result.Tool{Version: version, Commit: buildCommit()}, b, nthreads, "fleet", append([]string{"flopcast", "fleet", "run"}, args...))
	var log io.Writer
	if !*quiet {
		log = stderr
	}
	cfg := fleet.Config{
		Env: env, Suite: suite, Hello: hello, Backend: b, NewComm: newComm, File: file, NodeChecks: fleetNodeChecks(b),
		Options:    fleet.Options{Timeout: *rvTimeout, OpTimeout: *opTimeout, RunID: *runID},
		ResultsDir: *resultsDir, Thresholds: th, MetricsOut: *metricsOut, Fault: flt, Log: log,
	}
	out, err := fleet.Run(ctx, cfg)
	if out != nil && out.Merged != nil {
		fleet.Summary(stdout, out.Merged)
		fmt.Fprintf(stdout, "\nmerged file: %s\n", out.MergedPath)
		if *metricsOut != "" {
			fmt.Fprintf(stdout, "metrics: %s\n", *metricsOut)
		}
	} else if out != nil && out.RankFile != "" && !*quiet {
		fmt.Fprintf(stderr, "rank %d: %s\n", env.Rank, out.RankFile)
	}
	if ctx.Err() != nil && err != nil {
		return &exitError{exitInterrupted, fmt.Errorf("interrupted: %v", err)}
	}
	var fe *fleet.FailedError
	if errors.As(err, &fe) {
		return withCode(exitFailure, err)
	}
	return fleetErr(err)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func fleetMergeCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast fleet merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "merged file to write (default: DIR/fleet-<run id>.json)")
	runID := fs.String("run-id", "", "the run to merge when DIR holds several")
	thresholds := fs.String("thresholds", "", "YAML thresholds file for the verdicts")
	metricsOut := fs.String("metrics-out", "", "also write the Prometheus text file")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	// The directory may come before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: flopcast fleet merge DIR [-o FILE] [--run-id ID]")
			fs.PrintDefaults()
			return err
		}
		return usageError("%v", err)
	}
	rest := fs.Args()
	if dir == "" && len(rest) > 0 {
		dir, rest = rest[0], rest[1:]
	}
	if dir == "" || len(rest) > 0 {
		return usageError("fleet merge: want one directory of rank files (flopcast fleet merge DIR -o FILE)")
	}
	var th *fleet.Thresholds
	var err error
	if *thresholds != "" {
		if th, err = fleet.LoadThresholds(*thresholds); err != nil {
			return fleetErr(err)
		}
	}
	merged, used, err := fleet.MergeDir(dir, *runID, th)
	if err != nil {
		return fleetErr(err)
	}
	path := *out
	if path == "" {
		path = filepath.Join(dir, "fleet-"+merged.Fleet.RunID+".json")
	}
	if err := result.Write(path, merged); err != nil {
		return withCode(exitFailure, fmt.Errorf("-o %s: %v", path, err))
	}
	if *metricsOut != "" {
		if err := fleet.WriteMetrics(*metricsOut, merged); err != nil {
			return withCode(exitFailure, fmt.Errorf("--metrics-out %s: %v", *metricsOut, err))
		}
	}
	if !*quiet {
		fleet.Summary(stdout, merged)
		fmt.Fprintf(stdout, "\nmerged %d rank files into %s\n", len(used), path)
	}
	var failed []string
	for _, v := range merged.Fleet.Verdicts {
		if v.Verdict == result.VerdictFail {
			failed = append(failed, v.Node)
		}
	}
	if len(failed) > 0 || len(merged.Fleet.Missing) > 0 {
		return withCode(exitFailure, fmt.Errorf("%d nodes failed (%s), %d ranks missing", len(failed), strings.Join(failed, ", "), len(merged.Fleet.Missing)))
	}
	return nil
}

func fleetManifestCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast fleet manifest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := fleet.ManifestOptions{}
	var extra string
	fs.StringVar(&o.Kind, "kind", "", "job file: sbatch, indexed-job, jobset or mpijob")
	fs.StringVar(&o.Name, "name", "flopcast-fleet", "job name")
	fs.StringVar(&o.Namespace, "namespace", "default", "Kubernetes namespace")
	fs.IntVar(&o.Nodes, "nodes", 2, "nodes")
	fs.IntVar(&o.RanksPerNode, "ranks-per-node", 1, "ranks per node: 1 (one process drives the node) or one per GPU")
	fs.IntVar(&o.GPUsPerNode, "gpus-per-node", 0, "GPUs to request per node (0: a CPU fleet)")
	fs.StringVar(&o.Image, "image", "flopcast:latest", "container image with flopcast on its PATH")
	fs.StringVar(&o.Partition, "partition", "", "Slurm partition")
	fs.StringVar(&o.Time, "time", "00:30:00", "Slurm time limit")
	fs.IntVar(&o.Port, "port", fleet.DefaultPort, "rendezvous port")
	fs.StringVar(&extra, "args", "", "extra 'flopcast fleet run' flags, space-separated")
	if _, err := parseFlags(fs, args, stderr, "usage: flopcast fleet manifest --kind sbatch|indexed-job|jobset|mpijob [flags]"); err != nil {
		return err
	}
	if o.Kind == "" {
		return usageError("--kind: want one of %s", strings.Join(fleet.ManifestKinds, ", "))
	}
	o.Args = strings.Fields(extra)
	return fleetErr(fleet.Manifest(stdout, o))
}
