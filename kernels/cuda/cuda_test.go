package cuda

import (
	"strings"
	"testing"
)

func TestSourceEmbedsKernels(t *testing.T) {
	for _, k := range []string{Copy16Kernel, PoisonKernel} {
		if !strings.Contains(CopySource, `extern "C" __global__ void `+k+"(") {
			t.Errorf("CopySource lacks extern \"C\" kernel %s", k)
		}
	}
	if strings.Contains(CopySource, "#include") {
		t.Error("kernels must not include headers: NVRTC has no CUDA headers on a bare machine")
	}
	if !strings.Contains(CopySource, "uint4") {
		t.Error("the copy kernel must move 16-byte vectors")
	}
}
