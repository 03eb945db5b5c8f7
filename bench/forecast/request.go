package forecast

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// Request is a forecast as a user asks for it, by catalog names and
// counts; Resolve turns it into an Input: the hardware (instance or GPU,
// links, price), the cluster size, and the per-device speed (a results
// file, the newest one measured on this GPU, a given figure or the
// catalog). Errors name the command-line flag of the field at fault.
type Request struct {
	Model  kernels.Model
	Tokens float64
	DType  kernels.DType
	// GPU and Instance are catalog names; at least one is needed.
	GPU, Instance string
	// GPUs or Nodes (instances of the node's size) give the cluster.
	GPUs, Nodes int
	// Commit picks a committed-use price ("1y", "3y") of the instance.
	Commit string
	// Price (USD per GPU-hour) and Discount (fraction) replace or reduce
	// the catalog price when their Set flag is true.
	Price, Discount       float64
	PriceSet, DiscountSet bool
	// From is a results file; ResultsDir is searched for the newest file
	// measured on this GPU when From is empty and DeviceTFLOPS is zero.
	From, ResultsDir string
	// DeviceTFLOPS, when > 0, is a sustained large-GEMM figure.
	DeviceTFLOPS float64
	// AllowBurst accepts GPU measurements not timed back to back.
	AllowBurst bool
	// PowerW, when > 0, is the given draw per GPU.
	PowerW float64
}

// Resolve returns the forecast input of r (model, tokens, hardware,
// cluster, speed, power); layout, kernels and the remaining defaults are
// left for the caller.
func (r Request) Resolve(c *catalog.Catalog) (Input, error) {
	in := Input{Model: r.Model, Tokens: r.Tokens, DType: r.DType}
	if in.DType == 0 {
		in.DType = kernels.BF16
	}
	if err := r.hardware(c, &in); err != nil {
		return in, err
	}
	var from *result.File
	if r.From != "" {
		f, err := result.Read(r.From)
		if err != nil {
			return in, fmt.Errorf("--from: %v", err)
		}
		from = f
	}
	// A fleet file (issue 15) gives measured link speeds
	// (measured_comm.go); its GEMMs give the speed only on this GPU.
	if err := r.useFleetLinks(c, &in, from); err != nil {
		return in, err
	}
	if err := r.speed(c, &in, from); err != nil {
		return in, err
	}
	if r.PowerW > 0 {
		in.PowerW, in.PowerSource = r.PowerW, fmt.Sprintf("power: --power %.0f W per GPU", r.PowerW)
	}
	return in, nil
}

// finite reports whether v is a usable positive figure below limit.
func finite(v, limit float64) bool { return v > 0 && !math.IsNaN(v) && v < limit }

func (r Request) hardware(c *catalog.Catalog, in *Input) error {
	if r.GPU == "" && r.Instance == "" {
		return fmt.Errorf("--gpu or --instance: give the hardware (see flopcast catalog)")
	}
	kind := ""
	if r.Commit != "" {
		if r.Commit != "1y" && r.Commit != "3y" {
			return fmt.Errorf("--commit %q: want 1y or 3y", r.Commit)
		}
		if r.Instance == "" {
			return fmt.Errorf("--commit %s: needs --instance (commitment prices belong to an instance type)", r.Commit)
		}
		kind = r.Commit
	}
	var h Hardware
	var src, warn []string
	perNode := 8
	if r.Instance != "" {
		inst, err := c.Instance(r.Instance)
		if err != nil {
			return fmt.Errorf("--instance: %v", err)
		}
		if h, src, warn, err = InstanceHardware(c, inst, kind); err != nil {
			return fmt.Errorf("--commit: %v", err)
		}
		if r.GPU != "" {
			g, err := c.GPU(r.GPU)
			if err != nil {
				return fmt.Errorf("--gpu: %v", err)
			}
			if g.Name != h.GPU.Name {
				return fmt.Errorf("--gpu %s: the %s has %s GPUs", r.GPU, inst.Name, h.GPU.Name)
			}
		}
		perNode = inst.GPUs
	} else {
		g, err := c.GPU(r.GPU)
		if err != nil {
			return fmt.Errorf("--gpu: %v", err)
		}
		h, src, warn = GPUHardware(c, g)
	}
	gpus := r.GPUs
	if gpus < 0 {
		return fmt.Errorf("--gpus %d: must be > 0", gpus)
	}
	if gpus > MaxGPUs {
		return fmt.Errorf("--gpus %d: more than %d GPUs, beyond any cluster this forecast describes", gpus, MaxGPUs)
	}
	if r.Nodes != 0 {
		if r.Nodes < 0 {
			return fmt.Errorf("--nodes %d: must be > 0", r.Nodes)
		}
		if r.Nodes > MaxGPUs/perNode {
			return fmt.Errorf("--nodes %d: more than %d GPUs, beyond any cluster this forecast describes", r.Nodes, MaxGPUs)
		}
		if gpus > 0 && gpus != r.Nodes*perNode {
			return fmt.Errorf("--nodes %d x %d GPUs per node = %d, not --gpus %d", r.Nodes, perNode, r.Nodes*perNode, gpus)
		}
		gpus = r.Nodes * perNode
	}
	in.GPUs = gpus
	if r.PriceSet {
		if !finite(r.Price, 1e6) || r.Price < 1e-3 {
			return fmt.Errorf("--price %g: want a price per GPU-hour from $0.001 to $1,000,000", r.Price)
		}
		h.PricePerGPUHour = r.Price
		src = append(src, fmt.Sprintf("price: --price $%.4g per GPU-hour", r.Price))
	}
	if r.DiscountSet {
		if !(r.Discount >= 0 && r.Discount < 1) {
			return fmt.Errorf("--discount %g: want a fraction in [0, 1)", r.Discount)
		}
		h.PricePerGPUHour *= 1 - r.Discount
		src = append(src, fmt.Sprintf("discount %.0f %% applied: $%.4g per GPU-hour", 100*r.Discount, h.PricePerGPUHour))
	}
	in.Hardware = h
	in.Sources = append(in.Sources, src...)
	in.Warnings = append(in.Warnings, warn...)
	return nil
}

