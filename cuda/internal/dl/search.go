package dl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	"github.com/flopcast/flopcast/cuda"
)

// EnvPath names the environment variable with the directories (or library
// files), separated by colons, searched before anything else.
const EnvPath = "FLOPCAST_CUDA_PATH"

// Spec describes one library to look for.
type Spec struct {
	// Name is the library's short name, e.g. "cublasLt".
	Name string
	// Sonames are the file names to try, newest first.
	Sonames []string
	// Driver marks the driver's own library (libcuda): it is installed
	// with the kernel driver, so the CUDA toolkit and Python wheels are
	// not searched (they carry only link stubs of it).
	Driver bool
	// Require lists the symbols a candidate must export to be used, each
	// entry a list of alternative names (newest first). A candidate that
	// opens but lacks one is closed and the search goes on, so a stray
	// file of the same name (a stub, a wrong version, something else) is
	// skipped instead of failing later.
	Require [][]string
}

// Required returns Require's form of a binding table: the names tried for
// each key, as Library.BindAll takes them.
func Required(symbols map[string][]string) [][]string {
	keys := make([]string, 0, len(symbols))
	for k := range symbols {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = symbols[k]
	}
	return out
}

// Env is what the search reads from the process; tests substitute it.
type Env struct {
	Getenv func(string) string
	Glob   func(pattern string) ([]string, error)
	// Arch is the Go architecture, which picks the Debian multiarch
	// directory.
	Arch string
}

// ProcessEnv is the running process's environment.
func ProcessEnv() Env { return Env{Getenv: os.Getenv, Glob: filepath.Glob, Arch: runtime.GOARCH} }

// Candidate is one place a library is looked for.
type Candidate struct {
	// Path is a bare soname (resolved by the dynamic loader through
	// LD_LIBRARY_PATH, the ldconfig cache and its default directories) or
	// an absolute path.
	Path string
	// Source says why it is tried, e.g. "FLOPCAST_CUDA_PATH" or
	// "python site-packages".
	Source string
}

// Attempt is one candidate tried and why it failed.
type Attempt struct {
	Candidate
	Err error
}

func (a Attempt) String() string {
	return fmt.Sprintf("%s (%s): %v", a.Path, a.Source, a.Err)
}

// NotFoundError is returned when no candidate of a library opened.
type NotFoundError struct {
	Spec     Spec
	Attempts []Attempt
}

// ErrNotFound matches every *NotFoundError with errors.Is.
var ErrNotFound = cuda.ErrLibraryNotFound

func (e *NotFoundError) Error() string {
	parts := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		parts[i] = a.String()
	}
	head := e.Spec.Sonames[0] + " not found"
	if n := e.unusable(); n > 0 {
		head = fmt.Sprintf("no usable %s (%d file(s) of that name lack its functions)", e.Spec.Sonames[0], n)
	}
	return fmt.Sprintf("%s; tried: %s", head, strings.Join(parts, "; "))
}

// unusable counts the attempts that opened a file lacking a required
// symbol.
func (e *NotFoundError) unusable() int {
	n := 0
	for _, a := range e.Attempts {
		var m *missingError
		if errors.As(a.Err, &m) {
			n++
		}
	}
	return n
}

// missingError is a candidate that opened but lacks a required symbol.
type missingError struct{ where, missing string }

