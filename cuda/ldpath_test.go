package cuda

import (
	"strings"
	"testing"
)

func TestLoaderPathWarning(t *testing.T) {
	cases := []struct{ value, want string }{
		{"", ""},
		{"/usr/lib:/opt/cuda/lib64", ""},
		{".", "the entry ."},
		{"/usr/lib:", `the entry "" (empty)`},
		{":/usr/lib", `the entry "" (empty)`},
		{"/a::/b", `the entry "" (empty)`},
		{"lib:./x:lib", "the entry lib, ./x"},
		{"/a;;/b", `the entry "" (empty)`},
	}
	for _, c := range cases {
		got := LoaderPathWarning(c.value)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("LoaderPathWarning(%q) = %q, want one containing %q", c.value, got, c.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("LoaderPathWarning(%q) is not one line: %q", c.value, got)
		}
	}
}
