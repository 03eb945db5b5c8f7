package gpu

import (
	"runtime"
	"sync"
	"testing"

	"github.com/flopcast/flopcast/bench/verify"
	"github.com/flopcast/flopcast/kernels"
)

// TestEveryGPUAtOnce opens every GPU concurrently, each on its own locked
// OS thread as "--device all" does, and runs a checked GEMM on each.
func TestEveryGPUAtOnce(t *testing.T) {
	requireCUDA(t) // skips without a GPU
	n, _ := Available()
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			b, err := Open(i)
			if err != nil {
				errs[i] = err.Error()
				return
			}
			defer b.Close()
			d := kernels.BF16
			if !b.Supports(d) {
				d = kernels.FP32
			}
			g, err := b.NewGEMM(kernels.Square(1024), d, 2, uint64(i))
			if err != nil {
				errs[i] = err.Error()
				return
			}
			defer g.Release()
			g.Poison(1)
			if _, err := g.Run(1); err != nil {
				errs[i] = err.Error()
				return
			}
			a, bm, c := g.Operands(1)
			if rep := verify.GEMM(a, bm, c, d, 1); !rep.Passed {
				errs[i] = rep.Reason
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("cuda:%d: %s", i, e)
		}
	}
}
