// Package fleet runs flopcast on every node of a cluster at once: it reads
// the launch environment that Slurm, MPI, torchrun or Kubernetes set up,
// meets the other ranks at a rendezvous with deadlines, times collectives
// between them (over TCP on CPU nodes), finds stragglers, gives each node a
// verdict and writes per-rank and merged results files. It launches
// nothing itself.
package fleet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Launchers, as Env.Launcher and the results file's fleet.launcher name
// them.
const (
	LauncherSlurm      = "slurm"
	LauncherOpenMPI    = "openmpi"
	LauncherPMI        = "pmi"
	LauncherTorchrun   = "torchrun"
	LauncherKubernetes = "kubernetes"
	LauncherFlags      = "flags"
)

// DefaultPort is the rendezvous port used when the environment names a
// host but no port (Kubernetes, Slurm). Under Slurm the port is
// DefaultPort + job id mod 1000, so two jobs sharing a first node do not
// collide.
const DefaultPort = 29517

// Env is where this process stands in the fleet, as its launcher said.
type Env struct {
	// Launcher names what started the process (LauncherSlurm, ...).
	Launcher string
	// Rank is the world rank, Size the world size.
	Rank, Size int
	// LocalRank and LocalSize are the rank among, and the number of, the
	// processes on this node; NodeRank is the node's index. Where the
	// launcher does not say, they are 0, 0 and -1, and the rendezvous
	// fills them in from the node names (Rendezvous.Env).
	LocalRank, LocalSize, NodeRank int
	// Node is this node's name: --node, else FLOPCAST_NODE (the
	// Kubernetes manifests set it to the node's name), else
	// SLURMD_NODENAME, else the host name.
	Node string
	// JobID is the launcher's job id, where it has one.
	JobID string
	// Rendezvous is rank 0's HOST:PORT.
	Rendezvous string
	// Nodes lists the job's nodes where the launcher says (Slurm), so a
	// node whose ranks never arrive can be named.
	Nodes []string
}

// Overrides are explicit values from flags; a nil pointer or empty string
// is not given. They win over the environment.
type Overrides struct {
	Rank, WorldSize, LocalRank *int
	Node, Rendezvous           string
	// Hostname, when set, replaces os.Hostname (tests).
	Hostname func() (string, error)
}

// BadInputError is a launch environment or flag that cannot be used; the
// command exits 2 on it.
type BadInputError struct{ Msg string }

func (e *BadInputError) Error() string { return e.Msg }

func badInput(format string, args ...any) error {
	return &BadInputError{fmt.Sprintf(format, args...)}
}

// IsBadInput reports whether err is (or wraps) a BadInputError.
func IsBadInput(err error) bool {
	var b *BadInputError
	return errors.As(err, &b)
}

// envReader reads integers from the environment, naming the variable in
// errors.
type envReader struct {
	get func(string) string
	err error
}

func (r *envReader) has(name string) bool { return r.get(name) != "" }

// int reads name; def is returned when it is unset.
func (r *envReader) int(name string, def int) int {
	v := strings.TrimSpace(r.get(name))
	if v == "" || r.err != nil {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.err = badInput("%s=%q: not a non-negative integer", name, v)
		return def
	}
	return n
}