// speed picks the per-device speed: --from, then --device-tflops, then
// the newest results file of this GPU under the results directory, then
// the catalog. For fp8 the linear layers get the fp8 speed (measured
// where the file has fp8 GEMMs, else the catalog's) and the rest bf16.
// from is the file r.From, already read.
func (r Request) speed(c *catalog.Catalog, in *Input, from *result.File) error {
	g := in.Hardware.GPU
	if r.DeviceTFLOPS != 0 {
		if !finite(r.DeviceTFLOPS, 1e9) {
			return fmt.Errorf("--device-tflops %g: must be > 0", r.DeviceTFLOPS)
		}
		if r.DeviceTFLOPS < 0.001 {
			return fmt.Errorf("--device-tflops %g: below 1 GFLOP/s, no training run finishes", r.DeviceTFLOPS)
		}
		if peak := g.PeakTFLOPS[in.DType.String()]; peak > 0 && r.DeviceTFLOPS > peak {
			return fmt.Errorf("--device-tflops %g: above the %s dense %s peak of %g", r.DeviceTFLOPS, g.Name, in.DType, peak)
		}
	}
	if r.From != "" {
		name, ok := deviceOf(from)
		if !ok {
			return fmt.Errorf("--from %s: no verified GEMM measurements", r.From)
		}
		matched, isGPU := c.MatchDevice(name)
		if !isGPU || matched.Name != g.Name {
			return fmt.Errorf("--from %s: measured on %q, not a %s; pass the matching --gpu/--instance, or --device-tflops", r.From, name, g.Name)
		}
		return r.useFile(from, r.From, in)
	}
	if r.DeviceTFLOPS > 0 {
		in.Speed = FixedSpeed(r.DeviceTFLOPS, g)
		if in.DType == kernels.FP8E4M3 {
			in.LinearSpeed = in.Speed
			if bf, err := CatalogSpeed(g, kernels.BF16); err == nil {
				in.Speed = bf
			}
		}
		return nil
	}
	dir := r.ResultsDir
	if dir == "" {
		dir = "results"
	}
	path, f, skipped := NewestResults(dir, c, g.Name, in.DType, r.AllowBurst)
	in.Warnings = append(in.Warnings, skipped...)
	if f != nil {
		return r.useFile(f, path, in)
	}
	sp, err := CatalogSpeed(g, kernels.BF16)
	if err != nil {
		return fmt.Errorf("--dtype: %v", err)
	}
	in.Speed = sp
	if in.DType == kernels.FP8E4M3 {
		if in.LinearSpeed, err = CatalogSpeed(g, kernels.FP8E4M3); err != nil {
			return fmt.Errorf("--dtype: %v", err)
		}
	}
	in.Warnings = append(in.Warnings, fmt.Sprintf("no measured %s results (no --from, no usable file for %s under %s/): using the catalog default speed", g.Name, g.Name, dir))
	return nil
}

// useFile takes the speed (and power) from a results file.
func (r Request) useFile(f *result.File, path string, in *Input) error {
	g := in.Hardware.GPU
	if err := CheckResults(f, g, r.AllowBurst); err != nil {
		return fmt.Errorf("--from %s: %v", path, err)
	}
	bf, err := MeasuredSpeed(f, kernels.BF16, g)
	if err != nil && in.DType != kernels.FP8E4M3 {
		return fmt.Errorf("--from %s: %v", path, err)
	}
	if err != nil {
		if bf, err = CatalogSpeed(g, kernels.BF16); err != nil {
			return fmt.Errorf("--from %s: %v", path, err)
		}
		in.Warnings = append(in.Warnings, fmt.Sprintf("%s has no bf16 GEMMs: attention and the output layer use the catalog's bf16 speed", path))
	} else {
		bf.Text += " (" + path + ")"
	}
	for _, meas := range f.Measurements {
		if eff, ok := BlockEfficiency(in.Model, meas, bf, kernels.BF16); ok {
			bf.StepEfficiency = eff
			bf.Text += fmt.Sprintf("; measured block step gives step efficiency %.2f", eff)
			break
		}
	}
	in.Speed = bf
	if in.DType == kernels.FP8E4M3 {
		f8, err := MeasuredSpeed(f, kernels.FP8E4M3, g)
		if err != nil {
			if f8, err = CatalogSpeed(g, kernels.FP8E4M3); err != nil {
				return fmt.Errorf("--dtype fp8: %v", err)
			}
			in.Warnings = append(in.Warnings, fmt.Sprintf("%s has no fp8 GEMMs: linear layers use the catalog's fp8 speed", path))
		} else {
			f8.Text += " (" + path + ")"
		}
		in.LinearSpeed = f8
	}
	if r.PowerW == 0 {
		if w, how := MeasuredPower(f); w > 0 {
			in.PowerW, in.PowerSource = w, fmt.Sprintf("power: %.0f W per GPU, %s in %s", w, how, path)
		} else {
			in.Warnings = append(in.Warnings, fmt.Sprintf("%s sampled no power through its timed windows (a reading after a window is the idling GPU): energy uses the TDP default", path))
		}
	}
	return nil
}

