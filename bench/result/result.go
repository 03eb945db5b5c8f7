// Package result defines flopcast's results file: a versioned JSON document
// that other flopcast commands (show, compare, report, forecast) and other
// tools read. Files are written atomically and read strictly: a file that is
// not a flopcast results file, or of a newer schema, is refused with a
// one-line error.
package result

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

// SchemaVersion is the version of the layout written by this build. Readers
// accept files of this version and older.
const SchemaVersion = 1

// ToolName is the value of tool.name in every flopcast results file; it is
// how a reader knows the file is ours.
const ToolName = "flopcast"

// File is one results file.
type File struct {
	SchemaVersion int         `json:"schema_version"`
	Tool          Tool        `json:"tool"`
	Created       time.Time   `json:"created"`
	Host          Host        `json:"host"`
	Devices       []Device    `json:"devices"`
	Environment   Environment `json:"environment"`
	// Command is the command line that produced the file.
	Command []string `json:"command,omitempty"`
	// Suite names the suite run, e.g. "standard".
	Suite string `json:"suite,omitempty"`
	// Partial is true when the run was interrupted before it finished.
	Partial      bool          `json:"partial"`
	Measurements []Measurement `json:"measurements"`
	// Fleet describes the fleet run (flopcast fleet run) the file belongs
	// to: one rank's file, or the merged file with the verdicts.
	Fleet *Fleet `json:"fleet,omitempty"`
}

// Tool identifies the program that wrote the file.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// GoVersion is the Go toolchain that built the program.
	GoVersion string `json:"go_version,omitempty"`
}

// Host describes the machine.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Kernel   string `json:"kernel,omitempty"`
	CPUModel string `json:"cpu_model,omitempty"`
	// Cores is the number of logical CPUs the OS shows.
	Cores       int   `json:"cores"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// InstanceType is the cloud instance type (e.g. "p5.48xlarge") when the
	// machine reports one.
	InstanceType string `json:"instance_type,omitempty"`
	// CloudVendor is the system vendor from DMI, e.g. "Amazon EC2".
	CloudVendor string `json:"cloud_vendor,omitempty"`
	// Virtualized is true when the CPU reports running under a hypervisor.
	Virtualized bool `json:"virtualized,omitempty"`
}

// Device describes one compute device the run used or found.
type Device struct {
	// ID is how measurements name the device: "cpu", later "cuda:0".
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Cores is the number of cores (CPU) or multiprocessors (GPU).
	Cores int `json:"cores,omitempty"`
	// SIMD lists the vector extensions that matter for throughput.
	SIMD []string `json:"simd,omitempty"`
	// ClockMHz is the clock used for the peak estimate.
	ClockMHz float64 `json:"clock_mhz,omitempty"`
	// ClockSource says where ClockMHz came from.
	ClockSource string `json:"clock_source,omitempty"`
	// CacheBytes is the last-level cache size.
	CacheBytes  int64 `json:"cache_bytes,omitempty"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// PeakFLOPPerSecond is the dense peak per dtype name.
	PeakFLOPPerSecond map[string]float64 `json:"peak_flop_per_second,omitempty"`
	// PeakBasis says how the peak was obtained.
	PeakBasis string `json:"peak_basis,omitempty"`
	// Library is the math library the device's kernels run on.
	Library *Library `json:"library,omitempty"`
	// GPU fields: identity, architecture and the driver and libraries
	// loaded at run time.
	UUID              string    `json:"uuid,omitempty"`
	ComputeCapability string    `json:"compute_capability,omitempty"`
	Driver            string    `json:"driver,omitempty"`
	Libraries         []Library `json:"libraries,omitempty"`
}

// Library is a math library loaded at run time.
type Library struct {
	Name     string `json:"name"`
	Path     string `json:"path,omitempty"`
	Version  string `json:"version,omitempty"`
	Config   string `json:"config,omitempty"`
	CoreName string `json:"core,omitempty"`
	Threads  int    `json:"threads,omitempty"`
	// Fallback says why the preferred library is not used.
	Fallback string `json:"fallback,omitempty"`
}

