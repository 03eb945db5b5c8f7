package main

// Tests of what flopcast promises about its results files (README, "What
// flopcast promises"), each run on the built binary (see TestMain): names
// never reused and files never replaced, results written as they are
// measured, the signals, unwritable and full directories, memory limits
// and long names. They fail on the flopcast before issue 13.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flopcast/flopcast/bench"
	"github.com/flopcast/flopcast/bench/result"
)

// soak is how long TestSoak runs: -soak=5m or FLOPCAST_SOAK=5m for longer.
var soak = flag.Duration("soak", 0, "TestSoak's duration (default 12s, or FLOPCAST_SOAK)")

// quick are run flags for a measurement of a few milliseconds.
var quick = []string{"--device", "cpu", "--dtype", "fp32", "--repeats", "1", "--warmup", "0", "--min-time", "1ms", "--max-time", "1ms"}

// running is a flopcast process started in the background.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
	exited         time.Time
}

func start(t *testing.T, dir string, env []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := r.cmd.Wait()
		r.exited = time.Now()
		r.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode() // -1 when killed by a signal
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for the process to end, at most limit.
func (r *running) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("still running after %v (killed); stderr %q", limit, r.stderr.String())
	}
}

// waitMeasured waits until path is a valid results file with at least n
// measurements and returns it.
func waitMeasured(t *testing.T, r *running, path string, n int, limit time.Duration) *result.File {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if f, err := result.Read(path); err == nil && len(f.Measurements) >= n {
			return f
		}
		select {
		case <-r.done:
			t.Fatalf("exited %d before %s held %d measurements; stderr %q", r.code, path, n, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("%s does not hold %d measurements after %v", path, n, limit)
	return nil
}

// Item 3: three quick runs in a row, then four at once, leave seven files.
func TestPromiseDefaultNamesUnique(t *testing.T) {
	dir := t.TempDir()
	for range 3 {
		if o := flopcast(t, dir, append([]string{"run", "--sizes", "16", "--quiet"}, quick...)...); o.code != 0 {
			t.Fatalf("exit %d: %s", o.code, o.stderr)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := flopcast(t, dir, append([]string{"run", "--sizes", "16", "--quiet"}, quick...)...); o.code != 0 {
				t.Errorf("concurrent run: exit %d: %s", o.code, o.stderr)
			}
		}()
	}
	wg.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, "results", "*.json"))
	if len(files) != 7 {
		t.Fatalf("7 runs left %d results files: %v", len(files), files)
	}
	for _, f := range files {
		if rf, err := result.Read(f); err != nil || rf.Partial || len(rf.Measurements) != 1 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Item 3: --out never replaces a file unless --force says so.
func TestPromiseOutNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	os.WriteFile(out, []byte("precious"), 0o644)
	o := flopcast(t, dir, append([]string{"run", "--sizes", "16", "--out", out}, quick...)...)
	if o.code != 2 || !strings.Contains(o.stderr, "--out "+out+": the file exists") || strings.Count(o.stderr, "flopcast: ") != 1 || o.stdout != "" {
		t.Errorf("--out onto a file: exit %d, stderr %q, stdout %q", o.code, o.stderr, o.stdout)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatal("the existing file was replaced")
	}
	o = flopcast(t, dir, append([]string{"run", "--sizes", "16", "--out", out, "--force", "--quiet"}, quick...)...)
	if o.code != 0 {
		t.Fatalf("--force: exit %d: %s", o.code, o.stderr)
	}
	if f, err := result.Read(out); err != nil || len(f.Measurements) != 1 {
		t.Errorf("--force did not write the file: %v", err)
	}
	if o := flopcast(t, dir, append([]string{"run", "--sizes", "16", "--force"}, quick...)...); o.code != 2 || !strings.Contains(o.stderr, "--force") {
		t.Errorf("--force without --out: exit %d, %q", o.code, o.stderr)
	}
}

// Item 5: a results/ that cannot be written is refused before measuring.
// results is a link into /proc, where no one can create a file, root
// included.
func TestPromiseUnwritableResultsRefusedUpFront(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/proc", filepath.Join(dir, "results")); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	o := flopcast(t, dir, "run", "--device", "cpu", "--sizes", "16,200", "--dtype", "fp32", "--repeats", "1", "--min-time", "3s", "--max-time", "3s")
	if o.code != 2 || !strings.Contains(o.stderr, "results/") || strings.Count(o.stderr, "flopcast: ") != 1 || o.stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and one line naming results/", o.code, o.stderr, o.stdout)
	}
	if d := time.Since(began); d > 2500*time.Millisecond {
		t.Errorf("took %v: it measured before refusing", d)
	}
}

