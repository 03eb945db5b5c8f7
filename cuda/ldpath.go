package cuda

import (
	"fmt"
	"slices"
	"strings"
)

// LoaderPathWarning returns a one-line warning when ldLibraryPath (the
// value of LD_LIBRARY_PATH) makes the dynamic loader search the working
// directory: an entry "." (or another relative one) or an empty entry (a
// leading, trailing or doubled colon). Any file there named like a
// library flopcast opens (libcuda.so.1, libnvidia-ml.so.1,
// libopenblas.so.0, ...) is then loaded in its place. It returns "" when
// the value is safe.
func LoaderPathWarning(ldLibraryPath string) string {
	if ldLibraryPath == "" {
		return ""
	}
	var bad []string
	for _, p := range strings.Split(strings.ReplaceAll(ldLibraryPath, ";", ":"), ":") {
		switch {
		case p == "":
			if !slices.Contains(bad, `"" (empty)`) {
				bad = append(bad, `"" (empty)`)
			}
		case !strings.HasPrefix(p, "/"):
			if !slices.Contains(bad, p) {
				bad = append(bad, p)
			}
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("LD_LIBRARY_PATH has the entry %s: the dynamic loader then looks for libraries in (or under) the working directory; use absolute directories only", strings.Join(bad, ", "))
}
