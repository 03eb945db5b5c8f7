package gpu

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/cuda"
	"github.com/flopcast/flopcast/cuda/blaslt"
	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/cuda/nvrtc"
	"github.com/flopcast/flopcast/kernels"
	"github.com/flopcast/flopcast/kernels/cpu/block"
	kcuda "github.com/flopcast/flopcast/kernels/cuda"
)

var _ backend.BlockBackend = (*Backend)(nil)

// BlockAdamW are the GPU step's optimizer hyper-parameters: the CPU
// step's, so both train the same way.
var BlockAdamW = block.DefaultAdamW

// NewBlockStep implements backend.BlockBackend: the block in fp32, bf16 or
// fp16 storage with fp32 accumulation, fp32 master weights and AdamW
// moments, GEMMs on cuBLASLt, the other kernels from kernels/cuda's
// block.cu compiled by NVRTC for this GPU, unfused attention. Everything
// stays on the device; a configuration whose buffers do not fit in free
// memory is refused before anything is allocated.
func (bk *Backend) NewBlockStep(cfg kernels.BlockConfig, d kernels.DType, seed uint64) (backend.BlockStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prec, err := blockPrecisionFor(d)
	if err != nil {
		return nil, err
	}
	if !bk.Supports(d) {
		return nil, fmt.Errorf("block: %s needs compute capability %.1f, %s has %s: %w", d,
			float64(blaslt.MinComputeCapability(d))/10, bk.info.ID, bk.info.ComputeCapability, cuda.ErrNotSupported)
	}
	if cfg.HeadDim()%2 != 0 {
		return nil, fmt.Errorf("block: head dimension %d must be even on the GPU", cfg.HeadDim())
	}
	ar, pl := blockArena(cfg, prec)
	if avail := bk.MemoryAvailable(); ar.size > avail {
		return nil, fmt.Errorf("block %s %s needs %s of device memory, %s available: %w", cfg, d,
			kernels.FormatBytes(ar.size), kernels.FormatBytes(avail), cuda.ErrOutOfMemory)
	}
	s := &blockStep{bk: bk, cfg: cfg, prec: prec, ar: ar, pl: pl, dims: dimsOf(cfg), opt: BlockAdamW}
	err = bk.ctx.Do(func() error {
		free0, _, err := driver.MemInfo()
		if err != nil {
			return err
		}
		if err := s.load(); err != nil {
			return err
		}
		if s.base, err = driver.Alloc(ar.size); err != nil {
			return err
		}
		if err := s.upload(seed); err != nil {
			return err
		}
		if err := s.buildOps(false); err != nil {
			return err
		}
		for i := 0; i <= len(s.ops); i++ {
			e, err := driver.NewEvent()
			if err != nil {
				return err
			}
			s.events = append(s.events, e)
		}
		if err := bk.stream.Wait(Timeout); err != nil {
			return err
		}
		free1, _, err := driver.MemInfo()
		if err == nil && free0 > free1 {
			s.memory = free0 - free1
		}
		return err
	})
	if err != nil {
		s.Release()
		return nil, fmt.Errorf("block %s %s: %w", cfg, d, err)
	}
	return s, nil
}

// blockStep is one block on the GPU.
type blockStep struct {
	bk   *Backend
	cfg  kernels.BlockConfig
	prec blockPrecision
	ar   *arena
	pl   paramLayout
	dims blockDims
	opt  block.AdamW

	mod    driver.Module
	fns    map[string]driver.Function
	base   driver.Ptr
	ops    []blockOp
	events []driver.Event
	memory int64

	steps int // updates done
	loss  float64
}

// buf returns the device address of an arena buffer.
func (s *blockStep) buf(name string) driver.Ptr {
	off, ok := s.ar.off[name]
	if !ok {
		panic("gpu: no block buffer " + name)
	}
	return s.base.Add(off)
}

// param returns the address of parameter name in the flat buffer region
// (weights, grads, master, adam_m or adam_v).
func (s *blockStep) param(region, name string) driver.Ptr {
	i := s.pl.index(name)
	if i < 0 {
		panic("gpu: no block parameter " + name)
	}
	size := s.prec.size
	if region == "master" || region == "adam_m" || region == "adam_v" {
		size = 4
	}
	if region == "master" && !s.prec.mixed() {
		region = "weights"
	}
	return s.buf(region).Add(s.pl.offset[i] * size)
}

// load compiles block.cu for this GPU and activation type and looks up
// every kernel.
func (s *blockStep) load() error {
	major, minor := s.bk.cc/10, s.bk.cc%10
	out, err := nvrtc.Compile(kcuda.BlockSource, kcuda.BlockSourceName, major, minor, kcuda.BlockActMacro(s.prec.macro))
	if err != nil {
		return err
	}
	if s.mod, err = driver.LoadModule(out.Image); err != nil {
		return err
	}
	s.fns = map[string]driver.Function{}
	for _, k := range kcuda.BlockKernels {
		f, err := s.mod.Function(k)
		if err != nil {
			return err
		}
		s.fns[k] = f
	}
	return nil
}

