package gpu

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/kernels"
)

// Algorithm search: how many the heuristic is asked for, how many timed
// calls each candidate gets, and the time the whole search may take
// before the remaining candidates are dropped.
const (
	searchAlgos  = 8
	searchCalls  = 3
	searchBudget = 3 * time.Second
)

// maxForcedRank bounds the heuristic list asked for when --lt-algo names
// a rank; a larger rank is refused as past the list.
const maxForcedRank = 63

type operands struct{ a, b, c driver.Ptr }

// gemm is one GEMM problem on the GPU.
type gemm struct {
	bk     *Backend
	plan   blaslt.Plan
	mm     *blaslt.Matmul
	sets   []operands
	scales driver.Ptr // fp8: the inverse scales of A and B, float32
	a, b   hostMatrix
	out    hostMatrix
	algo   int
	tried  int
	// forced is true when --lt-algo chose algo (no search).
	forced bool
	// trial holds each candidate's median trial time in seconds, by
	// heuristic rank; 0 for one that failed or was not tried.
	trial []float64
}

var _ backend.WindowGEMM = (*gemm)(nil)

// fitSets returns how many operand sets of setBytes fit in free bytes
// (at most want), and an error naming the need when not even one does.
func fitSets(want int, setBytes, free int64) (int, error) {
	if setBytes > free {
		return 0, fmt.Errorf("needs %.1f GiB, %.1f GiB free: %w", float64(setBytes)/(1<<30), float64(max(free, 0))/(1<<30), cuda.ErrOutOfMemory)
	}
	return max(1, min(want, int(free/setBytes))), nil
}

// NewGEMM implements backend.Backend: random inputs quantised to d on the
// host and uploaded to every operand set, and the fastest of the
// algorithms cuBLASLt's heuristic proposes.
func (bk *Backend) NewGEMM(shape kernels.GEMMShape, d kernels.DType, sets int, seed uint64) (backend.GEMM, error) {
	if !bk.Supports(d) {
		return nil, fmt.Errorf("%s needs compute capability %.1f, %s has %s: %w", d,
			float64(blaslt.MinComputeCapability(d))/10, bk.info.ID, bk.info.ComputeCapability, cuda.ErrNotSupported)
	}
	p, err := blaslt.NewPlan(shape, d)
	if err != nil {
		return nil, err
	}
	ab, bb, cb := p.Bytes()
	n, err := fitSets(max(sets, 1), ab+bb+cb, bk.MemoryAvailable())
	if err != nil {
		return nil, err
	}
	g := &gemm{bk: bk, plan: p}
	var invA, invB float32
	g.a, g.b, invA, invB = hostOperands(p, seed)
	g.out = newOutput(d, shape.M, shape.N)
	err = bk.ctx.Do(func() error {
		for i := 0; i < n; i++ {
			o, err := allocSet(ab, bb, cb)
			if err != nil {
				if i > 0 && isOOM(err) { // keep the sets that fit
					break
				}
				return err
			}
			g.sets = append(g.sets, o)
			if err := driver.CopyToDevice(o.a, g.a.bytes); err != nil {
				return err
			}
			if err := driver.CopyToDevice(o.b, g.b.bytes); err != nil {
				return err
			}
		}
		if d == kernels.FP8E4M3 {
			if g.scales, err = driver.Alloc(256); err != nil {
				return err
			}
			if err := driver.CopyToDevice(g.scales, scaleBytes(invA, invB)); err != nil {
				return err
			}
		}
		want := searchAlgos
		if bk.forceAlgo >= 0 {
			want = max(want, min(bk.forceAlgo+1, maxForcedRank+1))
		}
		g.mm, err = bk.lt.NewMatmul(p, bk.workspace, Workspace, g.scales, g.scales.Add(scaleStride), want)
		if err != nil {
			return err
		}
		if bk.forceAlgo >= 0 {
			return g.useAlgo(bk.forceAlgo)
		}
		return g.pickAlgo()
	})
	if err != nil {
		g.Release()
		return nil, err
	}
	return g, nil
}

