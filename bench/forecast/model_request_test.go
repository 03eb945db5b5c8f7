package forecast

import (
	"strings"
	"testing"
)

// TestModelRequest: a preset with an override drops its published counts,
// a custom shape gets its defaults, and conflicting or missing model
// flags are refused naming the flags.
func TestModelRequest(t *testing.T) {
	var in Input
	m, err := ModelRequest{Preset: "llama3-8b", Layers: 16, Set: map[string]bool{"model": true, "layers": true}}.Resolve(&in)
	if err != nil || m.Layers != 16 || m.TotalParams != 0 {
		t.Fatalf("override: %+v, %v", m, err)
	}
	m, err = ModelRequest{Layers: 2, Hidden: 256, Heads: 4, Set: map[string]bool{"layers": true, "hidden": true, "heads": true}}.Resolve(&in)
	if err != nil || m.Name != "custom" || m.KVHeads != 4 || m.FFN != 1024 || len(in.Warnings) != 1 {
		t.Fatalf("custom: %+v, %v, %v", m, err, in.Warnings)
	}
	for _, c := range []struct {
		r    ModelRequest
		want string
	}{
		{ModelRequest{Preset: "llama3-8b", Params: "8B", Set: map[string]bool{"model": true, "params": true}}, "--model, --params"},
		{ModelRequest{}, "--model: give a preset"},
		{ModelRequest{Params: "x"}, `--params "x": not a number`},
		{ModelRequest{Params: "8B", Hidden: 4096, Set: map[string]bool{"params": true, "hidden": true}}, "--hidden with --params"},
	} {
		if _, err := c.r.Resolve(&Input{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
	var ref Input
	if m, err := (ModelRequest{Reference: true}).Resolve(&ref); err != nil || m.Name != "llama3-405b" || len(ref.Sources) != 1 {
		t.Errorf("reference: %s, %v, %v", m.Name, err, ref.Sources)
	}
}