// Environment records the settings that change results.
type Environment struct {
	GOMAXPROCS int `json:"gomaxprocs"`
	// Threads is the thread count the kernels were asked to use.
	Threads int `json:"threads"`
	// BLAS is a one-line description of the CPU BLAS, e.g.
	// "openblas 0.3.21 (/usr/lib/.../libopenblas.so.0)".
	BLAS string `json:"blas"`
	// Vars holds environment variables that affect the libraries
	// (OPENBLAS_*, OMP_*, GOMAXPROCS, ...).
	Vars map[string]string `json:"vars,omitempty"`
}

// Measurement statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Measurement is one workload configuration on one device.
type Measurement struct {
	Workload string `json:"workload"`
	// Label names the shape's role, e.g. "square" or "mlp_up".
	Label  string            `json:"label,omitempty"`
	Device string            `json:"device"`
	DType  string            `json:"dtype"`
	Shape  kernels.GEMMShape `json:"shape"`
	// FLOPs is the floating-point operations of one call.
	FLOPs float64 `json:"flops"`
	// Bytes is the least memory traffic of one call.
	Bytes int64 `json:"bytes,omitempty"`
	// Status is "ok", "failed" (the check failed: no throughput is
	// reported) or "skipped" (it could not run; see Notes).
	Status  string         `json:"status"`
	Seconds *stats.Summary `json:"seconds,omitempty"`
	// Samples are the timed call durations in seconds, in run order.
	Samples []float64 `json:"samples,omitempty"`
	// FLOPPerSecond is FLOPs / Seconds.Median; zero unless verified.
	FLOPPerSecond     float64 `json:"flop_per_second"`
	PeakFLOPPerSecond float64 `json:"peak_flop_per_second,omitempty"`
	// BytesPerSecond is Bytes / Seconds.Median for memory workloads
	// ("bandwidth"), with the datasheet figure in PeakBytesPerSecond.
	BytesPerSecond     float64 `json:"bytes_per_second,omitempty"`
	PeakBytesPerSecond float64 `json:"peak_bytes_per_second,omitempty"`
	// Noisy is true when Seconds.RelIQR exceeds stats.NoisyThreshold.
	Noisy  bool `json:"noisy,omitempty"`
	Warmup int  `json:"warmup,omitempty"`
	// BufferSets is the number of operand sets the timed calls rotated
	// through.
	BufferSets int  `json:"buffer_sets,omitempty"`
	Verified   bool `json:"verified"`
	// RelError is ‖out − ref‖₂ / ‖ref‖₂; nil when it is not a number.
	RelError   *float64 `json:"rel_error"`
	ErrorBound float64  `json:"error_bound,omitempty"`
	// VerifyMode is "full", "sampled" (files before Freivalds' test) or
	// "sampled+freivalds"; Compared counts the elements compared with the
	// float64 reference.
	VerifyMode string `json:"verify_mode,omitempty"`
	Compared   int64  `json:"compared,omitempty"`
	// Freivalds is the outcome of Freivalds' test over every output
	// element (verify_mode "sampled+freivalds").
	Freivalds *Freivalds `json:"freivalds,omitempty"`
	Seed      uint64     `json:"seed"`
	// Collective figures (workload "comm" or "p2p"): the operation
	// (backend.CollectiveOp, e.g. "all_reduce"), the scope (ScopeWorld,
	// ...), and algbw and busbw by nccl-tests' formulas in bytes/s
	// (algbw = Bytes / median time; busbw = algbw × the operation's
	// factor). Both are zero unless every output element was right.
	Collective        string  `json:"collective,omitempty"`
	Scope             string  `json:"scope,omitempty"`
	AlgBytesPerSecond float64 `json:"alg_bytes_per_second,omitempty"`
	BusBytesPerSecond float64 `json:"bus_bytes_per_second,omitempty"`
	// WrongElements counts output elements that differed from the exact
	// expected value, over every call on this rank.
	WrongElements int64 `json:"wrong_elements,omitempty"`
	// WaitSeconds holds, per timed call, the time this rank waited inside
	// the collective after a fixed local phase (the late rank waits least).
	WaitSeconds []float64 `json:"wait_seconds,omitempty"`
	// Rank is the world rank that measured this, in fleet files.
	Rank *int `json:"rank,omitempty"`
	// Nodes names the nodes that took part, where it is not every node
	// (a pairwise test's two nodes, an intra-node group's node).
	Nodes []string `json:"nodes,omitempty"`
	// StateBefore and StateAfter record the device's state around the
	// timed calls.
	StateBefore *State `json:"state_before,omitempty"`
	StateAfter  *State `json:"state_after,omitempty"`
	// Peer is the same configuration timed by a reference implementation
	// (PyTorch, a vendor library) in the same run, where one was.
	Peer *Peer `json:"peer,omitempty"`
	// Block holds the figures of a transformer-block training step
	// (workload "block"); nil for other workloads.
	Block *BlockMetrics `json:"block,omitempty"`
	Notes []string      `json:"notes,omitempty"`
	// Timing says how the timed calls were issued: TimingBackToBack (all
	// calls of the window enqueued with no host work between them). Files
	// from the old GPU loop, which waited on the host after every call,
	// lack it; TimingMode reads them as TimingPerCall.
	Timing string `json:"timing,omitempty"`
	// DutyCycle is Σ device time of the timed calls ÷ the window's wall
	// time (1 when the device never idled between calls).
	DutyCycle float64 `json:"duty_cycle,omitempty"`
	// Window is the device's state sampled through the timed window.
	Window *Window `json:"window,omitempty"`
	// FLOPPerSecondPerGHz is FLOPPerSecond ÷ the window's mean SM clock in
	// GHz: clock-normalised efficiency.
	FLOPPerSecondPerGHz float64 `json:"flop_per_second_per_ghz,omitempty"`
	// FLOPPerJoule is FLOPs done in the window ÷ the energy the device
	// used in it (equal to FLOP/s per watt).
	FLOPPerJoule float64 `json:"flop_per_joule,omitempty"`
}

