package forecast

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/kernels"
)

// ModelRequest is the model of a forecast as a user asks for it: a
// preset, a Hugging Face config.json, a parameter count alone, or a
// custom shape, with shape overrides on top. Errors name the
// command-line flag of the field at fault.
type ModelRequest struct {
	// Preset, ConfigFile and Params (a count such as "70B") are the three
	// exclusive ways to name a model.
	Preset, ConfigFile, Params string
	// Layers to Seq override the named model's shape (or give a custom
	// one); an override counts only where Set has its flag name.
	Layers, Hidden, Heads, KVHeads, FFN, Vocab, Seq int
	// Set holds the flag names given ("model", "layers", "kv-heads", ...).
	Set map[string]bool
	// Reference, when no model is named, takes llama3-405b as the
	// reference for the per-GPU speed (what a budget needs) instead of
	// refusing.
	Reference bool
}

// Resolve builds the model of r; the warnings and sources it gives go to
// in.
func (r ModelRequest) Resolve(in *Input) (kernels.Model, error) {
	var m kernels.Model
	given := flagsSet(r.Set, "model", "model-config", "params")
	if len(given) > 1 {
		return m, fmt.Errorf("--model, --model-config and --params: give one of them, not several (%s)", strings.Join(given, ", "))
	}
	switch {
	case r.Preset != "":
		p, err := kernels.LookupModel(r.Preset)
		if err != nil {
			return m, fmt.Errorf("--model: %v", err)
		}
		m = p
	case r.ConfigFile != "":
		p, err := kernels.LoadModelConfig(r.ConfigFile)
		if err != nil {
			return m, fmt.Errorf("--model-config: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		m = p
	case r.Params != "":
		n, err := ParseCount("params", r.Params)
		if err != nil {
			return m, err
		}
		if n > 1e15 {
			return m, fmt.Errorf("--params %s: more than 1e15 parameters, beyond any model this forecast describes", r.Params)
		}
		est, note := ModelFromParams(n, r.Seq, r.Vocab)
		m = est
		in.Warnings = append(in.Warnings, "--params alone: "+note)
	case r.Set["layers"] || r.Set["hidden"]:
		m = kernels.Model{Name: "custom", Arch: kernels.Llama, Vocab: 32000, Seq: 4096, Batch: 1}
		if !r.Set["vocab"] || !r.Set["seq"] {
			in.Warnings = append(in.Warnings, "custom model: vocabulary 32,000 and sequence 4,096 assumed where --vocab or --seq is not given")
		}
	case r.Reference:
		m, _ = kernels.LookupModel("llama3-405b")
		in.Sources = append(in.Sources, "no --model: llama3-405b is the reference for the per-GPU speed")
	default:
		return m, fmt.Errorf("--model: give a preset (%s), --model-config FILE, --params, or --layers/--hidden/--heads", strings.Join(kernels.Presets(), ", "))
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"layers", r.Layers, &m.Layers}, {"hidden", r.Hidden, &m.Hidden}, {"heads", r.Heads, &m.Heads},
		{"kv-heads", r.KVHeads, &m.KVHeads}, {"ffn", r.FFN, &m.FFN}, {"vocab", r.Vocab, &m.Vocab}, {"seq", r.Seq, &m.Seq}} {
		if !r.Set[f.name] {
			continue
		}
		if f.v <= 0 {
			return m, fmt.Errorf("--%s %d: must be > 0", f.name, f.v)
		}
		if limit := ModelLimits[f.name]; f.v > limit {
			return m, fmt.Errorf("--%s %d: more than %d, beyond any model this forecast describes", f.name, f.v, limit)
		}
		if r.Params != "" && f.name != "seq" && f.name != "vocab" {
			return m, fmt.Errorf("--%s with --params: the shape is estimated from the parameter count; give --layers/--hidden/--heads without --params", f.name)
		}
		*f.dst = f.v
		if r.Preset != "" || r.ConfigFile != "" {
			m.TotalParams, m.ActiveParams = 0, 0 // published counts no longer describe the shape
		}
	}
	if m.Name == "custom" {
		if m.KVHeads == 0 {
			m.KVHeads = m.Heads
		}
		if m.FFN == 0 {
			m.FFN = 4 * m.Hidden
		}
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("--model: %v", err)
	}
	return m, nil
}

// flagsSet lists, as "--name", the flags of names that set holds.
func flagsSet(set map[string]bool, names ...string) []string {
	var out []string
	for _, n := range names {
		if set[n] {
			out = append(out, "--"+n)
		}
	}
	return out
}

// ParseCount reads a positive count with an optional K, M, B (or G) or T
// suffix, as the command line gives it for flag flagName.
func ParseCount(flagName, s string) (float64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1e3, t[:n-1]
		case 'M':
			mult, t = 1e6, t[:n-1]
		case 'B', 'G':
			mult, t = 1e9, t[:n-1]
		case 'T':
			mult, t = 1e12, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("--%s %q: not a number (suffixes K, M, B, T accepted)", flagName, s)
	}
	v *= mult
	if v <= 0 {
		return 0, fmt.Errorf("--%s %s: must be > 0", flagName, s)
	}
	return v, nil
}
