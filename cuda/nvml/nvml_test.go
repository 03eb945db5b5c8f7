package nvml

import (
	"errors"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/cuda/internal/dl"
)

func TestThrottleReasons(t *testing.T) {
	cases := []struct {
		mask      uint64
		names     string
		throttled bool
	}{
		{0, "", false},
		{0x1, "gpu_idle", false},
		{0x4, "sw_power_cap", false},
		{0x4 | 0x20, "sw_power_cap sw_thermal_slowdown", true},
		{0x1 | 0x40, "gpu_idle hw_thermal_slowdown", true},
		{0x2 | 0x100, "applications_clocks_setting display_clock_setting", false},
		{0x10000, "other_0x10000", false},
		{0x200, "board_limit", true},
		{0x1 | 0x400 | 0x800, "gpu_idle reliability other_0x800", true},
	}
	for _, c := range cases {
		names, th := ThrottleReasons(c.mask)
		if strings.Join(names, " ") != c.names || th != c.throttled {
			t.Errorf("ThrottleReasons(%#x) = %v, %v; want %q, %v", c.mask, names, th, c.names, c.throttled)
		}
	}
}

func TestOpenWithoutLibraryFailsCleanly(t *testing.T) {
	m, err := Open("GPU-00000000-0000-0000-0000-000000000000")
	if err == nil {
		t.Skipf("NVML found a GPU with a zero UUID: %+v", m.State())
	}
	if _, err := DriverVersion(); err == nil {
		t.Skip("NVML is installed here")
	}
	if !strings.Contains(err.Error(), "libnvidia-ml.so.1") || !errors.Is(err, dl.ErrNotFound) && !strings.Contains(err.Error(), "nvml") {
		t.Errorf("error does not name libnvidia-ml: %v", err)
	}
	if Loaded() != (Library{}) || HasSymbol("nvmlInit_v2") {
		t.Errorf("no library, yet Loaded() = %+v or HasSymbol is true", Loaded())
	}
}
