package forecast

import (
	"fmt"
	"math"
	"sort"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Speed is the per-device compute speed a forecast uses: how fast one GPU
// runs a GEMM of a given shape. It comes, in order of preference, from a
// results file's measured GEMM curve, from a sustained figure given on the
// command line, or from the catalog.
type Speed struct {
	// Basis says where the speed came from: "measured", "device-tflops",
	// "catalog-mamf" or "catalog-peak".
	Basis string `json:"basis"`
	// Text is a one-line human description of Basis.
	Text string `json:"text"`
	// Large is the sustained FLOP/s on large GEMMs.
	Large float64 `json:"large_flop_per_second"`
	// Curve holds measured (FLOPs per call, FLOP/s) points sorted by FLOPs;
	// empty unless Basis is "measured".
	Curve []Point `json:"curve,omitempty"`
	// MemoryBytesPerSecond bounds memory-bound GEMMs (roofline) when no
	// curve is measured, and prices element-wise work.
	MemoryBytesPerSecond float64 `json:"memory_bytes_per_second"`
	// Lo and Hi scale the speed for the range: the spread of the
	// measurements, or the stated uncertainty of a default.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// StepEfficiency, when > 0, is a measured step efficiency (from a
	// block measurement) that replaces DefaultStepEfficiency.
	StepEfficiency float64 `json:"step_efficiency,omitempty"`
}

// Point is one measured GEMM throughput.
type Point struct {
	FLOPs         float64 `json:"flops"`
	FLOPPerSecond float64 `json:"flop_per_second"`
	// Lo and Hi are the throughputs at the slow (p75 time) and fast (p25
	// time) quartiles.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// DefaultGEMMEfficiency is the fraction of the dense datasheet peak that
// large GEMMs sustain when the catalog has no measured MAMF figure: the
// median of the MAMF/peak ratios in the catalog's reference (STAS), 80.3 %
// for BF16 and about 74 % for FP8.
func DefaultGEMMEfficiency(dt kernels.DType) float64 {
	if dt == kernels.FP8E4M3 {
		return 0.74
	}
	return 0.80
}

// CatalogSpeed is the speed the catalog implies for g in dtype dt: the
// published MAMF (measured maximum achievable matmul) figure where there is
// one, else the dense peak times DefaultGEMMEfficiency.
func CatalogSpeed(g catalog.GPU, dt kernels.DType) (Speed, error) {
	key := dt.String()
	peak := g.PeakTFLOPS[key]
	if peak == 0 && dt == kernels.BF16 {
		peak = g.PeakTFLOPS["fp16"] // V100: FP16 only
	}
	if peak == 0 {
		return Speed{}, fmt.Errorf("gpu %s has no %s peak in the catalog", g.Name, key)
	}
	s := Speed{MemoryBytesPerSecond: g.MemoryTBps * 1e12, Lo: 0.95, Hi: 1.03}
	if mamf := g.MAMFTFLOPS[key]; mamf > 0 {
		s.Basis = "catalog-mamf"
		s.Large = mamf * 1e12
		s.Text = fmt.Sprintf("catalog default: published %s MAMF of %s, %.1f TFLOP/s (%.1f %% of the %.1f dense peak; STAS)", key, g.Name, mamf, 100*mamf/peak, peak)
	} else {
		e := DefaultGEMMEfficiency(dt)
		s.Basis = "catalog-peak"
		s.Large = peak * e * 1e12
		s.Lo, s.Hi = 0.90, 1.08
		s.Text = fmt.Sprintf("catalog default: %s dense peak %.1f TFLOP/s x %.2f default GEMM efficiency = %.1f TFLOP/s", key, peak, e, peak*e)
	}
	return s, nil
}

// FixedSpeed is a speed given as one sustained TFLOP/s figure.
func FixedSpeed(tflops float64, g catalog.GPU) Speed {
	return Speed{
		Basis: "device-tflops", Large: tflops * 1e12, MemoryBytesPerSecond: g.MemoryTBps * 1e12,
		Lo: 0.95, Hi: 1.03,
		Text: fmt.Sprintf("--device-tflops: %.1f TFLOP/s sustained on large GEMMs (roofline below it for small shapes)", tflops),
	}
}

// MeasuredSpeed builds a speed from the verified GEMM measurements of f in
// dtype dt ("gemm" workload, status "ok"). g gives the memory bandwidth.
// A "block" measurement of the model's layer shape, when present, sets
// StepEfficiency (see BlockEfficiency).
func MeasuredSpeed(f *result.File, dt kernels.DType, g catalog.GPU) (Speed, error) {
	byFLOPs := map[float64][]Point{}
	for _, m := range f.Measurements {
		if m.Workload != "gemm" || m.Status != result.StatusOK || m.DType != dt.String() || m.FLOPPerSecond <= 0 {
			continue
		}
		p := Point{FLOPs: m.FLOPs, FLOPPerSecond: m.FLOPPerSecond, Lo: m.FLOPPerSecond, Hi: m.FLOPPerSecond}
		if s := m.Seconds; s != nil && s.P75 > 0 && s.P25 > 0 {
			p.Lo, p.Hi = m.FLOPs/s.P75, m.FLOPs/s.P25
		}
		byFLOPs[m.FLOPs] = append(byFLOPs[m.FLOPs], p)
	}
	if len(byFLOPs) == 0 {
		return Speed{}, fmt.Errorf("no verified %s GEMM measurements", dt)
	}
	var curve []Point
	for fl, ps := range byFLOPs {
		// Several shapes with the same FLOPs: keep the median throughput.
		sort.Slice(ps, func(i, j int) bool { return ps[i].FLOPPerSecond < ps[j].FLOPPerSecond })
		p := ps[len(ps)/2]
		p.FLOPs = fl
		curve = append(curve, p)
	}
	sort.Slice(curve, func(i, j int) bool { return curve[i].FLOPs < curve[j].FLOPs })
	s := Speed{Basis: "measured", Curve: curve, MemoryBytesPerSecond: g.MemoryTBps * 1e12}
	best := curve[0]
	for _, p := range curve {
		if p.FLOPPerSecond > best.FLOPPerSecond {
			best = p
		}
	}
	s.Large = best.FLOPPerSecond
	s.Lo, s.Hi = 1, 1
	for _, p := range curve {
		s.Lo = min(s.Lo, p.Lo/p.FLOPPerSecond)
		s.Hi = max(s.Hi, p.Hi/p.FLOPPerSecond)
	}
	s.Text = fmt.Sprintf("measured: %d %s GEMM shapes from the results file, interpolated at the model's shapes (best %.1f TFLOP/s)", len(curve), dt, s.Large/1e12)
	return s, nil
}

// rate returns the FLOP/s of one GEMM of the given shape: interpolated in
// log(FLOPs) on a measured curve, otherwise the roofline
// min(Large, intensity × memory bandwidth).
func (s Speed) rate(shape kernels.GEMMShape, elem int) float64 {
	fl := shape.FLOPs()
	if len(s.Curve) > 0 {
		c := s.Curve
		if fl <= c[0].FLOPs {
			return c[0].FLOPPerSecond
		}
		if fl >= c[len(c)-1].FLOPs {
			return c[len(c)-1].FLOPPerSecond
		}
		i := sort.Search(len(c), func(i int) bool { return c[i].FLOPs >= fl })
		a, b := c[i-1], c[i]
		w := (math.Log(fl) - math.Log(a.FLOPs)) / (math.Log(b.FLOPs) - math.Log(a.FLOPs))
		return a.FLOPPerSecond + w*(b.FLOPPerSecond-a.FLOPPerSecond)
	}
	bytes := float64(elem) * (float64(shape.M)*float64(shape.K) + float64(shape.K)*float64(shape.N) + float64(shape.M)*float64(shape.N))
	if s.MemoryBytesPerSecond <= 0 {
		return s.Large
	}
	return min(s.Large, fl/bytes*s.MemoryBytesPerSecond)
}

// seconds returns the time of one GEMM of the given shape.
func (s Speed) seconds(shape kernels.GEMMShape, elem int) float64 {
	if shape.M <= 0 || shape.N <= 0 || shape.K <= 0 {
		return 0
	}
	return shape.FLOPs() / s.rate(shape, elem)
}

// scaled returns s with every throughput multiplied by f.
func (s Speed) scaled(f float64) Speed {
	out := s
	out.Large *= f
	out.Curve = make([]Point, len(s.Curve))
	for i, p := range s.Curve {
		p.FLOPPerSecond *= f
		out.Curve[i] = p
	}
	return out
}

// BlockEfficiency derives a step efficiency from a measured transformer
// block step ("block" workload): its FLOP/s over the kernel-level FLOP/s
// this model predicts for the same layer on one GPU. ok is false when the
// measurement is not a verified block of m's layer shape.
func BlockEfficiency(m kernels.Model, meas result.Measurement, sp Speed, dt kernels.DType) (float64, bool) {
	b := meas.Block
	if meas.Workload != "block" || meas.Status != result.StatusOK || b == nil || meas.FLOPPerSecond <= 0 || meas.DType != dt.String() {
		return 0, false
	}
	if b.Hidden != m.Hidden || b.Heads != m.Heads || b.KVHeads != m.KVHeads || b.FFN != m.FFN || b.Seq != m.Seq || b.Batch <= 0 {
		return 0, false
	}
	l := Layout{TP: 1, PP: 1, DP: 1, CP: 1, EP: 1, MicroBatch: b.Batch, GlobalBatch: b.Batch, Schedule: "1f1b", VirtualStages: 1, Recompute: "none"}
	e := env{m: m, a: archOf(m), k: ModernKernels, sp: sp, lsp: sp, h: hw{domain: 1, intraBps: 1, interBps: 1, elem: dt.Size(), linElem: dt.Size(), stepEfficient: 1}}
	kernelSeconds := e.layer(l, m.IsMoE()).compute
	tokens := float64(b.Batch * m.Seq)
	_, la := m.LayerParams()
	layerFLOPs := (6*(la-2*float64(m.Hidden)) + 6*float64(m.Seq)*float64(m.Hidden)) * tokens // causal attention, as FlashAttention-style MFU counts
	eff := meas.FLOPPerSecond / (layerFLOPs / kernelSeconds)
	if eff <= 0.05 || eff > 1 {
		return 0, false
	}
	return eff, true
}
