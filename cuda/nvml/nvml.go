// Package nvml is a thin adapter over github.com/NVIDIA/go-nvml, which
// loads libnvidia-ml.so.1 at run time: one GPU's clocks, power,
// temperature, throttle reasons, ECC error count and PCIe and NVLink
// state, in plain Go values. Without the library, Open fails cleanly with
// an error; nothing else needs it.
package nvml

import (
	"fmt"
	"math"
	"sync"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/internal/dl"
)

// Spec is how libnvidia-ml is searched: FLOPCAST_CUDA_PATH, the loader's
// path, then the distribution's directories (it comes with the driver, so
// the toolkit and Python wheels are not searched). A candidate must export
// the functions every use of NVML needs; one that does not is skipped.
var Spec = dl.Spec{Name: "nvml", Sonames: []string{"libnvidia-ml.so.1"}, Driver: true, Require: [][]string{
	{"nvmlInit_v2", "nvmlInit"}, {"nvmlShutdown"}, {"nvmlErrorString"},
	{"nvmlSystemGetDriverVersion"}, {"nvmlDeviceGetHandleByUUID"},
}}

var (
	initOnce sync.Once
	lib      gonvml.Interface
	initErr  error
	loaded   Library
	symbols  sync.Map // symbol name → bool: exported by the loaded library
)

// Library says which libnvidia-ml was loaded and why it was chosen.
type Library struct {
	// Path is the file loaded; Source says where it was found (see
	// dl.Candidates).
	Path, Source string
}

// Loaded returns the library in use, once a call has loaded it; the zero
// Library when none is.
func Loaded() Library {
	if load() != nil {
		return Library{}
	}
	return loaded
}

// load finds a libnvidia-ml that exports what Spec requires (probed with
// our own dlopen, RTLD_LAZY|RTLD_LOCAL) and only then lets go-nvml open
// that exact file. go-nvml opens its library with RTLD_GLOBAL and calls
// its functions through lazily bound references: a file of the same name
// without them (e.g. a stray libnvidia-ml.so.1 on LD_LIBRARY_PATH) would
// make the dynamic linker abort the whole process at the first call.
func load() error {
	initOnce.Do(func() {
		path, cand, err := dl.Probe(Spec)
		if err != nil {
			initErr = err
			return
		}
		l := gonvml.New(gonvml.WithLibraryPath(path))
		if rc := l.Init(); rc != gonvml.SUCCESS {
			initErr = wrap("nvmlInit", rc)
			return
		}
		lib = l
		loaded = Library{Path: path, Source: cand.Source}
	})
	return initErr
}

// HasSymbol reports whether the loaded libnvidia-ml exports the function
// name (e.g. "nvmlDeviceGetTotalEnergyConsumption"). Every go-nvml call
// beyond Spec's required functions must be guarded by it: calling one the
// library lacks aborts the process (older drivers lack newer functions).
func HasSymbol(name string) bool {
	if load() != nil {
		return false
	}
	if v, ok := symbols.Load(name); ok {
		return v.(bool)
	}
	ok := lib.Extensions().LookupSymbol(name) == nil
	symbols.Store(name, ok)
	return ok
}

func wrap(op string, rc gonvml.Return) error {
	return cuda.NewError(cuda.LibNVML, op, int(rc), gonvml.ErrorString(rc))
}

// DriverVersion returns the driver version string, e.g. "550.54.15".
func DriverVersion() (string, error) {
	if err := load(); err != nil {
		return "", err
	}
	v, rc := lib.SystemGetDriverVersion()
	if rc != gonvml.SUCCESS {
		return "", wrap("nvmlSystemGetDriverVersion", rc)
	}
	return v, nil
}

// Monitor reads one GPU's state.
type Monitor struct{ dev gonvml.Device }

// Open finds the GPU with the given UUID ("GPU-...", as the CUDA driver
// reports it).
func Open(uuid string) (*Monitor, error) {
	if err := load(); err != nil {
		return nil, err
	}
	d, rc := lib.DeviceGetHandleByUUID(uuid)
	if rc != gonvml.SUCCESS {
		return nil, fmt.Errorf("nvml: GPU %s: %w", uuid, wrap("nvmlDeviceGetHandleByUUID", rc))
	}
	return &Monitor{dev: d}, nil
}

