package hw

import (
	"os"

	"github.com/flopcast/flopcast/cuda"
)

// LoaderNotice returns a one-line warning when this process's
// LD_LIBRARY_PATH makes the dynamic loader search the working directory
// (an entry "." or another relative one, or an empty entry), where a file
// named like libcuda.so.1 or libopenblas.so.0 would be loaded in place of
// the real library; "" when it does not.
func LoaderNotice() string {
	if w := cuda.LoaderPathWarning(os.Getenv("LD_LIBRARY_PATH")); w != "" {
		return "warning: " + w
	}
	return ""
}
