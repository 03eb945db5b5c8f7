package result

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench/stats"
	"github.com/flopcast/flopcast/kernels"
)

func sample() *File {
	rel := 3.2e-7
	sum, _ := stats.Summarize([]float64{0.11, 0.1, 0.12})
	return &File{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: ToolName, Version: "0.1.0", Commit: "abc123"},
		Created:       time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC),
		Host:          Host{Hostname: "vm", OS: "linux", Arch: "amd64", Cores: 2, InstanceType: "c7a.large"},
		Devices: []Device{{ID: "cpu", Kind: "cpu", Name: "AMD EPYC", Cores: 2,
			PeakFLOPPerSecond: map[string]float64{"fp32": 1.5e11},
			Library:           &Library{Name: "openblas", Version: "0.3.21"}}},
		Environment: Environment{GOMAXPROCS: 2, Threads: 2, BLAS: "openblas 0.3.21"},
		Measurements: []Measurement{{
			Workload: "gemm", Label: "square", Device: "cpu", DType: "fp32",
			Shape: kernels.Square(2048), FLOPs: kernels.Square(2048).FLOPs(), Status: StatusOK,
			Seconds: &sum, Samples: []float64{0.11, 0.1, 0.12}, FLOPPerSecond: 1.5e11,
			Verified: true, RelError: &rel, Seed: 42,
		}},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	want := sample()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", got, want)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestDecodeRefuses(t *testing.T) {
	newer := strings.Replace(encode(t, sample()), `"schema_version": 1`, `"schema_version": 99`, 1)
	cases := []struct{ name, in, want string }{
		{"empty", "", "not a flopcast results file"},
		{"not json", "hello", "not a flopcast results file"},
		{"json array", "[1,2]", "not a flopcast results file"},
		{"foreign json", `{"name":"x","version":3}`, "not a flopcast results file"},
		{"other tool", `{"schema_version":1,"tool":{"name":"mlperf"}}`, "not a flopcast results file"},
		{"no version", `{"tool":{"name":"flopcast"}}`, "not a flopcast results file"},
		{"newer", newer, "newer than this flopcast reads"},
		{"zero version", `{"schema_version":0,"tool":{"name":"flopcast"}}`, "invalid schema_version"},
		{"bad field type", `{"schema_version":1,"tool":{"name":"flopcast"},"measurements":"x"}`, "malformed"},
		{"bad status", `{"schema_version":1,"tool":{"name":"flopcast"},"measurements":[{"workload":"gemm","device":"cpu","dtype":"fp32","status":"great"}]}`, "unknown status"},
		{"unverified throughput", `{"schema_version":1,"tool":{"name":"flopcast"},"measurements":[{"workload":"gemm","device":"cpu","dtype":"fp32","status":"ok","flop_per_second":5}]}`, "without a passed check"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(c.in), "f.json")
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FormatError", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "f.json: ") {
				t.Errorf("err = %q, want it to name the file and say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestReadMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(filepath.Join(dir, "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestWriteInterruptedKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	boom := errors.New("interrupted")
	err := WriteWith(path, func(w io.Writer) error {
		io.WriteString(w, `{"schema_version": 1, "tool": {"na`) // half a file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("interrupted write changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriteUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "r.json")
	if err := Write(path, sample()); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := CheckWritable(path); err == nil {
		t.Fatal("CheckWritable accepted a missing directory")
	}
	if err := CheckWritable(t.TempDir()); err == nil {
		t.Fatal("CheckWritable accepted a directory")
	}
	ok := filepath.Join(t.TempDir(), "r.json")
	if err := CheckWritable(ok); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ok); !os.IsNotExist(err) {
		t.Fatal("CheckWritable left a file behind")
	}
}

func encode(t *testing.T, f *File) string {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(encode(&testing.T{}, sample())))
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"flopcast"}}`))
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"flopcast"},"measurements":[{}]}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(bytes.NewReader(data), "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		// Anything accepted must survive a write and a read unchanged.
		var first, second bytes.Buffer
		if err := Encode(&first, file); err != nil {
			t.Fatalf("accepted file does not encode: %v", err)
		}
		again, err := Decode(bytes.NewReader(first.Bytes()), "again")
		if err != nil {
			t.Fatalf("re-encoded file refused: %v", err)
		}
		if err := Encode(&second, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("round trip differs:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}

func TestStateNotes(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after State
		want          string
	}{
		{"idle", State{}, State{}, ""},
		{"cpu throttled", State{}, State{Throttled: true}, "throttled during the measurement"},
		{"cpu throttle count rose", State{ThrottleEvents: 3}, State{ThrottleEvents: 5}, "throttled during the measurement"},
		{"gpu at its power limit", State{}, State{ClockMHz: 1815, PowerCapped: true, Reasons: []string{"sw_power_cap"}},
			"at the power limit during the measurement (sw_power_cap): SM clock 1815 MHz after it"},
		{"old gpu file", State{}, State{Throttled: true, Reasons: []string{"sw_power_cap", "mem_clock_3201_mhz"}},
			"at the power limit during the measurement (sw_power_cap)"},
		{"gpu thermal", State{}, State{Throttled: true, Reasons: []string{"hw_thermal_slowdown"}}, "throttled during the measurement"},
	} {
		if got := strings.Join(StateNotes(c.before, c.after), "; "); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
