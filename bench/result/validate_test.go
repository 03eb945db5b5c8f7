package result

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/stats"
)

func TestCheckPlausibleRefusesWithThePath(t *testing.T) {
	cases := []struct {
		name string
		edit func(f *File)
		want string
	}{
		{"hot", func(f *File) { f.Measurements[0].StateAfter = &State{TempC: 3e15} }, "measurements[0].state_after.temp_c: 3e+15 is not a plausible temperature"},
		{"frozen", func(f *File) { f.Measurements[0].StateBefore = &State{TempC: -300} }, "measurements[0].state_before.temp_c: -300"},
		{"clock", func(f *File) { f.Measurements[0].StateAfter = &State{ClockMHz: 2e4} }, "measurements[0].state_after.clock_mhz: 2e+04 is not a plausible clock"},
		{"device clock", func(f *File) { f.Devices[0].ClockMHz = 1e12 }, "devices[0].clock_mhz"},
		{"power", func(f *File) { f.Measurements[0].StateAfter = &State{PowerW: 6000} }, "measurements[0].state_after.power_w: 6000 is not a plausible power"},
		{"window power", func(f *File) { f.Measurements[0].Window = &Window{PowerW: &Range{Mean: 700, Min: 650, Max: 1e9}} }, "measurements[0].window.power_w.max"},
		{"window temperature", func(f *File) { f.Measurements[0].Window = &Window{TempC: &Range{Mean: 3e15}} }, "measurements[0].window.temp_c.mean"},
		{"fast", func(f *File) { f.Measurements[0].FLOPPerSecond = 1e19 }, "measurements[0].flop_per_second: 1e+19 is not a plausible throughput"},
		{"fast peer", func(f *File) { f.Measurements[0].Peer = &Peer{Name: "x", Seconds: 1, FLOPPerSecond: 1e19} }, "measurements[0].peer.flop_per_second"},
		{"peak", func(f *File) { f.Devices[0].PeakFLOPPerSecond["fp32"] = 1e20 }, "devices[0].peak_flop_per_second.fp32"},
		{"tiny peak", func(f *File) { f.Measurements[0].PeakFLOPPerSecond = 1 }, "measurements[0].peak_flop_per_second: 1 is not a plausible peak throughput"},
		{"far above its peak", func(f *File) { f.Measurements[0].PeakFLOPPerSecond = 1e9 }, "measurements[0].flop_per_second: 1.5e+11 is more than 10× the peak_flop_per_second"},
		{"bandwidth", func(f *File) { f.Measurements[0].BytesPerSecond = 1e17 }, "measurements[0].bytes_per_second"},
		{"no flops", func(f *File) { f.Measurements[0].FLOPs = 0 }, "measurements[0].flops: 0 on an ok gemm measurement"},
		{"no time", func(f *File) { f.Measurements[0].Seconds.Median = 0 }, "measurements[0].seconds.median: 0 s on an ok measurement"},
		{"no seconds", func(f *File) { f.Measurements[0].Seconds = nil }, "measurements[0].seconds: missing on an ok gemm measurement"},
		{"instant sample", func(f *File) { f.Measurements[0].Samples[1] = 1e-300 }, "measurements[0].samples[1]: 1e-300 s on an ok measurement: shorter than a nanosecond"},
		{"too fast a sample", func(f *File) { f.Measurements[0].Samples[1] = 1e-8 }, "measurements[0].samples[1]: 1e-08 s for 1.718e+10 FLOPs is 1.718e+18 FLOP/s, not a plausible throughput"},
		{"too fast a copy", func(f *File) {
			f.Measurements[0] = Measurement{Workload: "bandwidth", Device: "cuda:0", DType: "fp32", Status: StatusOK, Bytes: 1 << 40, Seconds: &stats.Summary{N: 1, Median: 1e-3, Min: 1e-3, Max: 1e-3}}
		}, "measurements[0].seconds.median: 0.001 s for 1099511627776 bytes"},
		{"negative time", func(f *File) { f.Measurements[0].Seconds.Min = -1 }, "measurements[0].seconds.min: -1 is not a plausible duration"},
		{"negative sample", func(f *File) { f.Measurements[0].Samples[2] = -0.1 }, "measurements[0].samples[2]: -0.1"},
		{"huge dimension", func(f *File) { f.Measurements[0].Shape.M = 1 << 40 }, "measurements[0].shape.m: 1.1e+12 is not a plausible dimension"},
		{"shape n", func(f *File) { f.Measurements[0].Shape.N = -4 }, "measurements[0].shape.n: -4 is not a plausible dimension"},
		{"negative count", func(f *File) { f.Measurements[0].Seconds.N = -3 }, "measurements[0].seconds.n: -3 is not a plausible call count"},
		{"absurd count", func(f *File) { f.Measurements[0].Seconds.N = 1 << 60 }, "measurements[0].seconds.n: 1.153e+18 is not a plausible call count"},
		{"negative bytes", func(f *File) { f.Measurements[0].Bytes = -1 }, "measurements[0].bytes: -1 is not a plausible count"},
		{"cores", func(f *File) { f.Host.Cores = 1 << 40 }, "host.cores"},
		{"mfu", func(f *File) { f.Measurements[0].Block = &BlockMetrics{MFU: 8.41 * 10} }, "measurements[0].block.mfu"},
		{"fraction", func(f *File) { f.Measurements[0].Window = &Window{ThrottledFraction: 1.5} }, "measurements[0].window.throttled_fraction"},
		{"unruled number", func(f *File) { f.Measurements[0].Block = &BlockMetrics{Loss: 1e300} }, "measurements[0].block.loss: 1e+300 is not a plausible value"},
	}
	for _, c := range cases {
		f := sample()
		c.edit(f)
		err := f.CheckPlausible()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: CheckPlausible = %v, want an error starting %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", c.name, err)
		}
	}
	// Each crafted file is refused by Decode as well, as every reader
	// (show, compare, report, forecast) reads through it.
	f := sample()
	f.Measurements[0].StateAfter = &State{TempC: 3e15}
	_, err := Decode(strings.NewReader(encode(t, f)), "hot.json")
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "hot.json: measurements[0].state_after.temp_c") {
		t.Errorf("Decode = %v, want a FormatError naming the field", err)
	}
}

