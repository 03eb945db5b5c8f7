package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
)

// NewFile starts a results file for a run on b: tool, host, device and
// environment filled in, no measurements yet.
func NewFile(tool result.Tool, b backend.Backend, threads int, suite string, command []string) *result.File {
	dev := b.Device()
	tool.Name = result.ToolName
	if tool.GoVersion == "" {
		tool.GoVersion = runtime.Version()
	}
	env := result.Environment{GOMAXPROCS: runtime.GOMAXPROCS(0), Threads: threads, Vars: sysinfo.LibraryVars()}
	if lib := dev.Library; lib != nil {
		env.BLAS = lib.Name
		if lib.Version != "" {
			env.BLAS += " " + lib.Version
		}
		if lib.Path != "" {
			env.BLAS += fmt.Sprintf(" (%s)", lib.Path)
		}
		if env.Threads == 0 {
			env.Threads = lib.Threads
		}
	}
	return &result.File{
		SchemaVersion: result.SchemaVersion,
		Tool:          tool,
		Created:       time.Now().UTC().Truncate(time.Second),
		Host:          sysinfo.Local.Host(),
		Devices:       []result.Device{dev},
		Environment:   env,
		Command:       command,
		Suite:         suite,
		Measurements:  []result.Measurement{},
	}
}