// DetectEnv reads the launch environment through getenv (os.Getenv in the
// program), first match wins: Slurm, Open MPI, PMIx/PMI, torchrun,
// Kubernetes Indexed Job/JobSet, else the flags alone. Explicit flags
// override what the environment says. A bad or inconsistent value is a
// BadInputError naming the variable or flag.
func DetectEnv(getenv func(string) string, flags Overrides) (Env, error) {
	r := &envReader{get: getenv}
	e := Env{NodeRank: -1}
	switch {
	case r.has("SLURM_PROCID") && (r.has("SLURM_NTASKS") || r.has("SLURM_NPROCS")):
		e.Launcher = LauncherSlurm
		e.Rank = r.int("SLURM_PROCID", 0)
		if r.has("SLURM_NTASKS") {
			e.Size = r.int("SLURM_NTASKS", 0)
		} else {
			e.Size = r.int("SLURM_NPROCS", 0)
		}
		e.LocalRank = r.int("SLURM_LOCALID", 0)
		e.NodeRank = r.int("SLURM_NODEID", -1)
		e.JobID = getenv("SLURM_JOB_ID")
		if e.JobID == "" {
			e.JobID = getenv("SLURM_JOBID")
		}
		list, listVar := getenv("SLURM_JOB_NODELIST"), "SLURM_JOB_NODELIST"
		if list == "" {
			list, listVar = getenv("SLURM_NODELIST"), "SLURM_NODELIST"
		}
		if list != "" {
			nodes, err := ExpandHostlist(list)
			if err != nil {
				return Env{}, badInput("%s=%q: %v", listVar, list, err)
			}
			e.Nodes = nodes
		}
		if tpn := getenv("SLURM_TASKS_PER_NODE"); tpn != "" && e.NodeRank >= 0 {
			counts, err := ExpandTasksPerNode(tpn)
			if err != nil {
				return Env{}, badInput("SLURM_TASKS_PER_NODE=%q: %v", tpn, err)
			}
			if e.NodeRank < len(counts) {
				e.LocalSize = counts[e.NodeRank]
			}
		}
		e.Node = getenv("SLURMD_NODENAME")
		if e.Node == "" && e.NodeRank >= 0 && e.NodeRank < len(e.Nodes) {
			e.Node = e.Nodes[e.NodeRank]
		}
		if len(e.Nodes) > 0 {
			port := DefaultPort
			if id, err := strconv.Atoi(e.JobID); err == nil && id >= 0 {
				port += id % 1000
			}
			e.Rendezvous = net.JoinHostPort(e.Nodes[0], strconv.Itoa(port))
		}
	case r.has("OMPI_COMM_WORLD_RANK"):
		// OMPI_COMM_WORLD_NODE_RANK is the process's rank among all jobs
		// on its node, not the node's index: the rendezvous numbers the
		// nodes.
		e.Launcher = LauncherOpenMPI
		e.Rank = r.int("OMPI_COMM_WORLD_RANK", 0)
		e.Size = r.int("OMPI_COMM_WORLD_SIZE", 0)
		e.LocalRank = r.int("OMPI_COMM_WORLD_LOCAL_RANK", 0)
		e.LocalSize = r.int("OMPI_COMM_WORLD_LOCAL_SIZE", 0)
		if r.err == nil && !r.has("OMPI_COMM_WORLD_SIZE") {
			r.err = badInput("OMPI_COMM_WORLD_RANK is set but OMPI_COMM_WORLD_SIZE is not")
		}
	case r.has("PMIX_RANK") || r.has("PMI_RANK"):
		e.Launcher = LauncherPMI
		if r.has("PMIX_RANK") {
			e.Rank = r.int("PMIX_RANK", 0)
		} else {
			e.Rank = r.int("PMI_RANK", 0)
		}
		e.Size = r.int("PMI_SIZE", 0)
		// MPICH's Hydra says the local rank; other PMI launchers leave it
		// to the rendezvous.
		e.LocalRank = r.int("MPI_LOCALRANKID", 0)
		e.LocalSize = r.int("MPI_LOCALNRANKS", 0)
		if r.err == nil && e.Size == 0 && flags.WorldSize == nil {
			r.err = badInput("PMI_SIZE is not set: give --world-size")
		}
	case r.has("RANK") && r.has("WORLD_SIZE"):
		e.Launcher = LauncherTorchrun
		e.Rank = r.int("RANK", 0)
		e.Size = r.int("WORLD_SIZE", 0)
		e.LocalRank = r.int("LOCAL_RANK", 0)
		e.LocalSize = r.int("LOCAL_WORLD_SIZE", 0)
		e.NodeRank = r.int("GROUP_RANK", -1)
		e.JobID = getenv("TORCHELASTIC_RUN_ID")
	case r.has("JOB_COMPLETION_INDEX"):
		e.Launcher = LauncherKubernetes
		e.Rank = r.int("JOB_COMPLETION_INDEX", 0)
		e.Size = r.int("FLOPCAST_WORLD_SIZE", 0)
		if r.err == nil && e.Size == 0 && flags.WorldSize == nil {
			r.err = badInput("JOB_COMPLETION_INDEX is set but FLOPCAST_WORLD_SIZE is not: give --world-size")
		}
		if err := kubeRendezvous(getenv, &e); err != nil && r.err == nil {
			r.err = err
		}
	default:
		if flags.Rank == nil && flags.WorldSize == nil {
			return Env{}, badInput("no launcher found (Slurm, Open MPI, PMI, torchrun, Kubernetes): give --rank and --world-size (and --rendezvous HOST:PORT)")
		}
		e.Launcher = LauncherFlags
	}
	if r.err != nil {
		return Env{}, r.err
	}
	if e.Launcher == LauncherFlags && (flags.Rank == nil || flags.WorldSize == nil) {
		return Env{}, badInput("--rank and --world-size go together when no launcher sets them")
	}
	if flags.Rank != nil {
		e.Rank = *flags.Rank
	}
	if flags.WorldSize != nil {
		e.Size = *flags.WorldSize
	}
	if flags.LocalRank != nil {
		e.LocalRank = *flags.LocalRank
	}
	if v := getenv("FLOPCAST_NODE"); v != "" {
		e.Node = v
	}
	if flags.Node != "" {
		e.Node = flags.Node
	}
	if v := getenv("FLOPCAST_RENDEZVOUS"); v != "" {
		e.Rendezvous = v
	} else if a, p := getenv("MASTER_ADDR"), getenv("MASTER_PORT"); a != "" && p != "" && (e.Launcher != LauncherSlurm || e.Rendezvous == "") {
		e.Rendezvous = net.JoinHostPort(a, p)
	}
	if flags.Rendezvous != "" {
		e.Rendezvous = flags.Rendezvous
	}
	if e.Node == "" {
		host := os.Hostname
		if flags.Hostname != nil {
			host = flags.Hostname
		}
		h, err := host()
		if err != nil || h == "" {
			return Env{}, badInput("cannot tell this node's name (no host name): give --node")
		}
		e.Node = h
	}
	return e, e.validate()
}