// Freivalds is Freivalds' test of a GEMM's whole output: random vectors
// r and l, C·r against A·(B·r) and lᵀC against (lᵀA)·B in float64, each
// row and column's residual divided by the root-sum-square of its terms.
type Freivalds struct {
	// Rounds is the number of random vectors per side.
	Rounds int `json:"rounds"`
	// Worst is the largest residual ratio over every row, column and
	// round; nil when it is not a finite number (a NaN output).
	Worst *float64 `json:"worst"`
	// Bound is the largest ratio accepted for the dtype.
	Bound float64 `json:"bound"`
	// Where names the row or column of Worst, e.g. "row 17".
	Where string `json:"where,omitempty"`
}

// Timing modes of Measurement.Timing.
const (
	// TimingBackToBack: every call of the window enqueued back to back,
	// one synchronisation at the end (sustained load).
	TimingBackToBack = "back-to-back"
	// TimingPerCall: the host waited after every call, so the device idled
	// between calls (burst timing; clocks stay higher than under load).
	TimingPerCall = "per-call"
)

// TimingMode returns how the timed calls were issued: the Timing field when
// set; else "per-call" for a GPU measurement (device "cuda…", measured by
// the old loop that waited after every call) and "back-to-back" otherwise
// (CPU calls run back to back by construction).
func (m Measurement) TimingMode() string {
	if m.Timing != "" {
		return m.Timing
	}
	if strings.HasPrefix(m.Device, "cuda") {
		return TimingPerCall
	}
	return TimingBackToBack
}

// BurstTiming reports whether m is a GPU measurement not timed back to
// back: its throughput is a burst figure, not a sustained speed.
func (m Measurement) BurstTiming() bool {
	return strings.HasPrefix(m.Device, "cuda") && m.TimingMode() != TimingBackToBack
}