// State is a snapshot of a GPU. Zero fields were not reported.
type State struct {
	SMClockMHz, MemClockMHz float64
	TempC, PowerW           float64
	// Reasons are the active clock-event (throttle) reasons.
	Reasons []string
	// Throttled is true when a slowdown holds the clocks down: thermal,
	// hardware slowdown, power brake, sync boost, board or reliability
	// limits.
	Throttled bool
	// PowerCapped is true when the board's power limit holds the clocks
	// down (sw_power_cap): the usual state of a fully loaded H100 or H200,
	// reported apart from the slowdowns above.
	PowerCapped bool
	// ECCUncorrected counts uncorrected ECC errors since the driver loaded.
	ECCUncorrected uint64
}

// State samples the GPU: the readings of Read (zero where one could not be
// read) and the uncorrected ECC count.
func (m *Monitor) State() State {
	r := m.Read()
	var s State
	for _, f := range []struct {
		from float64
		to   *float64
	}{{r.SMClockMHz, &s.SMClockMHz}, {r.MemClockMHz, &s.MemClockMHz}, {r.TempC, &s.TempC}, {r.PowerW, &s.PowerW}} {
		if !math.IsNaN(f.from) {
			*f.to = f.from
		}
	}
	if r.ReasonsOK {
		s.Reasons, s.Throttled = ThrottleReasons(r.Reasons)
		s.PowerCapped = r.Reasons&powerCapBit != 0
	}
	if HasSymbol("nvmlDeviceGetTotalEccErrors") {
		if v, rc := m.dev.GetTotalEccErrors(gonvml.MEMORY_ERROR_TYPE_UNCORRECTED, gonvml.VOLATILE_ECC); rc == gonvml.SUCCESS {
			s.ECCUncorrected = v
		}
	}
	return s
}

// Links describes the GPU's host and peer links.
type Links struct {
	PCIeGen, PCIeWidth int
	// NVLinks counts the NVLink links that are up.
	NVLinks int
}

// Links reads the PCIe link and counts active NVLinks.
func (m *Monitor) Links() Links {
	var l Links
	if HasSymbol("nvmlDeviceGetCurrPcieLinkGeneration") {
		if v, rc := m.dev.GetCurrPcieLinkGeneration(); rc == gonvml.SUCCESS {
			l.PCIeGen = v
		}
	}
	if HasSymbol("nvmlDeviceGetCurrPcieLinkWidth") {
		if v, rc := m.dev.GetCurrPcieLinkWidth(); rc == gonvml.SUCCESS {
			l.PCIeWidth = v
		}
	}
	for i := 0; i < gonvml.NVLINK_MAX_LINKS && HasSymbol("nvmlDeviceGetNvLinkState"); i++ {
		st, rc := m.dev.GetNvLinkState(i)
		if rc != gonvml.SUCCESS {
			break
		}
		if st == gonvml.FEATURE_ENABLED {
			l.NVLinks++
		}
	}
	return l
}

// powerCapBit is nvmlClocksEventReasonSwPowerCap.
const powerCapBit = 0x4

// throttleBits are NVML's clock-event reason bits (nvml.h,
// nvmlClocksEventReason*, as shipped in go-nvml v0.13.4-1), with whether
// each is a slowdown. The power cap is not: a card under full load runs at
// its power limit by design (State.PowerCapped says so). Board limit and
// reliability are policies that limit the clocks (newer drivers).
var throttleBits = []struct {
	bit      uint64
	name     string
	throttle bool
}{
	{0x1, "gpu_idle", false},
	{0x2, "applications_clocks_setting", false},
	{powerCapBit, "sw_power_cap", false},
	{0x8, "hw_slowdown", true},
	{0x10, "sync_boost", true},
	{0x20, "sw_thermal_slowdown", true},
	{0x40, "hw_thermal_slowdown", true},
	{0x80, "hw_power_brake_slowdown", true},
	{0x100, "display_clock_setting", false},
	{0x200, "board_limit", true},
	{0x400, "reliability", true},
}

// ThrottleReasons names the bits set in an NVML clock-event reason mask
// and reports whether any of them is a slowdown.
func ThrottleReasons(mask uint64) (names []string, throttled bool) {
	for _, b := range throttleBits {
		if mask&b.bit != 0 {
			names = append(names, b.name)
			throttled = throttled || b.throttle
		}
	}
	if rest := mask &^ 0x7ff; rest != 0 {
		names = append(names, fmt.Sprintf("other_%#x", rest))
	}
	return names, throttled
}
