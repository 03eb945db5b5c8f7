package compare

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

// The files under testdata/fixture-*.json are hand-made test data, written
// by TestWriteFixtures from the builders below: their numbers are chosen
// to exercise the code and were not measured on any machine.
var writeFixtures = flag.Bool("write-fixtures", false, "rewrite testdata/fixture-*.json")

const fixtureNote = "hand-made test fixture: these numbers were not measured"

var fixtureTime = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// samplesAround returns n deterministic samples whose median is median and
// whose spread is about ±spread (a fraction).
func samplesAround(median, spread float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		// Evenly spread offsets in run order, symmetric about zero.
		off := -1 + 2*float64((i*7)%n)/float64(n-1)
		out[i] = median * (1 + spread*off)
	}
	return out
}

// timed is a verified measurement of a workload with the given samples.
func timed(workload, device, dtype, label string, shape kernels.GEMMShape, flops float64, samples []float64, peak float64) result.Measurement {
	sum, err := stats.Summarize(samples)
	if err != nil {
		panic(err)
	}
	rel := 1e-3
	m := result.Measurement{
		Workload: workload, Label: label, Device: device, DType: dtype, Shape: shape, FLOPs: flops,
		Status: result.StatusOK, Seconds: &sum, Samples: samples, PeakFLOPPerSecond: peak,
		Noisy: sum.Noisy(), Warmup: 3, Verified: true, RelError: &rel, ErrorBound: 1e-2,
		VerifyMode: "sampled", Compared: 4096, Seed: 1,
	}
	if flops > 0 {
		m.FLOPPerSecond = flops / sum.Median
	}
	return m
}

func gemm(device, dtype string, n int, tflops, spread float64, peak float64) result.Measurement {
	s := kernels.Square(n)
	return timed("gemm", device, dtype, "square", s, s.FLOPs(), samplesAround(s.FLOPs()/(tflops*1e12), spread, 10), peak)
}

func state(t time.Time, clock, temp, power float64) *result.State {
	return &result.State{Time: t, ClockMHz: clock, TempC: temp, PowerW: power}
}

func baseFile(host string) *result.File {
	return &result.File{
		SchemaVersion: result.SchemaVersion,
		Tool:          result.Tool{Name: result.ToolName, Version: "fixture"},
		Created:       fixtureTime,
		Host:          result.Host{Hostname: host, OS: "linux", Arch: "amd64", Cores: 8},
		Environment:   result.Environment{GOMAXPROCS: 8, Threads: 8, BLAS: "fixture"},
		Command:       []string{"hand-made fixture"},
		Suite:         "fixture",
	}
}

// fixtureCPU is a CPU-only file with an instance type.
func fixtureCPU() *result.File {
	f := baseFile("fixture-cpu")
	f.Host.InstanceType = "fixture.cpu-8x"
	f.Host.CPUModel = "Fixture CPU"
	peak := map[string]float64{"fp32": 1.6e12, "fp64": 0.8e12}
	f.Devices = []result.Device{{ID: "cpu", Kind: "cpu", Name: "Fixture CPU (not measured)", Cores: 8,
		PeakFLOPPerSecond: peak, PeakBasis: fixtureNote}}
	t := fixtureTime
	i := 0
	for _, dt := range []string{"fp32", "fp64"} {
		for _, n := range []int{512, 1024, 2048, 4096} {
			eff := 0.55 + 0.1*float64(i%4)
			m := gemm("cpu", dt, n, peak[dt]*eff/1e12, 0.02, peak[dt])
			m.StateBefore = state(t, 3000-float64(10*i), 55+float64(i), 0)
			t = t.Add(4 * time.Second)
			m.StateAfter = state(t, 2990-float64(10*i), 58+float64(i), 0)
			t = t.Add(time.Second)
			f.Measurements = append(f.Measurements, m)
			i++
		}
	}
	f.Measurements[0].Notes = []string{fixtureNote}
	return f
}