// Item 11: a 250-byte file name (NAME_MAX is 255) is written.
func TestPromiseLongOutName(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("a", 245) + ".json"
	o := flopcast(t, dir, append([]string{"run", "--sizes", "16", "--out", name, "--quiet"}, quick...)...)
	if o.code != 0 {
		t.Fatalf("exit %d: %s", o.code, o.stderr)
	}
	if _, err := result.Read(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left beside it: %v", entries)
	}
}

// Item 7: results are on disk as they are measured; SIGKILL loses only
// the measurement in progress.
func TestPromiseSIGKILLKeepsFinished(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	r := start(t, dir, nil, append([]string{"run", "--sizes", "64,64,3000", "--out", out, "--quiet"},
		"--device", "cpu", "--dtype", "fp64", "--repeats", "3", "--warmup", "0", "--min-time", "1ms", "--max-time", "10s")...)
	waitMeasured(t, r, out, 2, 20*time.Second)
	r.cmd.Process.Kill()
	r.wait(t, 5*time.Second)
	f, err := result.Read(out)
	if err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	if !f.Partial || len(f.Measurements) != 2 || !f.Measurements[0].Verified || !f.Measurements[1].Verified {
		t.Errorf("after SIGKILL: partial %v, %d measurements", f.Partial, len(f.Measurements))
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(tmps) != 1 {
		t.Errorf("files: %v", tmps)
	}
}

// Item 8: a second interrupt ends the run at once, with what is finished
// written, although a long BLAS call is in progress.
func TestPromiseSecondInterruptStopsAtOnce(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	r := start(t, dir, nil, "run", "--device", "cpu", "--sizes", "256,4000", "--dtype", "fp64", "--repeats", "3",
		"--warmup", "0", "--min-time", "1ms", "--max-time", "30s", "--out", out, "--quiet")
	waitMeasured(t, r, out, 1, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // into the 4000³ GEMM (seconds per call)
	r.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	second := time.Now()
	r.cmd.Process.Signal(syscall.SIGINT)
	r.wait(t, 20*time.Second)
	if d := r.exited.Sub(second); d > 2*time.Second {
		t.Errorf("exited %v after the second interrupt, want at once", d.Round(time.Millisecond))
	}
	if r.code != 130 || !strings.Contains(r.stderr.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q; want 130", r.code, r.stderr.String())
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Partial || len(f.Measurements) != 1 || f.Measurements[0].Shape.M != 256 || !f.Measurements[0].Verified {
		t.Errorf("partial %v, measurements %+v", f.Partial, f.Measurements)
	}
}

// Item 8: SIGHUP (an ssh connection dropped) is handled as SIGINT and
// SIGTERM are: the call in progress finishes, the results are written.
func TestPromiseSIGHUPWritesPartial(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	r := start(t, dir, nil, "run", "--device", "cpu", "--sizes", "48,48,48,48,48,48", "--dtype", "fp32",
		"--min-time", "300ms", "--max-time", "300ms", "--out", out, "--quiet")
	waitMeasured(t, r, out, 1, 20*time.Second)
	r.cmd.Process.Signal(syscall.SIGHUP)
	r.wait(t, 10*time.Second)
	if r.code != 130 {
		t.Fatalf("exit %d after SIGHUP, want 130; stderr %q", r.code, r.stderr.String())
	}
	f, err := result.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Partial || len(f.Measurements) == 0 || len(f.Measurements) == 6 {
		t.Errorf("partial %v, %d measurements", f.Partial, len(f.Measurements))
	}
}

// Item 7: on a full disk the table is still printed and the error says
// where the results went (a file under TMPDIR). A 16 KiB tmpfs needs
// root; elsewhere the test skips (bench's Recorder tests cover the same
// with a vanished directory).
func TestPromiseDiskFull(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.Mkdir(full, 0o755)
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", full).Run(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", full).Run() })
	tmp := t.TempDir()
	sizes := make([]string, 40)
	for i := range sizes {
		sizes[i] = fmt.Sprint(8 + i)
	}
	out := filepath.Join(full, "r.json")
	cmd := exec.Command(binary, append([]string{"run", "--sizes", strings.Join(sizes, ","), "--out", out, "--quiet"}, quick...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr %q", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "47x47x47") {
		t.Errorf("the table was not printed:\n%s", stdout.String())
	}
	msg := stderr.String()
	fallback, _ := filepath.Glob(filepath.Join(tmp, "*.json"))
	if !strings.Contains(msg, "no space left") || len(fallback) != 1 || !strings.Contains(msg, "results are in "+fallback[0]) {
		t.Fatalf("stderr %q, files under TMPDIR %v", msg, fallback)
	}
	f, err := result.Read(fallback[0])
	if err != nil || f.Partial || len(f.Measurements) != len(sizes) {
		t.Errorf("fallback file: %v", err)
	}
}

// Item 6: a control group's memory limit is part of the memory check: a
// shape that does not fit in it is refused up front, not killed by the
// kernel with the finished results lost. The test makes a cgroup (v2
// where the memory controller can be delegated, else v1) and skips where
// it cannot.
func TestPromiseCgroupMemoryLimit(t *testing.T) {
	group, err := makeMemoryCgroup(t, 256<<20)
	if err != nil {
		t.Skipf("cannot make a memory-limited cgroup here: %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	// 10000x10000x64 fp32: C alone is 400 MB.
	script := fmt.Sprintf("echo $$ > %s/cgroup.procs && exec %s run --sizes 64,10000x10000x64 --out %s --quiet %s",
		group, binary, out, strings.Join(quick, " "))
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2 (refused before measuring); stderr %q", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--sizes 10000x10000x64") || !strings.Contains(stderr.String(), "available under the cgroup's memory limit of 0.2 GiB") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// makeMemoryCgroup makes a cgroup with memory limit bytes, removed when
// the test ends, and returns its directory.
func makeMemoryCgroup(t *testing.T, bytes int64) (string, error) {
	name := fmt.Sprintf("flopcast-test-%d-%d", os.Getpid(), rand.Uint32())
	var tries []string
	for _, c := range []struct{ parent, limit string }{
		{"/sys/fs/cgroup", "memory.max"},
		{"/sys/fs/cgroup/unified", "memory.max"},
		{"/sys/fs/cgroup/memory", "memory.limit_in_bytes"},
	} {
		if _, err := os.Stat(filepath.Join(c.parent, c.limit)); err != nil && c.limit == "memory.limit_in_bytes" {
			tries = append(tries, c.parent+": no memory controller")
			continue
		}
		if c.limit == "memory.max" {
			ctl, err := os.ReadFile(filepath.Join(c.parent, "cgroup.controllers"))
			if err != nil || !hasField(string(ctl), "memory") {
				tries = append(tries, c.parent+": no memory controller")
				continue
			}
			sub, _ := os.ReadFile(filepath.Join(c.parent, "cgroup.subtree_control"))
			if !hasField(string(sub), "memory") {
				if err := os.WriteFile(filepath.Join(c.parent, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
					tries = append(tries, fmt.Sprintf("%s: enabling memory: %v", c.parent, err))
					continue
				}
			}
		}
		dir := filepath.Join(c.parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			tries = append(tries, err.Error())
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, c.limit), []byte(fmt.Sprint(bytes)), 0); err != nil {
			os.Remove(dir)
			tries = append(tries, err.Error())
			continue
		}
		t.Cleanup(func() {
			for range 50 { // the process leaves the group as it exits
				if os.Remove(dir) == nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		return dir, nil
	}
	return "", errors.New(strings.Join(tries, "; "))
}

func hasField(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// TestSoak runs many short runs (some killed at random moments) while
// readers read the results directory, and checks that every file written
// is valid, that no run's file is missing, and that none holds another
// run's measurements. It lasts -soak (default 12s).
func TestSoak(t *testing.T) {
	d := *soak
	if d == 0 {
		d = 12 * time.Second
		if v := os.Getenv("FLOPCAST_SOAK"); v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				t.Fatalf("FLOPCAST_SOAK=%s: %v", v, err)
			}
		}
	}
	if testing.Short() {
		d = 3 * time.Second
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "results"), 0o755)
	deadline := time.Now().Add(d)

	type written struct {
		path string
		seed uint64
	}
	var (
		mu      sync.Mutex
		files   []written // named by a run that ended normally
		runs    atomic.Int64
		killed  atomic.Int64
		reads   atomic.Int64
		refused atomic.Int64
		seed    atomic.Uint64
		failure atomic.Value
	)
	fail := func(format string, args ...any) { failure.CompareAndSwap(nil, fmt.Sprintf(format, args...)) }
	var wg sync.WaitGroup
	for w := range 2 { // writers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && failure.Load() == nil; i++ {
				s := seed.Add(1000)
				args := append([]string{"run", "--sizes", "16,24", "--seed", fmt.Sprint(s)}, quick...)
				if i%4 == 3 { // an --out that another run already wrote: refused
					mu.Lock()
					if len(files) > 0 {
						args = append(args, "--out", files[len(files)/2].path)
					}
					mu.Unlock()
				}
				cmd := exec.Command(binary, args...)
				cmd.Dir = dir
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					fail("%v", err)
					return
				}
				kill := w == 1 && i%3 == 2
				if kill {
					time.AfterFunc(time.Duration(rand.IntN(60))*time.Millisecond, func() { cmd.Process.Kill() })
				}
				err := cmd.Wait()
				runs.Add(1)
				var ee *exec.ExitError
				switch {
				case err == nil:
					path, ok := strings.CutPrefix(strings.TrimSpace(lastLine(stderr.String())), "results: ")
					if !ok {
						fail("run ended 0 without naming its file: %q", stderr.String())
						return
					}
					mu.Lock()
					files = append(files, written{filepath.Join(dir, path), s})
					mu.Unlock()
				case errors.As(err, &ee) && ee.ExitCode() == 2 && strings.Contains(stderr.String(), "the file exists"):
					refused.Add(1)
				case kill:
					killed.Add(1)
				default:
					fail("run: %v: %s", err, stderr.String())
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a reader: every *.json there is a valid results file
		defer wg.Done()
		for i := 0; time.Now().Before(deadline) && failure.Load() == nil; i++ {
			paths, _ := filepath.Glob(filepath.Join(dir, "results", "*.json"))
			for _, p := range paths {
				if _, err := result.Read(p); err != nil {
					fail("reader: %v", err)
					return
				}
				reads.Add(1)
			}
			if len(paths) > 20 {
				paths = paths[len(paths)-20:]
			}
			if len(paths) > 0 {
				cmd := exec.Command(binary, append([]string{"show", "--format", "csv"}, paths...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					fail("show: %v: %s", err, out)
					return
				}
				reads.Add(int64(len(paths)))
			}
			if i%5 == 4 {
				cmd := exec.Command(binary, "compare", "--format", "csv", "results")
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					fail("compare results: %v: %s", err, out)
					return
				}
				reads.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}

	// Every run that ended normally left its own file, whole, with its own
	// measurements; the killed runs left valid partial files or none.
	losses := 0
	for _, w := range files {
		f, err := result.Read(w.path)
		if err != nil || f.Partial || len(f.Measurements) != 2 || f.Measurements[0].Seed != w.seed {
			losses++
			t.Errorf("%s: %v (seed %d)", w.path, err, w.seed)
		}
	}
	all, _ := filepath.Glob(filepath.Join(dir, "results", "*.json"))
	// A run killed while it wrote leaves its hidden temporary file (never
	// under a *.json name): at most one per killed run.
	temps, _ := filepath.Glob(filepath.Join(dir, "results", ".flopcast-*.tmp"))
	if entries, _ := os.ReadDir(filepath.Join(dir, "results")); len(entries) != len(all)+len(temps) {
		t.Errorf("results/ holds %d entries: %d *.json and %d temporary files", len(entries), len(all), len(temps))
	}
	if len(temps) > int(killed.Load()) {
		t.Errorf("%d temporary files left by %d killed runs", len(temps), killed.Load())
	}
	partial := 0
	for _, p := range all {
		f, err := result.Read(p)
		if err != nil {
			t.Errorf("invalid file left: %s: %v", p, err)
			continue
		}
		if f.Partial {
			partial++
		}
	}
	// A run killed after its last write but before it named its file
	// leaves a whole file no run named: at most one per killed run.
	if extra := len(all) - len(files); extra < partial || extra > int(killed.Load()) {
		t.Errorf("%d files in results/: %d named by runs, %d partial, %d runs killed", len(all), len(files), partial, killed.Load())
	}
	t.Logf("soak %v: %d runs (%d killed at random, %d refused --out onto an existing file), %d files (%d partial from killed runs; %d temporary files of killed runs), %d reads, %d losses",
		d, runs.Load(), killed.Load(), refused.Load(), len(all), partial, len(temps), reads.Load(), losses)
	if runs.Load() < 10 {
		t.Errorf("only %d runs", runs.Load())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// untilAbort returns at the second interrupt with what is finished,
// without waiting for the call in progress.
func TestUntilAbortReturnsFinished(t *testing.T) {
	a := &aborter{ch: make(chan struct{})}
	ctx := context.WithValue(context.Background(), aborterKey{}, a)
	path := filepath.Join(t.TempDir(), "r.json")
	rec := bench.NewRecorder(&result.File{SchemaVersion: result.SchemaVersion, Tool: result.Tool{Name: result.ToolName}}, path, bench.RecorderOptions{})
	release := make(chan struct{})
	defer close(release)
	m := result.Measurement{Workload: "gemm", Device: "cpu", DType: "fp32", Status: result.StatusSkipped}
	ms, aborted, err := untilAbort(ctx, rec, func() ([]result.Measurement, error) {
		rec.Add(m)
		close(a.ch) // the second interrupt, while the next call runs
		<-release
		return nil, nil
	})
	if !aborted || !errors.Is(err, context.Canceled) || len(ms) != 1 {
		t.Fatalf("untilAbort = %d measurements, %v, %v", len(ms), aborted, err)
	}
	if f, err := result.Read(path); err != nil || !f.Partial || len(f.Measurements) != 1 {
		t.Errorf("file: %v", err)
	}
	// Without an aborter (run called directly) it waits for measure.
	ms, aborted, err = untilAbort(context.Background(), rec, func() ([]result.Measurement, error) { return []result.Measurement{m, m}, nil })
	if aborted || err != nil || len(ms) != 2 {
		t.Errorf("without an aborter: %d, %v, %v", len(ms), aborted, err)
	}
}