// Range is the mean, least and greatest of a sampled quantity.
type Range struct {
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Window is the device's state sampled through one timed window (GPU:
// NVML every ≤ 50 ms). A field is nil or zero when it could not be read.
type Window struct {
	// Seconds is the window's wall time.
	Seconds     float64 `json:"seconds"`
	SMClockMHz  *Range  `json:"sm_clock_mhz,omitempty"`
	MemClockMHz *Range  `json:"mem_clock_mhz,omitempty"`
	PowerW      *Range  `json:"power_w,omitempty"`
	TempC       *Range  `json:"temp_c,omitempty"`
	// AtPowerCapFraction is the fraction of samples at the power limit
	// (NVML's software power cap reason).
	AtPowerCapFraction float64 `json:"at_power_cap_fraction"`
	// ThrottledFraction is the fraction of samples with a slowdown other
	// than idle, application clocks or the power cap (thermal, hardware
	// slowdown, sync boost, ...).
	ThrottledFraction float64 `json:"throttled_fraction"`
	// EnergyJ is the energy the device used in the window: the difference
	// of its total-energy counter, else the integral of sampled power.
	EnergyJ float64 `json:"energy_j,omitempty"`
	// Samples counts the state readings taken.
	Samples int `json:"samples"`
}

// Peer is a reference implementation's time for the same configuration.
type Peer struct {
	// Name says what ran, e.g. "torch eager" or "cblas_sgemm".
	Name    string  `json:"name"`
	Version string  `json:"version,omitempty"`
	Seconds float64 `json:"seconds"`
	// FLOPPerSecond is the peer's throughput at the same FLOP count.
	FLOPPerSecond float64 `json:"flop_per_second,omitempty"`
	// BytesPerSecond is the peer's throughput at the same byte count.
	BytesPerSecond float64 `json:"bytes_per_second,omitempty"`
	// DutyCycle and Window are the peer's own, measured as for the
	// Measurement, so a ratio can be checked for equal conditions.
	DutyCycle float64 `json:"duty_cycle,omitempty"`
	Window    *Window `json:"window,omitempty"`
}

// BlockMetrics are the figures of one transformer-block training step
// (forward, loss, backward, optimizer update). Measurement.FLOPs holds the
// model FLOPs of one step and Measurement.Seconds the step times.
type BlockMetrics struct {
	Preset  string `json:"preset,omitempty"`
	Arch    string `json:"arch"`
	Hidden  int    `json:"hidden"`
	Heads   int    `json:"heads"`
	KVHeads int    `json:"kv_heads"`
	FFN     int    `json:"ffn"`
	Seq     int    `json:"seq"`
	Batch   int    `json:"batch"`
	// TokensPerSecond is batch·seq / median step time.
	TokensPerSecond float64 `json:"tokens_per_second"`
	// FLOPConvention states how FLOPs were counted (e.g. whether causal
	// masking is credited).
	FLOPConvention string `json:"flop_convention,omitempty"`
	// MFU is FLOPPerSecond / the dense peak of the dtype.
	MFU float64 `json:"mfu,omitempty"`
	// Attention names the attention implementation that ran.
	Attention string `json:"attention,omitempty"`
	// PhaseSeconds splits the median step by phase: forward, backward,
	// optimizer.
	PhaseSeconds map[string]float64 `json:"phase_seconds,omitempty"`
	// KindSeconds splits it by kernel kind: gemm, attention, other.
	KindSeconds map[string]float64 `json:"kind_seconds,omitempty"`
	// MemoryBytes is the peak memory measured; MemoryEstimateBytes the
	// analytic estimate (weights, gradients, optimizer states,
	// activations).
	MemoryBytes         int64 `json:"memory_bytes,omitempty"`
	MemoryEstimateBytes int64 `json:"memory_estimate_bytes,omitempty"`
	// MemoryPlannedBytes is what the device's buffers take by its own
	// plan, where it has one (the GPU); the estimate counts only what a
	// step must keep.
	MemoryPlannedBytes int64 `json:"memory_planned_bytes,omitempty"`
	// Loss is the loss of the first step.
	Loss float64 `json:"loss,omitempty"`
}

// State is a snapshot of a device's clocks, temperature and load.
type State struct {
	Time time.Time `json:"time"`
	// ClockMHz is the mean current core clock, where the OS reports one.
	ClockMHz float64 `json:"clock_mhz,omitempty"`
	// TempC is the hottest temperature sensor, where there is one.
	TempC float64 `json:"temp_c,omitempty"`
	// PowerW is the power draw, where known.
	PowerW float64 `json:"power_w,omitempty"`
	// Load1 is the one-minute load average.
	Load1 float64 `json:"load1,omitempty"`
	// MemClockMHz is the memory clock, where the device reports one.
	MemClockMHz float64 `json:"mem_clock_mhz,omitempty"`
	// Throttled is true when the device reported a slowdown (thermal,
	// hardware, power brake, ...). GPU files written before the power cap
	// was told apart (the H200 files of 2026-11-26) also set it for the
	// power cap; SlowedDown reads both right.
	Throttled bool `json:"throttled,omitempty"`
	// PowerCapped is true when a GPU ran at its power limit (NVML's
	// sw_power_cap), the usual state of a fully loaded card.
	PowerCapped bool     `json:"power_capped,omitempty"`
	Reasons     []string `json:"throttle_reasons,omitempty"`
	// ThrottleEvents is a running count of throttling events the OS keeps
	// (e.g. core_throttle_count on Intel CPUs); a rise between two states
	// means the device throttled in between.
	ThrottleEvents int64 `json:"throttle_events,omitempty"`
}

// SlowedDown reports whether the device ran below the clocks it could for
// a reason other than its power limit or a clock setting. With reasons
// recorded (GPUs), it reads them; without (CPUs), it trusts Throttled.
func (s *State) SlowedDown() bool {
	if s == nil || !s.Throttled {
		return false
	}
	if len(s.Reasons) == 0 {
		return true
	}
	for _, r := range s.Reasons {
		if !benignReason(r) {
			return true
		}
	}
	return false
}

// AtPowerLimit reports whether a GPU ran at its power limit.
func (s *State) AtPowerLimit() bool {
	if s == nil {
		return false
	}
	return s.PowerCapped || slices.Contains(s.Reasons, "sw_power_cap")
}

// benignReason says whether a clock-event reason is one that SlowedDown
// does not count: idleness, clock settings, the power cap, and the memory
// clock that older files listed among the reasons.
func benignReason(r string) bool {
	switch r {
	case "gpu_idle", "applications_clocks_setting", "display_clock_setting", "sw_power_cap":
		return true
	}
	return strings.HasPrefix(r, "mem_clock_")
}

// StateNotes returns the notes a measurement gets from the device states
// around it: a slowdown (or a rise of the OS's throttle count), and a GPU
// at its power limit with the SM clock it ran down to.
func StateNotes(before, after State) []string {
	var notes []string
	if before.SlowedDown() || after.SlowedDown() || after.ThrottleEvents > before.ThrottleEvents {
		notes = append(notes, "throttled during the measurement")
	}
	if before.AtPowerLimit() || after.AtPowerLimit() {
		n := "at the power limit during the measurement (sw_power_cap)"
		if after.ClockMHz > 0 {
			n += fmt.Sprintf(": SM clock %.0f MHz after it", after.ClockMHz)
		}
		notes = append(notes, n)
	}
	return notes
}

// Fleet workloads and collective scopes.
const (
	// WorkloadComm is a collective among ranks; WorkloadP2P a send/recv
	// between two ranks or a device-to-device copy.
	WorkloadComm = "comm"
	WorkloadP2P  = "p2p"

	// ScopeIntraNode: the ranks that share one node.
	ScopeIntraNode = "intra_node"
	// ScopeWorld: every rank.
	ScopeWorld = "world"
	// ScopeInterNode: one rank per node (the network only).
	ScopeInterNode = "inter_node"
	// ScopePair: two nodes, one rank each (pairwise node test); a second
	// pass against a known-good partner tells a bad node from a bad link.
	ScopePair = "pair"
)

// Fleet verdicts.
const (
	VerdictPass = "PASS"
	VerdictFail = "FAIL"
	VerdictSkip = "SKIP"
)

// Fleet is the fleet block of a results file: which run, how it was
// launched, who took part, and in the merged file the verdicts.
type Fleet struct {
	// RunID names the run; the merged file is fleet-<run_id>.json.
	RunID string `json:"run_id"`
	// Launcher is what started the processes: "slurm", "openmpi", "pmi",
	// "torchrun", "kubernetes" or "flags".
	Launcher  string `json:"launcher"`
	WorldSize int    `json:"world_size"`
	// Rank is the rank that wrote this file; nil in the merged file.
	Rank *int `json:"rank,omitempty"`
	// Backend names the collective backend, e.g. "tcp" or "nccl 2.21.5".
	Backend string      `json:"backend,omitempty"`
	Ranks   []FleetRank `json:"ranks"`
	// Missing lists the ranks that never arrived or sent no results.
	Missing []int `json:"missing_ranks,omitempty"`
	// Stragglers lists the ranks whose figures stood out from the fleet.
	Stragglers []Straggler `json:"stragglers,omitempty"`
	// Verdicts holds one entry per node (merged file only).
	Verdicts []Verdict `json:"verdicts,omitempty"`
	// Thresholds says where the verdicts' thresholds came from.
	Thresholds string `json:"thresholds,omitempty"`
}

// FleetRank is one process of a fleet run, as it introduced itself.
type FleetRank struct {
	Rank      int    `json:"rank"`
	LocalRank int    `json:"local_rank"`
	NodeRank  int    `json:"node_rank"`
	Node      string `json:"node"`
	Host      string `json:"host"`
	// InstanceType is the cloud instance type, where known.
	InstanceType string `json:"instance_type,omitempty"`
	// GPUModel is the GPU's name ("NVIDIA H200"); empty on CPU ranks.
	GPUModel string   `json:"gpu_model,omitempty"`
	GPUUUIDs []string `json:"gpu_uuids,omitempty"`
	Driver   string   `json:"driver,omitempty"`
	CUDA     string   `json:"cuda,omitempty"`
	NCCL     string   `json:"nccl,omitempty"`
	// Version is the flopcast version the rank ran.
	Version string `json:"version"`
	// SuiteHash is a hash of the suite flags; every rank must agree.
	SuiteHash string `json:"suite_hash,omitempty"`
}

// Straggler is a rank whose figure stood out from the fleet median.
type Straggler struct {
	Rank int    `json:"rank"`
	Node string `json:"node"`
	// Check names the figure: "wait" (least wait inside collectives after
	// the fixed local phase: arrived late), "local_gemm" (local benchmark
	// slower than the fleet), "link" (a pair's bandwidth).
	Check string `json:"check"`
	// Measured is the rank's figure ("wait": how late it arrived, the
	// median over the calls), FleetMedian the fleet's, Threshold the
	// limit it passed.
	Measured    float64 `json:"measured"`
	FleetMedian float64 `json:"fleet_median"`
	Threshold   float64 `json:"threshold,omitempty"`
	Unit        string  `json:"unit"`
	// PValue is the Mann–Whitney test's, where one was run.
	PValue  float64 `json:"p_value,omitempty"`
	Message string  `json:"message,omitempty"`
}

// Verdict is one node's pass/fail with its reasons.
type Verdict struct {
	Node    string   `json:"node"`
	Verdict string   `json:"verdict"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// Reason is one check behind a verdict.
type Reason struct {
	Check     string  `json:"check"`
	Measured  float64 `json:"measured"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	// Source says where the threshold came from (thresholds file, the
	// catalog with its citation, the fleet median).
	Source  string `json:"source,omitempty"`
	Message string `json:"message,omitempty"`
}