// upload draws the parameters, input and target from seed exactly as the
// CPU step does (kernels.InitBlockParam in cfg.Params() order, then
// kernels.FillUniform64 for the input and the target) and copies them to
// the device: master weights in fp32, the stored copy, input and target
// in the stored type. Gradients and moments start at zero.
func (s *blockStep) upload(seed uint64) error {
	params, x, target := hostInit(s.cfg, s.pl, seed)
	master := make([]float32, len(params))
	for i, v := range params {
		master[i] = float32(v)
	}

	if err := driver.CopyToDevice(s.buf("weights"), s.encode32(master)); err != nil {
		return err
	}
	if s.prec.mixed() {
		if err := driver.CopyToDevice(s.buf("master"), bytesOf(master)); err != nil {
			return err
		}
	}
	if err := driver.CopyToDevice(s.buf("x"), s.encode64(x)); err != nil {
		return err
	}
	if err := driver.CopyToDevice(s.buf("target"), s.encode64(target)); err != nil {
		return err
	}
	cosT, sinT := ropeTables(s.dims.S, s.dims.hd)
	if err := driver.CopyToDevice(s.buf("cos"), bytesOf(cosT)); err != nil {
		return err
	}
	if err := driver.CopyToDevice(s.buf("sin"), bytesOf(sinT)); err != nil {
		return err
	}
	for _, n := range []string{"grads", "adam_m", "adam_v"} {
		if err := s.bk.stream.Memset32Async(s.buf(n), 0, (s.ar.bytes[n]+3)/4); err != nil {
			return err
		}
	}
	return nil
}

// hostInit draws the parameters (flat, in pl's layout, zeros in the
// gaps), the input and the target from seed as the CPU step does.
func hostInit(cfg kernels.BlockConfig, pl paramLayout, seed uint64) (params, x, target []float64) {
	r := kernels.NewRand(seed)
	params = make([]float64, pl.total)
	for i, p := range pl.params {
		kernels.InitBlockParam(p, r, params[pl.offset[i]:][:p.Size()])
	}
	t := cfg.Tokens() * cfg.Hidden
	x, target = make([]float64, t), make([]float64, t)
	kernels.FillUniform64(r, x)
	kernels.FillUniform64(r, target)
	return params, x, target
}

// ropeTables returns cos and sin of pos·θ^(−2i/headDim), seq × headDim/2,
// computed in float64 as the CPU step does.
func ropeTables(seq, hd int) (cosT, sinT []float32) {
	half := max(hd/2, 1)
	cosT, sinT = make([]float32, seq*half), make([]float32, seq*half)
	for p := 0; p < seq; p++ {
		for i := 0; i < hd/2; i++ {
			sn, cs := math.Sincos(float64(p) * math.Pow(kernels.BlockRopeBase, -2*float64(i)/float64(hd)))
			cosT[p*half+i], sinT[p*half+i] = float32(cs), float32(sn)
		}
	}
	return cosT, sinT
}

// encode32 stores fp32 values in the stored type's bytes.
func (s *blockStep) encode32(v []float32) []byte {
	switch s.prec.dtype {
	case kernels.BF16:
		out := make([]uint16, len(v))
		for i, f := range v {
			out[i] = kernels.BF16FromFloat32(f)
		}
		return bytesOf(out)
	case kernels.FP16:
		out := make([]uint16, len(v))
		for i, f := range v {
			out[i] = kernels.FP16FromFloat32(f)
		}
		return bytesOf(out)
	}
	return bytesOf(v)
}

func (s *blockStep) encode64(v []float64) []byte {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return s.encode32(f)
}

// decode reads stored-type bytes as float64.
func (s *blockStep) decode(b []byte) []float64 {
	n := int64(len(b)) / s.prec.size
	out := make([]float64, n)
	for i := range out {
		switch s.prec.dtype {
		case kernels.BF16:
			out[i] = float64(kernels.BF16ToFloat32(*(*uint16)(unsafe.Pointer(&b[2*i]))))
		case kernels.FP16:
			out[i] = float64(kernels.FP16ToFloat32(*(*uint16)(unsafe.Pointer(&b[2*i]))))
		default:
			out[i] = float64(*(*float32)(unsafe.Pointer(&b[4*i])))
		}
	}
	return out
}

