// Package nvml is a thin adapter over github.com/NVIDIA/go-nvml, which
// loads libnvidia-ml.so.1 at run time: one GPU's clocks, power,
// temperature, throttle reasons, ECC error count and PCIe and NVLink
// state, in plain Go values. Without the library, Open fails cleanly with
// an error; nothing else needs it.
package nvml

import (
	"fmt"
	"sync"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/flopcast/flopcast/cuda"
)

var (
	initOnce sync.Once
	lib      gonvml.Interface
	initErr  error
)

func load() error {
	initOnce.Do(func() {
		l := gonvml.New()
		if rc := l.Init(); rc != gonvml.SUCCESS {
			initErr = wrap("nvmlInit", rc)
			return
		}
		lib = l
	})
	return initErr
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

// State samples the GPU.
func (m *Monitor) State() State {
	var s State
	if v, rc := m.dev.GetClockInfo(gonvml.CLOCK_SM); rc == gonvml.SUCCESS {
		s.SMClockMHz = float64(v)
	}
	if v, rc := m.dev.GetClockInfo(gonvml.CLOCK_MEM); rc == gonvml.SUCCESS {
		s.MemClockMHz = float64(v)
	}
	if v, rc := m.dev.GetTemperature(gonvml.TEMPERATURE_GPU); rc == gonvml.SUCCESS {
		s.TempC = float64(v)
	}
	if v, rc := m.dev.GetPowerUsage(); rc == gonvml.SUCCESS {
		s.PowerW = float64(v) / 1000
	}
	mask, rc := m.dev.GetCurrentClocksEventReasons()
	if rc != gonvml.SUCCESS {
		mask, rc = m.dev.GetCurrentClocksThrottleReasons()
	}
	if rc == gonvml.SUCCESS {
		s.Reasons, s.Throttled = ThrottleReasons(mask)
		s.PowerCapped = mask&powerCapBit != 0
	}
	if v, rc := m.dev.GetTotalEccErrors(gonvml.MEMORY_ERROR_TYPE_UNCORRECTED, gonvml.VOLATILE_ECC); rc == gonvml.SUCCESS {
		s.ECCUncorrected = v
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
	if v, rc := m.dev.GetCurrPcieLinkGeneration(); rc == gonvml.SUCCESS {
		l.PCIeGen = v
	}
	if v, rc := m.dev.GetCurrPcieLinkWidth(); rc == gonvml.SUCCESS {
		l.PCIeWidth = v
	}
	for i := 0; i < gonvml.NVLINK_MAX_LINKS; i++ {
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
