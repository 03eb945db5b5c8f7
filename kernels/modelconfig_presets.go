package kernels

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// presetFiles are the model presets: Hugging Face config.json files with a
// "flopcast" object (name, source, training sequence, aliases).
//
//go:embed models/*.json
var presetFiles embed.FS

// presetOrder is the order Presets lists the embedded files in: test
// shapes, then dense models by family and size, then mixtures of experts.
var presetOrder = []string{
	"tiny", "small",
	"llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "llama3-405b",
	"gpt3-175b", "mpt-7b", "mpt-30b", "mpt-70b", "qwen3-8b", "qwen3-32b", "nemotron-4-340b",
	"mixtral-8x7b", "mixtral-8x22b", "qwen3-30b-a3b", "qwen3-235b-a22b", "gpt-oss-20b", "gpt-oss-120b", "deepseek-v3",
}

// presets are the parsed presets in presetOrder; presetAliases maps an
// alias (llama3.1-8b) to its preset's name.
var presets, presetAliases = loadPresets()

// loadPresets parses the embedded presets. They are part of the program,
// checked by the tests, so a broken one is a build defect and panics.
func loadPresets() ([]Model, map[string]string) {
	out := make([]Model, 0, len(presetOrder))
	aliases := map[string]string{}
	for _, name := range presetOrder {
		data, err := presetFiles.ReadFile("models/" + name + ".json")
		if err != nil {
			panic(fmt.Sprintf("kernels: embedded model preset %s: %v", name, err))
		}
		m, ex, err := parseHFConfig(data)
		if err != nil {
			panic(fmt.Sprintf("kernels: embedded model preset %s: %v", name, err))
		}
		if m.Name != name {
			panic(fmt.Sprintf("kernels: embedded model preset %s is named %q", name, m.Name))
		}
		out = append(out, m)
		for _, a := range ex.aliases {
			aliases[strings.ToLower(a)] = name
		}
	}
	return out, aliases
}

// Presets returns the preset names in table order (aliases not included).
func Presets() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.Name
	}
	return out
}

// LookupModel returns the preset with the given name or alias. An unknown
// name gets an error listing the closest names.
func LookupModel(name string) (Model, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := presetAliases[n]; ok {
		n = a
	}
	for _, p := range presets {
		if p.Name == n {
			return p, nil
		}
	}
	var alias []string
	for a := range presetAliases {
		alias = append(alias, a)
	}
	sort.Strings(alias)
	names := append(Presets(), alias...)
	return Model{}, fmt.Errorf("unknown model preset %q (close: %s)", name, strings.Join(Closest(n, names, 3), ", "))
}