// download copies n stored-type values at p to the host as float64; nil
// on a failed copy.
func (s *blockStep) download(p driver.Ptr, n int64) []float64 {
	b := make([]byte, n*s.prec.size)
	if err := s.bk.ctx.Do(func() error { return driver.CopyToHost(b, p) }); err != nil {
		return nil
	}
	return s.decode(b)
}

// Step implements backend.BlockStep: every op enqueued with an event
// after it, one blocking wait, the loss read back. Phases and kinds are sums of
// the per-op event intervals.
func (s *blockStep) Step() (backend.BlockTiming, error) {
	var tm backend.BlockTiming
	s.steps++
	err := s.bk.ctx.Do(func() error {
		if err := s.events[0].Record(s.bk.stream); err != nil {
			return err
		}
		for i, op := range s.ops {
			if err := s.run(op); err != nil {
				return fmt.Errorf("%s: %w", op.name, err)
			}
			if err := s.events[i+1].Record(s.bk.stream); err != nil {
				return err
			}
		}
		// The driver's blocking wait, not a sleep-poll: the next step's
		// launches follow as soon as this one ends.
		last := s.events[len(s.ops)]
		if err := last.Synchronize(); err != nil {
			return err
		}
		total, err := driver.Elapsed(s.events[0], last)
		if err != nil {
			return err
		}
		tm = backend.BlockTiming{Seconds: total, Phases: map[string]float64{}, Kinds: map[string]float64{}}
		for i, op := range s.ops {
			dt, err := driver.Elapsed(s.events[i], s.events[i+1])
			if err != nil {
				return err
			}
			tm.Phases[op.phase] += dt
			tm.Kinds[op.kind] += dt
		}
		var sum [8]byte
		if err := driver.CopyToHost(sum[:], s.buf("loss")); err != nil {
			return err
		}
		s.loss = *(*float64)(unsafe.Pointer(&sum[0])) / float64(s.dims.T*s.dims.D)
		return nil
	})
	if err != nil {
		s.loss = math.NaN()
		return backend.BlockTiming{}, err
	}
	return tm, nil
}

// Attention implements backend.BlockStep.
func (s *blockStep) Attention() string { return kernels.AttentionUnfused }

// Snapshot implements backend.BlockStep with the stored (rounded) weights,
// input and target: the values the next step computes with.
func (s *blockStep) Snapshot() (map[string][]float64, []float64, []float64) {
	params := map[string][]float64{}
	for _, p := range s.pl.params {
		params[p.Name] = s.download(s.param("weights", p.Name), int64(p.Size()))
	}
	n := int64(s.dims.T * s.dims.D)
	return params, s.download(s.buf("x"), n), s.download(s.buf("target"), n)
}

// Loss implements backend.BlockStep.
func (s *blockStep) Loss() float64 {
	if s.steps == 0 {
		return math.NaN()
	}
	return s.loss
}

// Output implements backend.BlockStep.
func (s *blockStep) Output() []float64 {
	return s.download(s.buf("out"), int64(s.dims.T*s.dims.D))
}

// Gradient implements backend.BlockStep.
func (s *blockStep) Gradient(name string) []float64 {
	if name == "input" {
		return s.download(s.buf("dx"), int64(s.dims.T*s.dims.D))
	}
	i := s.pl.index(name)
	if i < 0 {
		return nil
	}
	return s.download(s.param("grads", name), int64(s.pl.params[i].Size()))
}

// MasterParams returns the fp32 master weights by name (the stored ones
// in fp32 mode), to check the optimizer against the CPU's.
func (s *blockStep) MasterParams() map[string][]float64 {
	out := map[string][]float64{}
	for _, p := range s.pl.params {
		b := make([]byte, 4*p.Size())
		if err := s.bk.ctx.Do(func() error { return driver.CopyToHost(b, s.param("master", p.Name)) }); err != nil {
			return nil
		}
		v := make([]float64, p.Size())
		for i := range v {
			v[i] = float64(*(*float32)(unsafe.Pointer(&b[4*i])))
		}
		out[p.Name] = v
	}
	return out
}

// MemoryBytes implements backend.BlockStep: the free-memory drop over
// building the step (module, buffers, cuBLASLt descriptors, events).
func (s *blockStep) MemoryBytes() int64 { return s.memory }

// Release implements backend.BlockStep.
func (s *blockStep) Release() {
	if s.bk == nil || s.bk.ctx == nil {
		return
	}
	_ = s.bk.ctx.Do(func() error {
		_ = s.bk.stream.Wait(Timeout)
		for _, op := range s.ops {
			if op.g != nil {
				op.g.Destroy()
			}
		}
		s.ops = nil
		for _, e := range s.events {
			e.Destroy()
		}
		s.events = nil
		driver.Free(s.base)
		s.base = 0
		s.mod.Unload()
		s.mod = driver.Module{}
		return nil
	})
}
