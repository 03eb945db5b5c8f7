package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/bench/result"
)

func TestRunBlockTinyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "block.json")
	o := flopcast(t, dir, append([]string{"run", "--workload", "block", "--preset", "tiny", "--device", "cpu", "--dtype", "fp32,fp64", "--out", out}, fast...)...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	for _, want := range []string{"tiny", "llama seq 32×2", "GFLOP/s", "✓", "tokens/s", "phases: forward", "memory: measured"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, o.stdout)
		}
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Measurements) != 2 {
		t.Fatalf("%d measurements", len(f.Measurements))
	}
	for _, m := range f.Measurements {
		if m.Workload != "block" || m.Status != result.StatusOK || !m.Verified || m.Block == nil || m.Block.TokensPerSecond <= 0 || m.FLOPs <= 0 {
			t.Errorf("measurement %s %s %s verified %v block %+v", m.Workload, m.DType, m.Status, m.Verified, m.Block)
		}
	}
}

func TestRunBlockGPTCustom(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "gpt.json")
	o := flopcast(t, dir, append([]string{"run", "--workload", "block", "--arch", "gpt", "--hidden", "32", "--heads", "4", "--ffn", "64", "--seq", "8", "--batch", "2", "--dtype", "fp64", "--out", out}, fast...)...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	b := f.Measurements[0].Block
	if b.Arch != "gpt" || b.Hidden != 32 || b.KVHeads != 4 || b.Seq != 8 || b.Batch != 2 || b.Preset != "" {
		t.Errorf("block %+v", b)
	}
}

func TestRunBlockBadInputIsOneLineExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "llama9"}, `--preset: unknown model preset "llama9"`},
		{[]string{"--preset", "tiny", "--heads", "5"}, "--heads 5: heads 5 do not divide hidden 64"},
		{[]string{"--preset", "tiny", "--kv-heads", "3"}, "--kv-heads 3: kv-heads 3 do not divide heads 4"},
		{[]string{"--seq", "0"}, "--seq 0: seq 0 must be > 0"},
		{[]string{"--batch", "0"}, "--batch 0: batch 0 must be > 0"},
		{[]string{"--arch", "rnn"}, `--arch: unknown arch "rnn"`},
		{[]string{"--hidden", "64"}, "--heads: a custom block"},
		{[]string{"--preset", "deepseek-v3"}, "mixture-of-experts"},
		{[]string{"--sizes", "64"}, "--sizes: applies to --workload gemm only"},
		{[]string{"--preset", "llama3-405b", "--batch", "64"}, "--preset llama3-405b --batch 64: the llama3-405b llama"},
		{[]string{"--dtype", "bf16"}, "--dtype bf16: not supported on cpu"},
	}
	for _, c := range cases {
		args := append([]string{"run", "--workload", "block"}, c.args...)
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			o := flopcast(t, dir, args...)
			if o.code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", o.code, o.stderr)
			}
			lines := strings.Split(strings.TrimRight(o.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "flopcast: ") || !strings.Contains(o.stderr, c.want) {
				t.Errorf("stderr %q, want one line saying %q", o.stderr, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left files behind: %v", entries)
			}
		})
	}
	o := flopcast(t, t.TempDir(), "run", "--preset", "tiny")
	if o.code != 2 || !strings.Contains(o.stderr, "--preset: applies to --workload block only") {
		t.Errorf("--preset with gemm: exit %d, %q", o.code, o.stderr)
	}
}
