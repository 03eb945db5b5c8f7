package gpu

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/flopcast/flopcast/cuda/driver"
	"github.com/flopcast/flopcast/kernels"
	kcuda "github.com/flopcast/flopcast/kernels/cuda"
)

// kernelSignatures parses the extern "C" kernels of a CUDA source into
// the Go type each parameter must be launched with: cuLaunchKernel reads
// sizeof(parameter) bytes through each kernelParams pointer, so a Go
// int32 for a C "unsigned long long" leaves 4 bytes of garbage, and a Go
// uint64 for a C "int" is read as its low half only by luck.
func kernelSignatures(t *testing.T, src string) map[string][]reflect.Type {
	t.Helper()
	goType := map[string]reflect.Type{
		"int":                reflect.TypeFor[int32](),
		"unsigned int":       reflect.TypeFor[uint32](),
		"unsigned":           reflect.TypeFor[uint32](),
		"float":              reflect.TypeFor[float32](),
		"double":             reflect.TypeFor[float64](),
		"long long":          reflect.TypeFor[int64](),
		"unsigned long long": reflect.TypeFor[uint64](),
		"u64":                reflect.TypeFor[uint64](), // block.cu's typedef
	}
	re := regexp.MustCompile(`extern "C" __global__ void (\w+)\(([^)]*)\)`)
	out := map[string][]reflect.Type{}
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		var types []reflect.Type
		for _, p := range strings.Split(m[2], ",") {
			if strings.Contains(p, "*") {
				types = append(types, reflect.TypeFor[driver.Ptr]())
				continue
			}
			var words []string
			for _, w := range strings.Fields(p) {
				if w != "const" && w != "__restrict__" {
					words = append(words, w)
				}
			}
			if len(words) < 2 {
				t.Fatalf("%s: cannot read parameter %q", m[1], p)
			}
			c := strings.Join(words[:len(words)-1], " ")
			g, ok := goType[c]
			if !ok {
				t.Fatalf("%s: parameter %q has C type %q with no Go mapping", m[1], p, c)
			}
			types = append(types, g)
		}
		out[m[1]] = types
	}
	return out
}

// checkLaunch compares one launch's arguments with the kernel's
// parameters and checks they pack.
func checkLaunch(sigs map[string][]reflect.Type, kernel string, args []any) error {
	want, ok := sigs[kernel]
	if !ok {
		return fmt.Errorf("kernel %s is not in the source", kernel)
	}
	if len(args) != len(want) {
		return fmt.Errorf("%s: %d arguments, the kernel takes %d", kernel, len(args), len(want))
	}
	for i, a := range args {
		if got := reflect.TypeOf(a); got != want[i] {
			return fmt.Errorf("%s: argument %d is %v, the kernel's parameter needs %v", kernel, i, got, want[i])
		}
	}
	if _, err := driver.KernelArgs(args...); err != nil {
		return fmt.Errorf("%s: %v", kernel, err)
	}
	return nil
}

func TestKernelSignaturesParse(t *testing.T) {
	sigs := kernelSignatures(t, kcuda.BlockSource)
	if len(sigs) != len(kcuda.BlockKernels) {
		t.Errorf("parsed %d block kernels, want %d", len(sigs), len(kcuda.BlockKernels))
	}
	p, i, f, u := reflect.TypeFor[driver.Ptr](), reflect.TypeFor[int32](), reflect.TypeFor[float32](), reflect.TypeFor[uint64]()
	want := []reflect.Type{p, p, p, p, p, p, i, i, f, i}
	if got := sigs[kcuda.BlockNormFwd]; !reflect.DeepEqual(got, want) {
		t.Errorf("%s parameters %v, want %v", kcuda.BlockNormFwd, got, want)
	}
	if got := sigs[kcuda.BlockMSE]; !reflect.DeepEqual(got, []reflect.Type{p, p, p, p, u}) {
		t.Errorf("%s parameters %v", kcuda.BlockMSE, got)
	}
	// A mismatch is caught.
	if err := checkLaunch(sigs, kcuda.BlockAdd, []any{driver.Ptr(1), driver.Ptr(2), driver.Ptr(3), int32(4)}); err == nil {
		t.Error("an int32 for an unsigned long long parameter was accepted")
	}
}

// TestLaunchArgumentsMatchKernels builds the block step's operations for
// both architectures and checks every kernel launch's arguments, count
// and Go type, against the kernel's C parameters in block.cu, and the copy
// kernel's against copy.cu.
func TestLaunchArgumentsMatchKernels(t *testing.T) {
	sigs := kernelSignatures(t, kcuda.BlockSource)
	tiny, _ := kernels.LookupModel("tiny")
	launched := map[string]bool{}
	for _, arch := range []kernels.Arch{kernels.Llama, kernels.GPT} {
		cfg := kernels.BlockFromModel(tiny)
		cfg.Arch = arch
		e := newEmulator(t, cfg, 1)
		e.s.steps = 1
		for _, op := range e.s.ops {
			if op.kernel == "" {
				continue
			}
			launched[op.kernel] = true
			if err := checkLaunch(sigs, op.kernel, op.args()); err != nil {
				t.Errorf("%s op %s: %v", arch, op.name, err)
			}
			l := op.launch
			if l.block[0] == 0 || l.block[0]%32 != 0 || l.block[0] > 1024 || l.grid[0] == 0 {
				t.Errorf("%s op %s: grid %v block %v", arch, op.name, l.grid, l.block)
			}
		}
	}
	// Every kernel but flopcast_add (kept for residual adds, which the
	// step folds into its GEMMs' beta) is launched, so every one was
	// checked.
	for _, k := range kcuda.BlockKernels {
		if !launched[k] && k != kcuda.BlockAdd {
			t.Errorf("kernel %s is never launched, so its arguments were not checked", k)
		}
	}

	copySigs := kernelSignatures(t, kcuda.CopySource)
	if err := checkLaunch(copySigs, kcuda.Copy16Kernel, copyArgs(driver.Ptr(1<<20), driver.Ptr(1<<21), 1<<20)); err != nil {
		t.Error(err)
	}
	if n := copyArgs(0, 0, 1<<20)[2]; n != uint64(1<<16) {
		t.Errorf("copy kernel count %v, want %d 16-byte vectors", n, 1<<16)
	}
}