// CheckResults refuses a results file whose GEMM measurements cannot be a
// speed: a verified measurement with no FLOPs or no time, one faster than
// the GPU's dense peak of its dtype, or (unless allowBurst) a GPU
// measurement timed per call rather than back to back (a burst figure,
// not a sustained speed).
func CheckResults(f *result.File, g catalog.GPU, allowBurst bool) error {
	for i, m := range f.Measurements {
		if m.Workload != "gemm" || m.Status != result.StatusOK {
			continue
		}
		if !(m.FLOPs > 0) || !(m.FLOPPerSecond > 0) || math.IsInf(m.FLOPPerSecond, 0) {
			return fmt.Errorf("measurement %d (%s %v) has flops %g and %g FLOP/s: not a speed", i, m.DType, m.Shape, m.FLOPs, m.FLOPPerSecond)
		}
		if peak := g.PeakTFLOPS[m.DType]; peak > 0 && m.FLOPPerSecond > peak*1e12 {
			return fmt.Errorf("measurement %d (%s %v) claims %.1f TFLOP/s, %.0f %% of the %s dense %s peak of %g: impossible", i, m.DType, m.Shape, m.FLOPPerSecond/1e12, 100*m.FLOPPerSecond/(peak*1e12), g.Name, m.DType, peak)
		}
		if !allowBurst && m.BurstTiming() && trainingDType(m.DType) {
			return fmt.Errorf("burst timing: measurement %d (%s %v) was timed per call, not back to back, so it is not a sustained speed (re-measure, or pass --allow-burst)", i, m.DType, m.Shape)
		}
	}
	return nil
}

// trainingDType reports whether a GEMM dtype can give a forecast's speed.
func trainingDType(dt string) bool {
	switch dt {
	case "bf16", "fp16", kernels.FP8E4M3.String():
		return true
	}
	return false
}

// deviceOf returns the name of the device the file's verified GEMM
// measurements ran on.
func deviceOf(f *result.File) (string, bool) {
	for _, m := range f.Measurements {
		if m.Workload != "gemm" || m.Status != result.StatusOK {
			continue
		}
		for _, d := range f.Devices {
			if d.ID == m.Device {
				return d.Name, true
			}
		}
		return m.Device, true
	}
	return "", false
}

// NewestResults returns the results file under dir measured on the
// catalog GPU gpu with the latest measured (created) date, not the latest
// name, among those that pass CheckResults; skipped says which files of
// that GPU were passed over and why.
func NewestResults(dir string, c *catalog.Catalog, gpu string, dt kernels.DType, allowBurst bool) (string, *result.File, []string) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(paths)
	var bestPath string
	var best *result.File
	var skipped []string
	for _, p := range paths {
		f, err := result.Read(p)
		if err != nil {
			continue
		}
		name, ok := deviceOf(f)
		if !ok {
			continue
		}
		g, ok := c.MatchDevice(name)
		if !ok || g.Name != gpu {
			continue
		}
		if err := CheckResults(f, g, allowBurst); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s not used: %v", p, err))
			continue
		}
		if _, err := MeasuredSpeed(f, kernels.BF16, g); err != nil {
			if _, err8 := MeasuredSpeed(f, dt, g); err8 != nil {
				continue
			}
		}
		if best == nil || f.Created.After(best.Created) {
			bestPath, best = p, f
		}
	}
	return bestPath, best, skipped
}

// MeasuredPower is the median over the file's verified measurements of
// their mean power through the timed window; zero when no window sampled
// power (a reading taken after the window is the idling device, not the
// draw under load, so it is not used).
func MeasuredPower(f *result.File) (float64, string) {
	var window []float64
	for _, m := range f.Measurements {
		if m.Status == result.StatusOK && m.Window != nil && m.Window.PowerW != nil && m.Window.PowerW.Mean > 0 {
			window = append(window, m.Window.PowerW.Mean)
		}
	}
	if len(window) == 0 {
		return 0, ""
	}
	sort.Float64s(window)
	return window[len(window)/2], "the median of the measurements' mean power over their timed windows"
}