// allocSet allocates one operand set, freeing what it got on failure.
func allocSet(ab, bb, cb int64) (operands, error) {
	var o operands
	var err error
	if o.a, err = driver.Alloc(ab); err == nil {
		if o.b, err = driver.Alloc(bb); err == nil {
			if o.c, err = driver.Alloc(cb); err == nil {
				return o, nil
			}
			driver.Free(o.b)
		}
		driver.Free(o.a)
	}
	return operands{}, err
}

func isOOM(err error) bool { return err != nil && errors.Is(err, cuda.ErrOutOfMemory) }

// pickAlgo times each candidate briefly (one untimed call, then
// searchCalls timed ones) and keeps the one with the least median.
func (g *gemm) pickAlgo() error {
	start := time.Now()
	best, bestT := -1, 0.0
	var firstErr error
	g.trial = make([]float64, len(g.mm.Algos))
	for i := range g.mm.Algos {
		if i > 0 && time.Since(start) > searchBudget {
			break
		}
		g.tried++
		t, err := g.timeAlgo(i, searchCalls)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		g.trial[i] = t
		if best < 0 || t < bestT {
			best, bestT = i, t
		}
	}
	if best < 0 {
		return fmt.Errorf("no cuBLASLt algorithm ran: %w", firstErr)
	}
	g.algo = best
	return nil
}

// useAlgo keeps the heuristic's candidate rank with no search (--lt-algo),
// after one call to see that it runs.
func (g *gemm) useAlgo(rank int) error {
	if rank >= len(g.mm.Algos) {
		return fmt.Errorf("--lt-algo %d: cuBLASLt's heuristic proposed %d algorithm(s) for %s %s (ranks 0..%d): %w",
			rank, len(g.mm.Algos), g.plan.DType, g.plan.Shape, len(g.mm.Algos)-1, cuda.ErrNotSupported)
	}
	if _, err := g.run(rank, 0); err != nil {
		return err
	}
	g.algo, g.forced = rank, true
	return nil
}

// timeAlgo runs algorithm i once untimed, then calls calls back to back
// in one window (as the timed window will run them), and returns the
// median seconds.
func (g *gemm) timeAlgo(i, calls int) (float64, error) {
	if _, err := g.run(i, 0); err != nil {
		return 0, err
	}
	n := len(g.sets)
	w, err := g.bk.pipe.run(calls, func(c int) error {
		o := g.sets[(c+1)%n]
		return g.mm.Run(i, o.a, o.b, o.c, g.bk.stream)
	})
	if err != nil {
		return 0, err
	}
	ts := slices.Clone(w.Samples)
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}

// run times one call of algorithm i on set s with events, waiting for it
// with the driver's blocking synchronisation (no sleep-poll); the context
// must be current. Used for the check, the algorithm trials and Run; timed
// windows go through RunWindow.
func (g *gemm) run(i, s int) (float64, error) {
	o := g.sets[s]
	bk := g.bk
	if err := g.mm.RunTimed(i, o.a, o.b, o.c, bk.stream, bk.start, bk.stop); err != nil {
		return 0, err
	}
	if err := bk.stop.Synchronize(); err != nil {
		return 0, fmt.Errorf("%s %s: %w", g.plan.DType, g.plan.Shape, err)
	}
	return driver.Elapsed(bk.start, bk.stop)
}

// RunWindow implements backend.WindowGEMM: calls calls of the chosen
// algorithm, the i-th on set i % Sets(), enqueued back to back with an
// event pair around each (pre-created), one blocking wait at the end.
func (g *gemm) RunWindow(calls int) (backend.WindowTiming, error) {
	var w backend.WindowTiming
	err := g.bk.ctx.Do(func() error {
		o := g.sets
		n := len(o)
		var err error
		w, err = g.bk.pipe.run(calls, func(i int) error {
			s := o[i%n]
			return g.mm.Run(g.algo, s.a, s.b, s.c, g.bk.stream)
		})
		if err != nil {
			return fmt.Errorf("%s %s: %w", g.plan.DType, g.plan.Shape, err)
		}
		return nil
	})
	return w, err
}

