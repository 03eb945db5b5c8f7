package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
)

// NewFile starts a results file for a run on b: tool, host, device and
// environment filled in, no measurements yet.
func NewFile(tool result.Tool, b backend.Backend, threads int, suite string, command []string) *result.File {
	dev := b.Device()
	tool.Name = result.ToolName
	if tool.GoVersion == "" {
		tool.GoVersion = runtime.Version()
	}
	env := result.Environment{GOMAXPROCS: runtime.GOMAXPROCS(0), Threads: threads, Vars: sysinfo.LibraryVars()}
	if lib := dev.Library; lib != nil {
		env.BLAS = lib.Name
		if lib.Version != "" {
			env.BLAS += " " + lib.Version
		}
		if lib.Path != "" {
			env.BLAS += fmt.Sprintf(" (%s)", lib.Path)
		}
		if env.Threads == 0 {
			env.Threads = lib.Threads
		}
	}
	return &result.File{
		SchemaVersion: result.SchemaVersion,
		Tool:          tool,
		Created:       time.Now().UTC().Truncate(time.Second),
		Host:          sysinfo.Local.Host(),
		Devices:       []result.Device{dev},
		Environment:   env,
		Command:       command,
		Suite:         suite,
		Measurements:  []result.Measurement{},
	}
}

// Recorder keeps a run's results file on disk up to date while the run
// measures: every finished measurement is written at once (the whole file
// so far, atomically replaced, marked partial), so a crash, an OOM kill
// or SIGKILL loses at most the measurement in progress. The first write
// creates the file exclusively: an existing file is never replaced unless
// Replace says so. When a write fails (a full disk, a vanished
// directory) the Recorder goes on in a file under os.TempDir(), and
// Finish returns that file and the error. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	file *result.File
	// path is where the file goes; Replace allows replacing a file already
	// there, and Rename, when set, gives another name (try = 1, 2, ...)
	// when path is taken (default names).
	path    string
	replace bool
	rename  func(try int) string
	written bool // path holds this run's file
	// fallback is where the file went after writing path failed; err is
	// that failure.
	fallback string
	err      error
	closed   bool
}

// RecorderOptions say what a Recorder may do when its path exists.
type RecorderOptions struct {
	// Replace lets the first write replace a file at the path (--force).
	Replace bool
	// Rename, when set, names another path to try when the path is taken;
	// try counts from 1. Without it a taken path is a write failure.
	Rename func(try int) string
}

// NewRecorder returns a Recorder that writes file to path. Nothing is
// written until the first Add or Finish.
func NewRecorder(file *result.File, path string, opt RecorderOptions) *Recorder {
	return &Recorder{file: file, path: path, replace: opt.Replace, rename: opt.Rename}
}

// Add appends finished measurements and writes the file, marked partial.
// After Finish it does nothing.
func (r *Recorder) Add(ms ...result.Measurement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.file.Measurements = append(r.file.Measurements, ms...)
	r.file.Partial = true
	r.save()
}

// Measurements returns a copy of the measurements recorded so far.
func (r *Recorder) Measurements() []result.Measurement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result.Measurement(nil), r.file.Measurements...)
}

// Finish writes the file a last time, with ms as its measurements when ms
// is not nil (the runner's final list), and partial as given; later Adds
// are ignored. It returns where the file is (the path, or the fallback
// after a failed write; "" when it could be written nowhere) and the
// first write error.
func (r *Recorder) Finish(ms []result.Measurement, partial bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		if ms != nil {
			r.file.Measurements = ms
		}
		r.file.Partial = partial
		r.save()
		r.closed = true
	}
	return r.where(), r.err
}

// File returns the file the Recorder writes; read it only after Finish.
func (r *Recorder) File() *result.File { return r.file }

func (r *Recorder) where() string {
	if r.err != nil {
		return r.fallback
	}
	return r.path
}

// save writes the file; r.mu is held.
func (r *Recorder) save() {
	if r.err != nil {
		if r.fallback != "" {
			if err := result.Write(r.fallback, r.file); err != nil {
				r.fallback = ""
			}
		}
		return
	}
	err := r.savePath()
	if err == nil {
		return
	}
	r.err = fmt.Errorf("writing %s: %w", r.path, err)
	fallback := fallbackPath(r.path)
	if ferr := result.Create(fallback, r.file); ferr != nil {
		// The error names the file tried (a second fallbackPath would
		// name another).
		r.err = fmt.Errorf("%w; writing %s instead: %v", r.err, fallback, ferr)
		return
	}
	r.fallback = fallback
}

// maxRenames bounds the names a Recorder tries when its path is taken.
const maxRenames = 100

// savePath writes the file at r.path: created exclusively the first time
// (another name when taken and Rename allows), replaced afterwards.
func (r *Recorder) savePath() error {
	if r.written || r.replace {
		if err := result.Write(r.path, r.file); err != nil {
			return err
		}
		r.written = true
		return nil
	}
	for try := 1; ; try++ {
		err := result.Create(r.path, r.file)
		if err == nil {
			r.written = true
			return nil
		}
		if !errors.Is(err, fs.ErrExist) || r.rename == nil || try > maxRenames {
			if errors.Is(err, fs.ErrExist) {
				return errors.New("the file exists (another run wrote it); not replaced")
			}
			return err
		}
		r.path = r.rename(try)
	}
}

// fallbackPath is a new file under os.TempDir() named after path.
func fallbackPath(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	if len(base) > 180 {
		base = base[:180]
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s-%d-%d.json", base, os.Getpid(), time.Now().UnixNano()))
}
