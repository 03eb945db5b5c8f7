package cpu

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"

	"github.com/flopcast/flopcast/kernels/cpu/openblas"
)

// BLASInfo describes the BLAS library gorgonia's tensor package runs on.
type BLASInfo struct {
	// Name is "openblas" or "gonum".
	Name string `json:"name"`
	// Path is the shared library loaded, empty for gonum.
	Path string `json:"path,omitempty"`
	// Version is the library's version, e.g. "0.3.21".
	Version string `json:"version,omitempty"`
	// Config is the library's own build description.
	Config string `json:"config,omitempty"`
	// CoreName is the kernel family chosen for this CPU.
	CoreName string `json:"core,omitempty"`
	// Threads is the number of threads a call uses.
	Threads int `json:"threads"`
	// Fallback says why OpenBLAS is not used, empty when it is.
	Fallback string `json:"fallback,omitempty"`
}

// Notice returns a one-line message for the user when the fast BLAS could not
// be used, or "" when it is in use.
func (b BLASInfo) Notice() string {
	if b.Fallback == "" {
		return ""
	}
	return fmt.Sprintf("OpenBLAS not loaded (%s); using gonum's pure-Go BLAS, which is slower", b.Fallback)
}

var engineMu sync.Mutex

// EnvBLAS names an environment variable that, set to "gonum", keeps
// OpenBLAS out even when it is installed (to compare the two, or to test
// the fallback).
const EnvBLAS = "FLOPCAST_BLAS"

// UseFastestBLAS points gorgonia's tensor package at OpenBLAS when it loads,
// else at gonum, and sets the thread count (0: one per logical CPU).
func UseFastestBLAS(threads int) BLASInfo {
	engineMu.Lock()
	defer engineMu.Unlock()
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var lib *openblas.Library
	var err error
	if v := os.Getenv(EnvBLAS); strings.EqualFold(v, "gonum") {
		err = fmt.Errorf("%s=%s", EnvBLAS, v)
	} else {
		lib, err = openblas.Load()
	}
	if err != nil {
		tensor.Use(gonum.Implementation{})
		return BLASInfo{Name: "gonum", Threads: runtime.GOMAXPROCS(0), Fallback: firstLine(err.Error())}
	}
	lib.SetThreads(threads)
	tensor.Use(lib)
	return BLASInfo{
		Name: "openblas", Path: lib.Path, Version: lib.Version(), Config: lib.Config,
		CoreName: lib.CoreName, Threads: lib.Threads(),
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
