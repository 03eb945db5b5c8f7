package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/flopcast/flopcast/bench/backend"
	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/result"
)

// Limits are the pass/fail thresholds for one kind of node. A nil or
// missing value falls through to the next level: the instance type's
// entry, then the GPU model's, then the file's default, then the catalog,
// then flopcast's built-in ratios.
type Limits struct {
	// BusGBps is the least bus bandwidth, in GB/s (10^9 bytes/s), at the
	// largest size measured, keyed "scope/collective" (e.g.
	// "intra_node/all_reduce") or "scope" for every collective of it.
	BusGBps map[string]float64 `yaml:"bus_gbps"`
	// LocalTFLOPS is the least local GEMM throughput in TFLOP/s.
	LocalTFLOPS *float64 `yaml:"local_tflops"`
	// FleetRatioComm and FleetRatioLocal are the least ratio of a node's
	// figure to the fleet median (checked with at least three nodes).
	FleetRatioComm  *float64 `yaml:"fleet_ratio_comm"`
	FleetRatioLocal *float64 `yaml:"fleet_ratio_local"`
	// StragglerMS is how late (ms, median over the straggler test's
	// calls) a rank may arrive at the collective.
	StragglerMS *float64 `yaml:"straggler_ms"`
	// Source cites where the figures come from.
	Source string `yaml:"source"`
}

// Thresholds is a thresholds file: limits keyed by instance type, then GPU
// model (a case-insensitive substring of the reported name), then default.
type Thresholds struct {
	Default       Limits            `yaml:"default"`
	GPUModels     map[string]Limits `yaml:"gpu_models"`
	InstanceTypes map[string]Limits `yaml:"instance_types"`
	// Path is the file read ("" for none).
	Path string `yaml:"-"`
	// Catalog supplies datasheet defaults (nil: the embedded one).
	Catalog *catalog.Catalog `yaml:"-"`
}

// defaultCatalog is the embedded catalog, parsed once.
var defaultCatalog = sync.OnceValue(catalog.Default)

// Built-in defaults: flopcast's own choices, not datasheet figures.
const (
	defaultRatioComm  = 0.5
	defaultRatioLocal = 0.7
	defaultStragglerS = 0.005
	// defaultCatalogFraction is the share of a datasheet figure a node
	// must reach when the thresholds come from the catalog.
	defaultCatalogFraction = 0.5
	builtinSource          = "flopcast built-in default"
)

// LoadThresholds reads a YAML thresholds file strictly (unknown keys are
// errors naming the file).
func LoadThresholds(path string) (*Thresholds, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("--thresholds: %v", err)
	}
	t, err := ParseThresholds(data)
	if err != nil {
		return nil, badInput("--thresholds %s: %v", path, err)
	}
	t.Path = path
	return t, nil
}

// ParseThresholds parses a thresholds document.
func ParseThresholds(data []byte) (*Thresholds, error) {
	var t Thresholds
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil && !errors.Is(err, io.EOF) {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	check := func(where string, l Limits) error {
		for k, v := range l.BusGBps {
			scope, op, _ := strings.Cut(k, "/")
			if !slices.Contains([]string{result.ScopeIntraNode, result.ScopeWorld, result.ScopeInterNode, result.ScopePair}, scope) ||
				(op != "" && !slices.Contains(backend.CollectiveOps, backend.CollectiveOp(op))) {
				return fmt.Errorf("%s: bus_gbps key %q: want scope or scope/collective (scopes intra_node, world, inter_node, pair)", where, k)
			}
			if !(v > 0) {
				return fmt.Errorf("%s: bus_gbps %q: %v is not a positive number", where, k, v)
			}
		}
		for name, p := range map[string]*float64{"local_tflops": l.LocalTFLOPS, "straggler_ms": l.StragglerMS} {
			if p != nil && !(*p > 0) {
				return fmt.Errorf("%s: %s %v is not a positive number", where, name, *p)
			}
		}
		for name, p := range map[string]*float64{"fleet_ratio_comm": l.FleetRatioComm, "fleet_ratio_local": l.FleetRatioLocal} {
			if p != nil && !(*p >= 0 && *p <= 1) {
				return fmt.Errorf("%s: %s %v is not between 0 and 1", where, name, *p)
			}
		}
		return nil
	}
	if err := check("default", t.Default); err != nil {
		return nil, err
	}
	for _, m := range []map[string]Limits{t.InstanceTypes, t.GPUModels} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := check(k, m[k]); err != nil {
				return nil, err
			}
		}
	}
	return &t, nil
}

// value is a threshold with where it came from.
type value struct {
	value  float64
	source string
}

// resolved are the limits that apply to one node.
type resolved struct {
	bus             map[string]value
	local           *value
	FleetRatioComm  value
	FleetRatioLocal value
	Straggler       value
	// gpu is the catalog entry of the node's GPU, where one matched.
	gpu    *catalog.GPU
	gpuSrc string
}

