package hw

import (
	"errors"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	for _, dev := range []string{"auto", "cpu", "CPU"} {
		b, _, err := Open(dev, 1)
		if err != nil || b.Device().ID != "cpu" {
			t.Errorf("Open(%q): %v", dev, err)
		}
	}
	cases := map[string]string{"cuda": "no GPU backend", "cuda:1": "no GPU backend", "tpu": "unknown device"}
	for dev, want := range cases {
		_, _, err := Open(dev, 1)
		var ue *UnsupportedDeviceError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want %q", dev, err, want)
		}
	}
}
