package fake

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Device is one of several fake devices of a multi-device test: a Backend
// with its own ID that records which OS threads its calls ran on, whether
// it was closed, and calls OnRun (when set) before every GEMM call.
type Device struct {
	*Backend
	// ID is the device's ID, e.g. "cuda:2".
	ID string
	// OnRun is called before every GEMM call with the device's ID; it may
	// block (a rendezvous) or cancel a context.
	OnRun func(id string)

	mu      sync.Mutex
	threads map[int]bool
	closed  atomic.Bool
}

var _ backend.Backend = (*Device)(nil)

// NewDevices returns n fake devices "cuda:0".."cuda:n-1", each with its
// own Backend made by newBackend(i).
func NewDevices(n int, newBackend func(i int) *Backend) []*Device {
	out := make([]*Device, n)
	for i := range out {
		out[i] = &Device{Backend: newBackend(i), ID: "cuda:" + strconv.Itoa(i)}
	}
	return out
}

// Touch records the calling OS thread; Open and every GEMM call do it.
func (d *Device) Touch() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.threads == nil {
		d.threads = map[int]bool{}
	}
	d.threads[threadID()] = true
}

// Threads returns the OS thread IDs the device's calls ran on; empty where
// the platform does not say.
func (d *Device) Threads() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for t := range d.threads {
		if t != 0 {
			out = append(out, t)
		}
	}
	return out
}

// Closed reports whether Close was called.
func (d *Device) Closed() bool { return d.closed.Load() }

// Device implements backend.Backend with the device's own ID.
func (d *Device) Device() result.Device {
	r := d.Backend.Device()
	r.ID, r.Kind, r.Name = d.ID, "gpu", "Fake GPU"
	return r
}

// NewGEMM implements backend.Backend.
func (d *Device) NewGEMM(s kernels.GEMMShape, dt kernels.DType, sets int, seed uint64) (backend.GEMM, error) {
	d.Touch()
	g, err := d.Backend.NewGEMM(s, dt, sets, seed)
	if err != nil {
		return nil, err
	}
	return &deviceGEMM{GEMM: g, d: d}, nil
}

// Close implements backend.Backend.
func (d *Device) Close() error {
	d.Touch()
	d.closed.Store(true)
	return d.Backend.Close()
}

type deviceGEMM struct {
	backend.GEMM
	d *Device
}

func (g *deviceGEMM) Run(s int) (float64, error) {
	g.d.Touch()
	if g.d.OnRun != nil {
		g.d.OnRun(g.d.ID)
	}
	return g.GEMM.Run(s)
}
