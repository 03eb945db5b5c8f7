package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is a results file with one measurement of each status.
func fixture() *result.File {
	rel := 3.1e-7
	bad := 0.25
	samples := []float64{0.120, 0.118, 0.125, 0.121, 0.119}
	sum, _ := stats.Summarize(samples)
	s2048 := kernels.Square(2048)
	return &result.File{
		SchemaVersion: result.SchemaVersion,
		Tool:          result.Tool{Name: result.ToolName, Version: "test"},
		Created:       time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC),
		Host:          result.Host{Hostname: "vm", OS: "linux", Arch: "amd64", CPUModel: "AMD EPYC", Cores: 2},
		Devices: []result.Device{{ID: "cpu", Kind: "cpu", Name: "AMD EPYC", PeakBasis: "estimate: test",
			Library: &result.Library{Name: "openblas", Version: "0.3.21", Threads: 2}}},
		Measurements: []result.Measurement{
			{Workload: "gemm", Label: "square", Device: "cpu", DType: "fp32", Shape: s2048, FLOPs: s2048.FLOPs(),
				Status: result.StatusOK, Seconds: &sum, Samples: samples, FLOPPerSecond: s2048.FLOPs() / sum.Median,
				PeakFLOPPerSecond: 1.565e11, Verified: true, RelError: &rel},
			{Workload: "gemm", Label: "mlp_up", Device: "cpu", DType: "fp64", Shape: kernels.GEMMShape{M: 512, N: 11264, K: 2048},
				Status: result.StatusFailed, RelError: &bad, Notes: []string{"check failed: relative error 0.25 exceeds the fp64 bound 1e-12"}},
			{Workload: "gemm", Label: "square", Device: "cpu", DType: "fp64", Shape: kernels.Square(65536),
				Status: result.StatusSkipped, Notes: []string{"needs 96.0 GiB, 22.9 GiB available"}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bench/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from %s (got in %s.got)", name, path, path)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, f := range []Format{Table, Markdown, CSV, BenchFmt} {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, fixture(), f); err != nil {
				t.Fatal(err)
			}
			golden(t, string(f), b.Bytes())
		})
	}
}

func TestTableNeverShowsThroughputOfFailed(t *testing.T) {
	var b bytes.Buffer
	Render(&b, fixture(), Table)
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "FAILED") || strings.Contains(line, "skipped") {
			if strings.Contains(line, "FLOP/s") {
				t.Errorf("failed or skipped row shows a throughput: %s", line)
			}
		}
	}
	if !strings.Contains(b.String(), "143.2 GFLOP/s") || !strings.Contains(b.String(), "91%") {
		t.Errorf("ok row lacks its rate or %% of peak:\n%s", b.String())
	}
}

func TestBenchFmtOneLinePerSample(t *testing.T) {
	var b bytes.Buffer
	Render(&b, fixture(), BenchFmt)
	if n := strings.Count(b.String(), "BenchmarkGEMM/dtype=fp32/shape=2048x2048x2048 1 "); n != 5 {
		t.Errorf("%d benchmark lines for 5 samples:\n%s", n, b.String())
	}
	if strings.Contains(b.String(), "fp64") {
		t.Errorf("failed or skipped measurements emitted as benchmarks")
	}
}

func TestParseFormatAndDuration(t *testing.T) {
	if f, err := ParseFormat("MARKDOWN"); err != nil || f != Markdown {
		t.Errorf("ParseFormat: %v %v", f, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	for s, want := range map[float64]string{2.5: "2.500 s", 0.0123: "12.30 ms", 4.56e-5: "45.6 µs", 3e-8: "30 ns"} {
		if got := Duration(s); got != want {
			t.Errorf("Duration(%v) = %q, want %q", s, got, want)
		}
	}
}

// TestTableNeverShowsUnverifiedFigure: a row that ran but was not checked
// (the committed H200 host-copy rows) has no throughput and no ✓; text
// from the file is shown without control characters.
func TestTableNeverShowsUnverifiedFigure(t *testing.T) {
	f := fixture()
	m := f.Measurements[0]
	m.Verified = false
	m.Workload, m.Label, m.Bytes, m.BytesPerSecond = "bandwidth", "h2d_pinned", 1<<30, 55.3e9
	m.Notes = []string{"timed \x1b[31mwithout\x1b[0m a check"}
	f.Measurements = append(f.Measurements, m)
	f.Host.InstanceType = "x\x1b]0;title\x07"
	for _, format := range []Format{Table, Markdown, CSV} {
		var b bytes.Buffer
		Render(&b, f, format)
		out := b.String()
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s: control characters in %q", format, out)
		}
		if format == CSV {
			continue
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "h2d_pinned") && strings.Contains(line, "MiB moved") {
				found = true
				if strings.Contains(line, "GB/s") || strings.Contains(line, "✓") || !strings.Contains(line, "unverified") {
					t.Errorf("%s: unverified row shown as a figure: %s", format, line)
				}
			}
		}
		if !found {
			t.Errorf("%s: no h2d_pinned row:\n%s", format, out)
		}
	}
}

func TestPercentOfPeakPlausible(t *testing.T) {
	for _, c := range []struct {
		v, peak float64
		want    string
	}{{91, 100, "91%"}, {104, 100, "104%"}, {841, 100, "?"}, {1, 0, "?"}, {-1, 100, "?"}} {
		if got := percentOfPeak(c.v, c.peak); got != c.want {
			t.Errorf("percentOfPeak(%v, %v) = %q, want %q", c.v, c.peak, got, c.want)
		}
	}
}