// fixtureH100x2 is a two-GPU file: GEMMs in bf16, fp16 and fp32 on both
// devices (cuda:1 a straggler), a bandwidth measurement, a block step on
// each device, and a workload this flopcast does not compare.
func fixtureH100x2() *result.File {
	f := baseFile("fixture-h100x2")
	f.Host.Cores = 64
	// Dense peaks of the H100 SXM5 from shared/reference/hardware-catalog.md.
	peak := map[string]float64{"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 67e12}
	for _, id := range []string{"cuda:0", "cuda:1"} {
		f.Devices = append(f.Devices, result.Device{ID: id, Kind: "cuda", Name: "NVIDIA H100 80GB HBM3", Cores: 132,
			MemoryBytes: 80 << 30, PeakFLOPPerSecond: peak, PeakBasis: "datasheet dense peak (fixture)",
			ComputeCapability: "9.0", Driver: "fixture"})
	}
	eff := map[string][]float64{ // fraction of peak at 2048, 4096, 8192
		"bf16": {0.42, 0.66, 0.74},
		"fp16": {0.41, 0.64, 0.72},
		"fp32": {0.70, 0.78, 0.80},
	}
	t := fixtureTime
	for di, dev := range []string{"cuda:0", "cuda:1"} {
		slow := 1.0
		if di == 1 {
			slow = 0.88 // the straggler
		}
		for _, dt := range []string{"bf16", "fp16", "fp32"} {
			for si, n := range []int{2048, 4096, 8192} {
				m := gemm(dev, dt, n, peak[dt]*eff[dt][si]*slow/1e12, 0.01, peak[dt])
				clock, temp, power := 1980.0, 48.0+float64(si*6), 420.0+float64(si*90)
				if di == 1 {
					clock, temp, power = 1755, temp+14, power+40
				}
				m.StateBefore = state(t, clock, temp, power)
				t = t.Add(2 * time.Second)
				m.StateAfter = state(t, clock-15, temp+3, power+25)
				t = t.Add(time.Second)
				f.Measurements = append(f.Measurements, m)
			}
		}
		// Memory bandwidth: a 4 GiB device-to-device copy (read + write).
		bytes := int64(8 << 30)
		bw := timed("bandwidth", dev, "fp32", "copy", kernels.GEMMShape{}, 0, samplesAround(float64(bytes)/(2.9e12*slow), 0.005, 10), 0)
		bw.Bytes = bytes
		f.Measurements = append(f.Measurements, bw)
		// One transformer-block training step.
		model, _ := kernels.LookupModel("llama3-8b")
		seq, batch := 4096, 2
		flops := model.TrainingFLOPsPerToken(true) / float64(model.Layers) * float64(seq*batch)
		step := flops / (peak["bf16"] * 0.52 * slow)
		blk := timed("block", dev, "bf16", "llama3-8b", kernels.GEMMShape{}, flops, samplesAround(step, 0.01, 10), peak["bf16"])
		blk.Block = &result.BlockMetrics{Preset: "llama3-8b", Arch: "llama", Hidden: model.Hidden, Heads: model.Heads,
			KVHeads: model.KVHeads, FFN: model.FFN, Seq: seq, Batch: batch,
			TokensPerSecond: float64(seq*batch) / step, FLOPConvention: "causal", MFU: blk.FLOPPerSecond / peak["bf16"],
			Attention:    "fixture",
			PhaseSeconds: map[string]float64{"forward": step * 0.32, "backward": step * 0.63, "optimizer": step * 0.05},
			KindSeconds:  map[string]float64{"gemm": step * 0.7, "attention": step * 0.2, "other": step * 0.1}}
		f.Measurements = append(f.Measurements, blk)
	}
	other := timed("allreduce", "cuda:0", "bf16", "ring", kernels.GEMMShape{}, 0, samplesAround(1e-3, 0.01, 5), 0)
	other.Notes = []string{"a workload compare does not know"}
	f.Measurements = append(f.Measurements, other)
	return f
}

// fixtureH200 is one of two machines of a third machine type (instance
// "fixture.gpu-8x", eight H200s listed, one measured), timed back to back
// (sustained): bf16 and fp32 GEMMs, a device and a host-link copy, and the
// llama3-8b block the H100 fixture also ran. Machine b also holds one
// burst-timed bf16 8192³ row, which must not merge with its sustained one.
func fixtureH200(machine string, speed float64) *result.File {
	f := baseFile("fixture-h200-" + machine)
	f.Host.Cores = 96
	f.Host.InstanceType = "fixture.gpu-8x"
	f.Created = fixtureTime.Add(time.Hour)
	if machine == "b" {
		f.Created = f.Created.Add(time.Hour)
	}
	// Dense peaks of the H200 SXM (same tensor cores as the H100 SXM5).
	peak := map[string]float64{"bf16": 989.4e12, "fp32": 67e12}
	for i := 0; i < 8; i++ {
		f.Devices = append(f.Devices, result.Device{ID: fmt.Sprintf("cuda:%d", i), Kind: "cuda", Name: "NVIDIA H200",
			Cores: 132, MemoryBytes: 141 << 30, PeakFLOPPerSecond: peak, PeakBasis: "datasheet dense peak (fixture)",
			UUID: fmt.Sprintf("GPU-fixture-%s-%d", machine, i), ComputeCapability: "9.0", Driver: "fixture"})
	}
	sustained := func(m result.Measurement) result.Measurement {
		m.Timing = result.TimingBackToBack
		m.DutyCycle = 0.99
		return m
	}
	eff := map[string][]float64{"bf16": {0.62, 0.78}, "fp32": {0.74, 0.76}}
	for _, dt := range []string{"bf16", "fp32"} {
		for si, n := range []int{4096, 8192} {
			f.Measurements = append(f.Measurements, sustained(gemm("cuda:0", dt, n, peak[dt]*eff[dt][si]*speed/1e12, 0.01, peak[dt])))
		}
	}
	if machine == "b" {
		// The old loop's burst figure, higher than the sustained one.
		f.Measurements = append(f.Measurements, gemm("cuda:0", "bf16", 8192, peak["bf16"]*0.83/1e12, 0.01, peak["bf16"]))
	}
	for _, c := range []struct {
		label string
		tbps  float64
	}{{"d2d_copy", 4.3}, {"h2d_pinned", 0.055}} {
		bytes := int64(8 << 30)
		bw := sustained(timed("bandwidth", "cuda:0", "fp32", c.label, kernels.GEMMShape{}, 0, samplesAround(float64(bytes)/(c.tbps*1e12*speed), 0.005, 10), 0))
		bw.Bytes = bytes
		f.Measurements = append(f.Measurements, bw)
	}
	model, _ := kernels.LookupModel("llama3-8b")
	seq, batch := 4096, 2
	flops := model.TrainingFLOPsPerToken(true) / float64(model.Layers) * float64(seq*batch)
	step := flops / (peak["bf16"] * 0.55 * speed)
	blk := sustained(timed("block", "cuda:0", "bf16", "llama3-8b", kernels.GEMMShape{}, flops, samplesAround(step, 0.01, 10), peak["bf16"]))
	blk.Block = &result.BlockMetrics{Preset: "llama3-8b", Arch: "llama", Hidden: model.Hidden, Heads: model.Heads,
		KVHeads: model.KVHeads, FFN: model.FFN, Seq: seq, Batch: batch,
		TokensPerSecond: float64(seq*batch) / step, FLOPConvention: "causal", MFU: blk.FLOPPerSecond / peak["bf16"],
		PhaseSeconds: map[string]float64{"forward": step * 0.33, "backward": step * 0.62, "optimizer": step * 0.05}}
	f.Measurements = append(f.Measurements, blk)
	f.Measurements[0].Notes = []string{fixtureNote}
	return f
}

// The gate fixtures: one fp32 GEMM and one bf16 GEMM on one GPU.
func gateFile(host string, tflops32, tflops16, spread float64) *result.File {
	f := baseFile(host)
	f.Devices = []result.Device{{ID: "cuda:0", Kind: "cuda", Name: "NVIDIA H100 80GB HBM3"}}
	f.Measurements = []result.Measurement{
		gemm("cuda:0", "fp32", 4096, tflops32, spread, 0),
		gemm("cuda:0", "bf16", 4096, tflops16, spread, 0),
	}
	return f
}

// gateNoisy is the baseline's figures 7% slower on both GEMMs but with
// samples spread ±40%, so the rank test cannot tell them apart.
func gateNoisy() *result.File {
	f := gateFile("fixture-gate", 50/1.07, 600/1.07, 0.4)
	for i := range f.Measurements {
		m := &f.Measurements[i]
		// Interleave: reverse the run order so the samples are not the
		// baseline's scaled copy.
		for a, b := 0, len(m.Samples)-1; a < b; a, b = a+1, b-1 {
			m.Samples[a], m.Samples[b] = m.Samples[b], m.Samples[a]
		}
	}
	return f
}

func gateNoisyBase() *result.File { return gateFile("fixture-gate", 50, 600, 0.4) }

func gateThrottledBase() *result.File {
	f := gateFile("fixture-gate", 50, 600, 0.01)
	f.Measurements[0].StateAfter = &result.State{Time: fixtureTime, Throttled: true, Reasons: []string{"hw_slowdown"}}
	f.Measurements[1].Notes = []string{"device throttled during timing"}
	return f
}

var fixtures = map[string]func() *result.File{
	"fixture-cpu.json":                 fixtureCPU,
	"fixture-h100x2.json":              fixtureH100x2,
	"fixture-h200-a.json":              func() *result.File { return fixtureH200("a", 1) },
	"fixture-h200-b.json":              func() *result.File { return fixtureH200("b", 0.97) },
	"gate/fixture-base.json":           func() *result.File { return gateFile("fixture-gate", 50, 600, 0.01) },
	"gate/fixture-slow.json":           func() *result.File { return gateFile("fixture-gate", 50*0.9, 600, 0.01) },
	"gate/fixture-noisy-base.json":     gateNoisyBase,
	"gate/fixture-noisy.json":          gateNoisy,
	"gate/fixture-throttled-base.json": gateThrottledBase,
}

func TestWriteFixtures(t *testing.T) {
	for name, make := range fixtures {
		path := filepath.Join("testdata", name)
		if *writeFixtures {
			if err := result.Write(path, make()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := result.Read(path); err != nil {
			t.Errorf("%v (run go test ./bench/compare -run TestWriteFixtures -write-fixtures)", err)
		}
	}
}

func TestSamplesAround(t *testing.T) {
	s := samplesAround(2, 0.1, 10)
	sum, _ := stats.Summarize(s)
	if math.Abs(sum.Median-2) > 1e-12 || math.Abs(sum.Min-1.8) > 1e-12 || math.Abs(sum.Max-2.2) > 1e-12 {
		t.Errorf("samplesAround: %+v", sum)
	}
}