func (e *missingError) Error() string {
	if e.where == "" {
		return fmt.Sprintf("lacks %s (not this library, or too old)", e.missing)
	}
	return fmt.Sprintf("%s lacks %s (not this library, or too old)", e.where, e.missing)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// multiarch returns the Debian multiarch triplet for a Go architecture.
func multiarch(goarch string) string {
	switch goarch {
	case "arm64":
		return "aarch64-linux-gnu"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	default:
		return "x86_64-linux-gnu"
	}
}

// Candidates returns the places the library is looked for, in order:
//
//  1. every directory (or file) in FLOPCAST_CUDA_PATH;
//  2. the bare soname, which the dynamic loader resolves through
//     LD_LIBRARY_PATH, the ldconfig cache and its default directories;
//  3. /usr/local/cuda/lib64 and /usr/local/cuda/targets/<arch>/lib (not for
//     the driver);
//  4. the distribution's library directories (and WSL's);
//  5. the nvidia/*/lib directories of Python's site-packages, where pip's
//     nvidia-* wheels put their libraries (not for the driver).
//
// Within each place the sonames are tried newest first. Relative paths are
// never tried: a relative FLOPCAST_CUDA_PATH entry is reported in ignored.
func Candidates(s Spec, env Env) (cands []Candidate, ignored []Attempt) {
	seen := map[string]bool{}
	add := func(path, source string) {
		if !seen[path] {
			seen[path] = true
			cands = append(cands, Candidate{path, source})
		}
	}
	inDirs := func(dirs []string, source string) {
		for _, d := range dirs {
			for _, so := range s.Sonames {
				add(filepath.Join(d, so), source)
			}
		}
	}
	if v := env.Getenv(EnvPath); v != "" {
		for _, p := range strings.Split(v, ":") {
			switch {
			case p == "":
			case !filepath.IsAbs(p):
				ignored = append(ignored, Attempt{Candidate{p, EnvPath}, errors.New("ignored: not an absolute path")})
			case isLibFile(p):
				if matchesSpec(filepath.Base(p), s) {
					add(filepath.Clean(p), EnvPath)
				}
			default:
				inDirs([]string{filepath.Clean(p)}, EnvPath)
			}
		}
	}
	for _, so := range s.Sonames {
		add(so, "loader")
	}
	if !s.Driver {
		inDirs([]string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/" + targetDir(env.Arch) + "/lib"}, "cuda toolkit")
	}
	inDirs([]string{"/usr/lib/" + multiarch(env.Arch), "/usr/lib64", "/usr/lib", "/usr/lib/wsl/lib"}, "distribution")
	if !s.Driver {
		inDirs(sitePackages(env), "python site-packages")
	}
	return cands, ignored
}

func targetDir(goarch string) string {
	if goarch == "arm64" {
		return "sbsa-linux"
	}
	return "x86_64-linux"
}

func isLibFile(p string) bool {
	b := filepath.Base(p)
	return strings.HasSuffix(b, ".so") || strings.Contains(b, ".so.")
}

// matchesSpec reports whether a file named in FLOPCAST_CUDA_PATH is this
// library (e.g. libcublasLt.so.12.4.5.8 for libcublasLt.so.12).
func matchesSpec(base string, s Spec) bool {
	for _, so := range s.Sonames {
		stem := so[:strings.Index(so, ".so")+3]
		if strings.HasPrefix(base, stem) {
			return true
		}
	}
	return false
}

// sitePackages returns the nvidia/*/lib directories of the Python
// installations found, sorted within each root by the glob.
func sitePackages(env Env) []string {
	var roots []string
	for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if p := env.Getenv(v); filepath.IsAbs(p) {
			roots = append(roots, p)
		}
	}
	if h := env.Getenv("HOME"); filepath.IsAbs(h) {
		roots = append(roots, filepath.Join(h, ".local"))
	}
	roots = append(roots, "/usr/local", "/usr", "/opt/conda")
	var pkgDirs []string
	for _, p := range strings.Split(env.Getenv("PYTHONPATH"), ":") {
		if filepath.IsAbs(p) {
			pkgDirs = append(pkgDirs, p)
		}
	}
	for _, r := range roots {
		for _, sub := range []string{"site-packages", "dist-packages"} {
			m, _ := env.Glob(filepath.Join(r, "lib", "python3*", sub))
			pkgDirs = append(pkgDirs, m...)
		}
	}
	var out []string
	for _, d := range pkgDirs {
		m, _ := env.Glob(filepath.Join(d, "nvidia", "*", "lib"))
		out = append(out, m...)
	}
	return out
}

// Find opens the first candidate that opens with open, skipping none, and
// returns it with the candidate used. When none opens, the error is a
// *NotFoundError listing ignored entries and every candidate with its
// failure.
func Find[T any](s Spec, cands []Candidate, ignored []Attempt, open func(path string) (T, error)) (T, Candidate, error) {
	attempts := append([]Attempt(nil), ignored...)
	for _, c := range cands {
		if err := checkName(c.Path); err != nil {
			attempts = append(attempts, Attempt{c, err})
			continue
		}
		lib, err := open(c.Path)
		if err == nil {
			return lib, c, nil
		}
		attempts = append(attempts, Attempt{c, shorten(err, c.Path)})
	}
	var zero T
	return zero, Candidate{}, &NotFoundError{Spec: s, Attempts: attempts}
}

// shorten drops the path that dlerror repeats at the start of its message.
func shorten(err error, path string) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, path+": "); ok {
		return errors.New(rest)
	}
	return err
}

// checkName refuses relative paths: a name is a bare soname (no slash) or
// an absolute path.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty library name")
	}
	if strings.Contains(name, "/") && !filepath.IsAbs(name) {
		return fmt.Errorf("%s: refusing a relative path", name)
	}
	return nil
}

// Load finds and opens the library with the process environment, skipping
// candidates that lack a symbol of s.Require.
func Load(s Spec) (*Library, Candidate, error) {
	cands, ignored := Candidates(s, ProcessEnv())
	return Find(s, cands, ignored, func(path string) (*Library, error) { return openChecked(path, s.Require, Open) })
}

// LoadBound loads the library as Load does and binds symbols as
// Library.BindAll does, returning the library, the candidate it came from
// and the addresses by key. When binding fails the opened library and its
// candidate are still returned, with the error.
func LoadBound(s Spec, symbols map[string][]string) (*Library, Candidate, map[string]unsafe.Pointer, error) {
	lib, cand, err := Load(s)
	if err != nil {
		return lib, cand, nil, err
	}
	f, err := lib.BindAll(symbols)
	return lib, cand, f, err
}

// Probe finds the first candidate that opens (RTLD_LAZY|RTLD_LOCAL) and
// exports every symbol of s.Require, closes it again, and returns the
// file the loader mapped for it (an absolute path), for a library that
// another package opens itself (go-nvml opens NVML with RTLD_GLOBAL and
// calls into it without checking that the functions exist, which aborts
// the process on a library that lacks one).
func Probe(s Spec) (string, Candidate, error) {
	cands, ignored := Candidates(s, ProcessEnv())
	lib, c, err := Find(s, cands, ignored, func(path string) (*Library, error) { return openChecked(path, s.Require, OpenLazy) })
	if err != nil {
		return "", c, err
	}
	defer lib.Close()
	if !filepath.IsAbs(lib.Path) {
		return "", c, &NotFoundError{Spec: s, Attempts: []Attempt{{c, errors.New("the loader does not say which file it mapped")}}}
	}
	return lib.Path, c, nil
}

// openChecked opens path with open and returns it when it exports every
// entry of require; otherwise it closes it and says what is missing.
func openChecked(path string, require [][]string, open func(string) (*Library, error)) (*Library, error) {
	lib, err := open(path)
	if err != nil {
		return nil, err
	}
	if miss := lib.Missing(require); miss != "" {
		where := lib.Path
		lib.Close()
		if where == path {
			where = ""
		}
		return nil, &missingError{where, miss}
	}
	return lib, nil
}
