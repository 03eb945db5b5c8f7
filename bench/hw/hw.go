// Package hw finds the devices flopcast can run on and opens the one the
// user asked for. It is the only place that wires backends together.
package hw

import (
	"fmt"
	"strings"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/backend/cpu"
)

// Devices lists the --device values this build accepts.
var Devices = []string{"auto", "cpu"}

// UnsupportedDeviceError reports a --device value this build cannot open.
type UnsupportedDeviceError struct{ Device string }

func (e *UnsupportedDeviceError) Error() string {
	if d := strings.ToLower(e.Device); d == "gpu" || d == "cuda" || strings.HasPrefix(d, "cuda:") {
		return fmt.Sprintf("device %q: this build has no GPU backend yet; use auto or cpu", e.Device)
	}
	return fmt.Sprintf("unknown device %q (known: %s)", e.Device, strings.Join(Devices, ", "))
}

// Open returns the backend for a --device value and notices for the user
// (one line each), such as a missing fast BLAS. "auto" picks the best
// device found: the CPU until the GPU backend exists.
func Open(device string, threads int) (backend.Backend, []string, error) {
	switch strings.ToLower(device) {
	case "auto", "cpu", "":
		b := cpu.New(threads)
		var notices []string
		if n := b.BLAS().Notice(); n != "" {
			notices = append(notices, n)
		}
		return b, notices, nil
	}
	return nil, nil, &UnsupportedDeviceError{Device: device}
}