// validate checks the ranges that every launcher must respect.
func (e Env) validate() error {
	switch {
	case e.Size < 1:
		return badInput("world size %d: must be at least 1 (%s)", e.Size, sizeSource(e.Launcher))
	case e.Rank < 0 || e.Rank >= e.Size:
		return badInput("rank %d is not below the world size %d (%s)", e.Rank, e.Size, rankSource(e.Launcher))
	case e.Size > MaxWorldSize:
		return badInput("world size %d: more than %d ranks", e.Size, MaxWorldSize)
	case e.LocalSize > 0 && e.LocalRank >= e.LocalSize:
		return badInput("local rank %d is not below the local size %d", e.LocalRank, e.LocalSize)
	case strings.ContainsAny(e.Node, " \t\n\"\\"):
		return badInput("node name %q: no spaces, quotes or backslashes (--node)", e.Node)
	}
	if e.Rendezvous == "" {
		return badInput("no rendezvous address: give --rendezvous HOST:PORT or set FLOPCAST_RENDEZVOUS (or MASTER_ADDR and MASTER_PORT)")
	}
	host, port, err := net.SplitHostPort(e.Rendezvous)
	if err != nil || host == "" {
		return badInput("rendezvous %q: want HOST:PORT (--rendezvous)", e.Rendezvous)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return badInput("rendezvous %q: port must be 1-65535 (--rendezvous)", e.Rendezvous)
	}
	return nil
}

// MaxWorldSize bounds the world size a run accepts.
const MaxWorldSize = 1 << 20