// Sets implements backend.GEMM.
func (g *gemm) Sets() int { return len(g.sets) }

// Poison implements backend.GEMM: C of set s filled with NaN in its type.
func (g *gemm) Poison(s int) {
	_ = g.bk.ctx.Do(func() error {
		_, _, cb := g.plan.Bytes()
		var err error
		if cb%4 == 0 {
			err = g.bk.stream.Memset32Async(g.sets[s].c, kernels.PoisonBits32, cb/4)
		} else {
			err = g.bk.stream.Memset16Async(g.sets[s].c, uint16(kernels.PoisonBits32&0xffff), cb/2)
		}
		if err != nil {
			return err
		}
		return g.bk.stream.Wait(Timeout)
	})
}

// Run implements backend.GEMM with the chosen algorithm, timed by events.
func (g *gemm) Run(s int) (float64, error) {
	var t float64
	err := g.bk.ctx.Do(func() error {
		var err error
		t, err = g.run(g.algo, s)
		return err
	})
	return t, err
}

// Operands implements backend.GEMM: the host inputs and C of set s
// downloaded.
func (g *gemm) Operands(s int) (a, b, c kernels.Matrix) {
	err := g.bk.ctx.Do(func() error { return driver.CopyToHost(g.out.bytes, g.sets[s].c) })
	if err != nil {
		// Leave the output poisoned so the check fails and says why.
		for i := range g.out.bytes {
			g.out.bytes[i] = 0xff
		}
	}
	return g.a.m, g.b.m, g.out.m
}

// Notes says which algorithm won, for the measurement.
func (g *gemm) Notes() []string {
	if g.mm == nil || len(g.mm.Algos) == 0 {
		return nil
	}
	a := g.mm.Algos[g.algo]
	if g.forced {
		return []string{fmt.Sprintf("cublasLt algorithm: heuristic #%d (algo id %d, %.2f waves, %d MiB workspace) forced by --lt-algo, no search",
			a.Rank, a.ID, a.Waves, a.Workspace>>20)}
	}
	notes := []string{fmt.Sprintf("cublasLt algorithm: heuristic #%d (algo id %d, %.2f waves, %d MiB workspace) fastest of %d tried of %d proposed",
		a.Rank, a.ID, a.Waves, a.Workspace>>20, g.tried, len(g.mm.Algos))}
	if n := searchNote(g.trial, g.algo); n != "" {
		notes = append(notes, n)
	}
	return notes
}

// searchNote compares, from the brief trials, the heuristic's first choice
// (what a library call without a search, such as cublasLtMatmul with the
// top heuristic result, would run) with the algorithm kept; "" when the
// first choice won or was not timed.
func searchNote(trial []float64, chosen int) string {
	if chosen <= 0 || chosen >= len(trial) || len(trial) == 0 || trial[0] <= 0 || trial[chosen] <= 0 {
		return ""
	}
	us := func(t float64) string { return fmt.Sprintf("%.1f µs", t*1e6) }
	return fmt.Sprintf("search: heuristic #0 took %s in the trials, heuristic #%d %s (%.1f%% faster)",
		us(trial[0]), chosen, us(trial[chosen]), 100*(trial[0]/trial[chosen]-1))
}

// Release implements backend.GEMM.
func (g *gemm) Release() {
	_ = g.bk.ctx.Do(func() error {
		if g.mm != nil {
			g.mm.Destroy()
			g.mm = nil
		}
		for _, o := range g.sets {
			driver.Free(o.a)
			driver.Free(o.b)
			driver.Free(o.c)
		}
		g.sets = nil
		if g.scales != 0 {
			driver.Free(g.scales)
			g.scales = 0
		}
		return nil
	})
}
