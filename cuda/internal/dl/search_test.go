package dl

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func fakeEnv(vars map[string]string, dirs ...string) Env {
	return Env{
		Getenv: func(k string) string { return vars[k] },
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for _, d := range dirs {
				if ok, _ := filepath.Match(pattern, d); ok {
					out = append(out, d)
				}
			}
			sort.Strings(out) // as filepath.Glob does
			return out, nil
		},
		Arch: "amd64",
	}
}

var lt = Spec{Name: "cublasLt", Sonames: []string{"libcublasLt.so.13", "libcublasLt.so.12"}}

func paths(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Path
	}
	return out
}

func TestCandidatesOrder(t *testing.T) {
	env := fakeEnv(map[string]string{
		EnvPath: "/opt/cuda/lib:relative/dir::/x/libcublasLt.so.12.4.5:/x/libnvrtc.so.12",
		"HOME":  "/home/u", "VIRTUAL_ENV": "/venv", "PYTHONPATH": "rel:/pp",
	}, "/venv/lib/python3.11/site-packages", "/venv/lib/python3.11/site-packages/nvidia/cublas/lib",
		"/venv/lib/python3.11/site-packages/nvidia/cu13/lib", "/pp/nvidia/cublas/lib",
		"/usr/lib/python3/dist-packages")
	cands, ignored := Candidates(lt, env)
	got := paths(cands)
	want := []string{
		"/opt/cuda/lib/libcublasLt.so.13", "/opt/cuda/lib/libcublasLt.so.12",
		"/x/libcublasLt.so.12.4.5",
		"libcublasLt.so.13", "libcublasLt.so.12",
		"/usr/local/cuda/lib64/libcublasLt.so.13", "/usr/local/cuda/lib64/libcublasLt.so.12",
		"/usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13", "/usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.12",
		"/usr/lib/x86_64-linux-gnu/libcublasLt.so.13", "/usr/lib/x86_64-linux-gnu/libcublasLt.so.12",
		"/usr/lib64/libcublasLt.so.13", "/usr/lib64/libcublasLt.so.12",
		"/usr/lib/libcublasLt.so.13", "/usr/lib/libcublasLt.so.12",
		"/usr/lib/wsl/lib/libcublasLt.so.13", "/usr/lib/wsl/lib/libcublasLt.so.12",
		"/pp/nvidia/cublas/lib/libcublasLt.so.13", "/pp/nvidia/cublas/lib/libcublasLt.so.12",
		"/venv/lib/python3.11/site-packages/nvidia/cu13/lib/libcublasLt.so.13", "/venv/lib/python3.11/site-packages/nvidia/cu13/lib/libcublasLt.so.12",
		"/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublasLt.so.13", "/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublasLt.so.12",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("candidates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(ignored) != 1 || ignored[0].Path != "relative/dir" {
		t.Errorf("ignored = %v, want relative/dir", ignored)
	}
	for _, c := range cands {
		if strings.Contains(c.Path, "/") && !filepath.IsAbs(c.Path) {
			t.Errorf("relative candidate %q", c.Path)
		}
	}
}

func TestDriverSkipsToolkitAndWheels(t *testing.T) {
	env := fakeEnv(map[string]string{"VIRTUAL_ENV": "/venv"}, "/venv/lib/python3.12/site-packages",
		"/venv/lib/python3.12/site-packages/nvidia/cublas/lib")
	cands, _ := Candidates(Spec{Name: "cuda", Sonames: []string{"libcuda.so.1"}, Driver: true}, env)
	got := strings.Join(paths(cands), " ")
	want := "libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 /usr/lib/libcuda.so.1 /usr/lib/wsl/lib/libcuda.so.1"
	if got != want {
		t.Errorf("driver candidates %q, want %q", got, want)
	}
	arm, _ := Candidates(lt, Env{Getenv: func(string) string { return "" }, Glob: filepath.Glob, Arch: "arm64"})
	if p := strings.Join(paths(arm), " "); !strings.Contains(p, "/usr/lib/aarch64-linux-gnu/") || !strings.Contains(p, "targets/sbsa-linux/lib") {
		t.Errorf("arm64 candidates lack the aarch64 directories: %s", p)
	}
}

func TestFindReportsEveryAttempt(t *testing.T) {
	cands := []Candidate{{"libcublasLt.so.13", "loader"}, {"rel/libx.so", "bogus"}, {"/usr/lib/libcublasLt.so.12", "distribution"}}
	ignored := []Attempt{{Candidate{"relative/dir", EnvPath}, errors.New("ignored: not an absolute path")}}
	var tried []string
	open := func(p string) (string, error) {
		tried = append(tried, p)
		return "", errors.New(p + ": cannot open shared object file: No such file or directory")
	}
	_, _, err := Find(lt, cands, ignored, open)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want *NotFoundError", err)
	}
	if strings.Join(tried, " ") != "libcublasLt.so.13 /usr/lib/libcublasLt.so.12" {
		t.Errorf("opened %v; a relative path must never reach the loader", tried)
	}
	msg := err.Error()
	for _, want := range []string{
		"libcublasLt.so.13 not found; tried: relative/dir (FLOPCAST_CUDA_PATH): ignored: not an absolute path",
		"libcublasLt.so.13 (loader): cannot open shared object file",
		"rel/libx.so (bogus): rel/libx.so: refusing a relative path",
		"/usr/lib/libcublasLt.so.12 (distribution): cannot open shared object file",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if len(nf.Attempts) != 4 {
		t.Errorf("%d attempts, want 4", len(nf.Attempts))
	}

	// The first candidate that opens wins and later ones are not tried.
	tried = nil
	lib, c, err := Find(lt, cands, nil, func(p string) (string, error) {
		tried = append(tried, p)
		if strings.HasPrefix(p, "/usr/lib/") {
			return "ok:" + p, nil
		}
		return "", errors.New("no")
	})
	if err != nil || lib != "ok:/usr/lib/libcublasLt.so.12" || c.Source != "distribution" || len(tried) != 2 {
		t.Errorf("Find = %q, %+v, %v after %v", lib, c, err, tried)
	}
}

func TestOpenRealLoader(t *testing.T) {
	if _, err := Open("./libc.so.6"); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Errorf("Open(relative) = %v, want a refusal", err)
	}
	if _, err := Open("libflopcast-does-not-exist.so.9"); err == nil {
		t.Error("opening a missing library succeeded")
	}
	lib, err := Open("libc.so.6")
	if err != nil {
		t.Skipf("no libc.so.6 to test dlopen with: %v", err)
	}
	defer lib.Close()
	if _, name, err := lib.SymFirst("flopcast_nope_v2", "strlen"); err != nil || name != "strlen" {
		t.Errorf("SymFirst = %q, %v", name, err)
	}
	if !filepath.IsAbs(lib.Path) {
		t.Errorf("Path %q after a symbol lookup is not the absolute file", lib.Path)
	}
	if _, err := lib.Sym("flopcast_no_such_symbol"); err == nil {
		t.Error("missing symbol found")
	}
}