// launcherVars names, per launcher, the variables that set the world
// size and the rank (where a bad value came from).
var launcherVars = map[string]struct{ size, rank string }{
	LauncherSlurm:      {"SLURM_NTASKS", "SLURM_PROCID"},
	LauncherOpenMPI:    {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
	LauncherPMI:        {"PMI_SIZE", "PMIX_RANK/PMI_RANK"},
	LauncherTorchrun:   {"WORLD_SIZE", "RANK"},
	LauncherKubernetes: {"FLOPCAST_WORLD_SIZE", "JOB_COMPLETION_INDEX"},
}

func sizeSource(l string) string {
	if v, ok := launcherVars[l]; ok {
		return v.size
	}
	return "--world-size"
}

func rankSource(l string) string {
	if v, ok := launcherVars[l]; ok {
		return v.rank
	}
	return "--rank"
}

// kubeRendezvous finds rank 0's address in a Kubernetes Indexed Job or
// JobSet: pod 0's stable name in the headless Service.
//
//   - JobSet (JOBSET_NAME set): pod 0 is <jobset>-<replicated job>-0-0 and
//     the Service is named after the JobSet unless FLOPCAST_SERVICE says.
//   - Indexed Job: pod 0 is <job>-0, the job name from FLOPCAST_JOB_NAME
//     (else the pod's host name less its "-<index>" suffix), in the
//     Service FLOPCAST_SERVICE (the pod's subdomain).
//
// The port is FLOPCAST_RENDEZVOUS_PORT, else DefaultPort.
func kubeRendezvous(getenv func(string) string, e *Env) error {
	port := DefaultPort
	if v := getenv("FLOPCAST_RENDEZVOUS_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return badInput("FLOPCAST_RENDEZVOUS_PORT=%q: want a port 1-65535", v)
		}
		port = p
	}
	svc := getenv("FLOPCAST_SERVICE")
	var pod0 string
	if js := getenv("JOBSET_NAME"); js != "" {
		rj := getenv("REPLICATED_JOB_NAME")
		if rj == "" {
			return badInput("JOBSET_NAME is set but REPLICATED_JOB_NAME is not")
		}
		pod0 = js + "-" + rj + "-0-0"
		if svc == "" {
			svc = js
		}
		e.JobID = js
	} else {
		job := getenv("FLOPCAST_JOB_NAME")
		if job == "" {
			h := getenv("HOSTNAME")
			idx := "-" + getenv("JOB_COMPLETION_INDEX")
			if !strings.HasSuffix(h, idx) || len(h) == len(idx) {
				return badInput("JOB_COMPLETION_INDEX is set but the job name is not known: set FLOPCAST_JOB_NAME (or HOSTNAME=<job>-<index>)")
			}
			job = strings.TrimSuffix(h, idx)
		}
		pod0 = job + "-0"
		e.JobID = job
	}
	if svc == "" {
		return badInput("JOB_COMPLETION_INDEX is set but FLOPCAST_SERVICE (the headless Service) is not")
	}
	e.Rendezvous = net.JoinHostPort(pod0+"."+svc, strconv.Itoa(port))
	return nil
}

// maxHosts bounds a hostlist's expansion.
const maxHosts = 1 << 20

// ExpandHostlist expands a Slurm hostlist such as "gpu[001-004,007]" or
// "a[1-2],b3" (or "rack[1-2]-n[01-02]") into host names, keeping zero
// padding.
func ExpandHostlist(list string) ([]string, error) {
	var out []string
	for _, item := range splitTop(list) {
		if item == "" {
			return nil, errors.New("empty host name")
		}
		hosts, err := expandOne(item, len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, hosts...)
	}
	if len(out) == 0 {
		return nil, errors.New("no hosts")
	}
	return out, nil
}

// splitTop splits s on the commas outside brackets.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// expandOne expands one host pattern with zero or more bracket groups.
func expandOne(item string, have int) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if strings.ContainsRune(item, ']') {
			return nil, fmt.Errorf("%q: unbalanced ']'", item)
		}
		return []string{item}, nil
	}
	end := strings.IndexByte(item[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("%q: unbalanced '['", item)
	}
	end += open
	prefix, body, rest := item[:open], item[open+1:end], item[end+1:]
	if strings.ContainsRune(body, '[') {
		return nil, fmt.Errorf("%q: nested '['", item)
	}
	tails, err := expandOne(rest, have)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if lo == "" || hi == "" || err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("%q: bad range %q", item, r)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		if have+len(out)+(b-a+1)*len(tails) > maxHosts {
			return nil, fmt.Errorf("more than %d hosts", maxHosts)
		}
		for n := a; n <= b; n++ {
			for _, t := range tails {
				out = append(out, fmt.Sprintf("%s%0*d%s", prefix, width, n, t))
			}
		}
	}
	return out, nil
}

// ExpandTasksPerNode expands Slurm's SLURM_TASKS_PER_NODE, e.g. "2(x3),1",
// into one count per node.
func ExpandTasksPerNode(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, rep := part, "1"
		if i := strings.IndexByte(part, '('); i >= 0 {
			if !strings.HasPrefix(part[i:], "(x") || !strings.HasSuffix(part, ")") {
				return nil, fmt.Errorf("bad item %q", part)
			}
			n, rep = part[:i], part[i+2:len(part)-1]
		}
		c, err1 := strconv.Atoi(n)
		k, err2 := strconv.Atoi(rep)
		if err1 != nil || err2 != nil || c < 0 || k < 1 || len(out)+k > maxHosts {
			return nil, fmt.Errorf("bad item %q", part)
		}
		for range k {
			out = append(out, c)
		}
	}
	return out, nil
}