func TestCheckPlausibleAcceptsRealFiles(t *testing.T) {
	f := sample()
	f.Measurements[0].StateBefore = &State{TempC: 45, ClockMHz: 2600, PowerW: 0, Load1: 0.3, Time: time.Now()}
	f.Measurements[0].Window = &Window{Seconds: 2, PowerW: &Range{Mean: 690, Min: 600, Max: 700}, TempC: &Range{Mean: -5, Min: -10, Max: 0}, Samples: 40}
	f.Measurements = append(f.Measurements,
		Measurement{Workload: "gemm", Device: "cpu", DType: "fp32", Status: StatusSkipped, Seed: 1 << 63},
		Measurement{Workload: "bandwidth", Device: "cuda:0", DType: "fp32", Status: StatusOK, BytesPerSecond: 4.2e12})
	if err := f.CheckPlausible(); err != nil {
		t.Fatalf("a plausible file refused: %v", err)
	}
	// Every results file kept in the repository reads.
	var files []string
	for _, pat := range []string{"../../results/*.json", "../*/testdata/*.json", "../*/testdata/*/*.json", "../../cmd/flopcast/testdata/*.json"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	read := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte(`"schema_version"`)) {
			continue
		}
		if _, err := Read(p); err != nil {
			var fe *FormatError
			if errors.As(err, &fe) && strings.Contains(err.Error(), "not a flopcast results file") {
				continue
			}
			t.Errorf("%v", err)
		}
		read++
	}
	t.Logf("%d results files of the repository read", read)
	if read < 5 {
		t.Errorf("read only %d results files of the repository (from %d candidates)", read, len(files))
	}
}

func BenchmarkCheckPlausible(b *testing.B) {
	f := sample()
	for i := 0; i < 500; i++ {
		f.Measurements = append(f.Measurements, f.Measurements[0])
	}
	for b.Loop() {
		if err := f.CheckPlausible(); err != nil {
			b.Fatal(err)
		}
	}
}
