package compare

import (
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

func runOf(created time.Time, ms ...result.Measurement) *result.File {
	return &result.File{
		SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}, Created: created,
		Host:         result.Host{Hostname: "box"},
		Devices:      []result.Device{{ID: "cpu", Kind: "cpu", Name: "Some CPU"}},
		Measurements: ms,
	}
}

func TestMachinesMergeComplementaryRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	gemm := result.Measurement{Workload: "gemm", Device: "cpu", DType: "fp32", Shape: kernels.Square(512), Status: result.StatusOK}
	block := result.Measurement{Workload: "block", Device: "cpu", DType: "fp32", Status: result.StatusOK,
		Block: &result.BlockMetrics{Preset: "tiny", Arch: "llama", Hidden: 64, FFN: 176, Seq: 32, Batch: 2}}
	a := Input{Path: "a.json", File: runOf(t0, gemm)}
	b := Input{Path: "b.json", File: runOf(t0.Add(time.Minute), block)}
	again := Input{Path: "c.json", File: runOf(t0.Add(time.Hour), gemm)}

	ms := Machines([]Input{a, b})
	if len(ms) != 1 || len(ms[0].Measurements) != 2 || len(ms[0].File.Measurements) != 2 {
		t.Fatalf("complementary runs of one machine: %d columns", len(ms))
	}
	if !ms[0].Created.Equal(t0.Add(time.Minute)) || len(a.File.Measurements) != 1 {
		t.Errorf("merge changed the inputs or kept the older date: %v", ms[0].Created)
	}
	ms = Machines([]Input{a, b, again})
	if len(ms) != 2 {
		t.Fatalf("a repeated measurement must stay a separate run: %d columns", len(ms))
	}
	if ms[0].Label == ms[1].Label {
		t.Errorf("two runs share the label %q", ms[0].Label)
	}
}

// TestMachinesKeepGPUsApartByUUID: two lent cloud machines with the same
// host name and GPU model are one column only when their GPU's UUID is the
// same.
func TestMachinesKeepGPUsApartByUUID(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	gpuRun := func(uuid string, created time.Time, m result.Measurement) Input {
		f := runOf(created, m)
		f.Host.Hostname = "vm"
		f.Devices = []result.Device{{ID: "cuda:0", Kind: "cuda", Name: "NVIDIA H200", UUID: uuid}}
		return Input{Path: uuid + created.Format("1504") + ".json", File: f}
	}
	gemm := result.Measurement{Workload: "gemm", Device: "cuda:0", DType: "bf16", Shape: kernels.Square(8192), Status: result.StatusOK}
	block := result.Measurement{Workload: "block", Device: "cuda:0", DType: "bf16", Status: result.StatusOK,
		Block: &result.BlockMetrics{Preset: "llama3-8b", Arch: "llama", Hidden: 4096, FFN: 14336, Seq: 4096, Batch: 8}}
	for _, c := range []struct {
		name         string
		uuidA, uuidB string
		columns      int
	}{
		{"same GPU", "GPU-a", "GPU-a", 1},
		{"two machines", "GPU-a", "GPU-b", 2},
	} {
		ms := Machines([]Input{gpuRun(c.uuidA, t0, gemm), gpuRun(c.uuidB, t0.Add(time.Minute), block)})
		if len(ms) != c.columns {
			t.Errorf("%s: %d columns, want %d", c.name, len(ms), c.columns)
		}
	}
}
