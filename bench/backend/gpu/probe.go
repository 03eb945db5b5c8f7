package gpu

import (
	"fmt"
	"strings"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nvml"
	"github.com/flopcast/flopcast/cuda/nvrtc"
)

// LibraryStatus is what became of one NVIDIA library.
type LibraryStatus struct {
	Name    string `json:"name"`
	Loaded  bool   `json:"loaded"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	// Source says where it was found (FLOPCAST_CUDA_PATH, loader, ...).
	Source string `json:"source,omitempty"`
	// Error says why it is not loaded; Tried lists every path tried and
	// why each failed.
	Error string   `json:"error,omitempty"`
	Tried []string `json:"tried,omitempty"`
}

// Probe is the GPU side of "flopcast devices".
type Probe struct {
	// Status is one line: the GPU count, or why there is no GPU.
	Status    string          `json:"status"`
	Libraries []LibraryStatus `json:"libraries"`
	Devices   []result.Device `json:"devices,omitempty"`
}

// splitTried splits a library-not-found message into its head and the
// attempts it lists.
func splitTried(msg string) (string, []string) {
	if i := strings.Index(msg, "; tried: "); i >= 0 {
		return msg[:i], strings.Split(msg[i+len("; tried: "):], "; ")
	}
	return msg, nil
}

func status(name string, err error, path, version, source string) LibraryStatus {
	if err != nil {
		head, tried := splitTried(err.Error())
		return LibraryStatus{Name: name, Error: head, Tried: tried}
	}
	return LibraryStatus{Name: name, Loaded: true, Path: path, Version: version, Source: source}
}

// ProbeSystem loads what it can of the NVIDIA libraries and describes
// every GPU, without creating a context on any.
func ProbeSystem() Probe {
	var p Probe
	dl, derr := driver.Load()
	dv, _ := driver.DriverVersion()
	ver := ""
	if derr == nil {
		ver = "CUDA " + driver.FormatVersion(dv)
	}
	if derr != nil && dl.Path != "" {
		// Loaded, but cuInit failed (no GPU, driver mismatch).
		p.Libraries = append(p.Libraries, LibraryStatus{Name: "cuda driver", Loaded: true, Path: dl.Path, Source: dl.Source, Error: derr.Error()})
	} else {
		p.Libraries = append(p.Libraries, status("cuda driver", derr, dl.Path, ver, dl.Source))
	}
	lt, err := blaslt.Load()
	p.Libraries = append(p.Libraries, status("cublasLt", err, lt.Path, lt.VersionString(), lt.Source))
	rtc, err := nvrtc.Load()
	p.Libraries = append(p.Libraries, status("nvrtc", err, rtc.Path, rtc.VersionString(), rtc.Source))
	nv, err := nvml.DriverVersion()
	nvl := nvml.Loaded()
	p.Libraries = append(p.Libraries, status("nvml", err, nvl.Path, nv, nvl.Source))

	n, err := Available()
	if err != nil {
		p.Status = NoDriverReason(err)
		return p
	}
	p.Status = fmt.Sprintf("%d GPU(s), driver %s", n, ver)
	if nv != "" {
		p.Status = fmt.Sprintf("%d GPU(s), driver %s (%s)", n, nv, ver)
	}
	for i := 0; i < n; i++ {
		d, err := driver.GetDevice(i)
		if err != nil {
			continue
		}
		info, cc, _, err := describe(d)
		if err != nil {
			continue
		}
		if pk, ok := LookupPeak(info.Name, cc); ok {
			info.PeakFLOPPerSecond = pk.FLOPPerSecond()
			info.PeakBasis = pk.Source + ", " + pk.Model
		} else {
			info.PeakBasis = "unknown GPU: no datasheet peak"
		}
		p.Devices = append(p.Devices, info)
	}
	return p
}