func (r resolved) busGBps(scope string, op backend.CollectiveOp) (value, bool) {
	if v, ok := r.bus[scope+"/"+string(op)]; ok {
		return v, true
	}
	v, ok := r.bus[scope]
	return v, ok
}

// localTFLOPS is the least local GEMM throughput for dtype, in TFLOP/s.
func (r resolved) localTFLOPS(dtype string) (value, bool) {
	if r.local != nil {
		return *r.local, true
	}
	if r.gpu != nil {
		if p := r.gpu.PeakTFLOPS[dtype]; p > 0 {
			return value{defaultCatalogFraction * p, fmt.Sprintf("%s × %.1f (%s)", r.gpuSrc, defaultCatalogFraction, builtinSource)}, true
		}
	}
	return value{}, false
}

// limitsFor resolves the limits of a rank's node. A nil receiver uses no
// file.
func (t *Thresholds) limitsFor(h Hello) resolved {
	var levels []Limits
	var names []string
	if t != nil {
		if h.InstanceType != "" {
			if l, ok := t.InstanceTypes[h.InstanceType]; ok {
				levels, names = append(levels, l), append(names, t.Path+": instance_types."+h.InstanceType)
			}
		}
		if h.GPUModel != "" {
			keys := make([]string, 0, len(t.GPUModels))
			for k := range t.GPUModels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.Contains(strings.ToLower(h.GPUModel), strings.ToLower(k)) {
					levels, names = append(levels, t.GPUModels[k]), append(names, t.Path+": gpu_models."+k)
					break
				}
			}
		}
		levels, names = append(levels, t.Default), append(names, t.Path+": default")
	}
	src := func(i int) string {
		if levels[i].Source != "" {
			return names[i] + " (" + levels[i].Source + ")"
		}
		return names[i]
	}
	r := resolved{bus: map[string]value{}}
	pick := func(get func(Limits) *float64, def float64, scale float64) value {
		for i, l := range levels {
			if p := get(l); p != nil {
				return value{*p * scale, src(i)}
			}
		}
		return value{def, builtinSource}
	}
	r.FleetRatioComm = pick(func(l Limits) *float64 { return l.FleetRatioComm }, defaultRatioComm, 1)
	r.FleetRatioLocal = pick(func(l Limits) *float64 { return l.FleetRatioLocal }, defaultRatioLocal, 1)
	r.Straggler = pick(func(l Limits) *float64 { return l.StragglerMS }, defaultStragglerS, 1e-3)
	for i, l := range levels {
		if l.LocalTFLOPS != nil && r.local == nil {
			r.local = &value{*l.LocalTFLOPS, src(i)}
		}
		for k, v := range l.BusGBps {
			if _, ok := r.bus[k]; !ok {
				r.bus[k] = value{v, src(i)}
			}
		}
	}
	// Datasheet defaults from the catalog, below anything the file says.
	cat := defaultCatalog()
	if t != nil && t.Catalog != nil {
		cat = t.Catalog
	}
	if h.GPUModel != "" {
		if g, ok := cat.MatchDevice(h.GPUModel); ok {
			r.gpu = &g
			r.gpuSrc = fmt.Sprintf("catalog %s %s, sources %s", cat.Date, g.Name, strings.Join(g.Sources, ", "))
		}
	}
	if h.InstanceType != "" {
		if in, err := cat.Instance(h.InstanceType); err == nil {
			base := fmt.Sprintf("catalog %s %s, sources %s", cat.Date, in.Name, strings.Join(in.Sources, ", "))
			if in.IntraGBps > 0 {
				// the catalog gives bidirectional GB/s per GPU; busbw is one
				// direction's
				v := value{defaultCatalogFraction * in.IntraGBps / 2, fmt.Sprintf("%s: intra-node %.0f GB/s bidirectional per GPU, half of one direction (%s)", base, in.IntraGBps, builtinSource)}
				if _, ok := r.bus[result.ScopeIntraNode]; !ok {
					r.bus[result.ScopeIntraNode] = v
				}
			}
			if in.NetworkGbps > 0 && in.GPUs > 0 {
				perGPU := in.NetworkGbps / 8 / float64(in.GPUs)
				v := value{defaultCatalogFraction * perGPU, fmt.Sprintf("%s: network %.0f Gbit/s per instance = %.1f GB/s per GPU, half of it (%s)", base, in.NetworkGbps, perGPU, builtinSource)}
				for _, s := range []string{result.ScopeInterNode, result.ScopePair} {
					if _, ok := r.bus[s]; !ok {
						r.bus[s] = v
					}
				}
			}
		}
	}
	return r
}

// Describe says in one line where thresholds come from.
func (t *Thresholds) Describe() string {
	if t == nil || t.Path == "" {
		return "catalog datasheet figures where the node is known, else relative checks against the fleet median (" + builtinSource + "s)"
	}
	return t.Path + ", then the catalog's datasheet figures, then " + builtinSource + "s"
}
