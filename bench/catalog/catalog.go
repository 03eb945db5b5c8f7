// Package catalog is flopcast's table of accelerators and cloud instances:
// dense peak throughput, memory, links, power and dated prices, each with
// the keys of the sources it was transcribed from. The table is embedded
// in the binary (catalog.json, transcribed from the shared hardware
// reference) and can be extended or overridden by a user file of the same
// schema, in JSON or YAML.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flopcast/flopcast/kernels"
)

//go:embed catalog.json
var embedded []byte

// Catalog is the hardware and instance table.
type Catalog struct {
	// Date is the day the figures were collected.
	Date      string     `json:"date" yaml:"date"`
	Note      string     `json:"note,omitempty" yaml:"note,omitempty"`
	GPUs      []GPU      `json:"gpus" yaml:"gpus"`
	Instances []Instance `json:"instances" yaml:"instances"`
	Sources   []Source   `json:"sources" yaml:"sources"`
}

// GPU is one accelerator's datasheet figures.
type GPU struct {
	// Name is the catalog key, e.g. "h100-sxm".
	Name    string `json:"name" yaml:"name"`
	Display string `json:"display,omitempty" yaml:"display,omitempty"`
	// Match lists substrings of the device names drivers report (e.g.
	// "H100 80GB HBM3"), used to tie a results file to a catalog entry.
	Match []string `json:"match,omitempty" yaml:"match,omitempty"`
	// PeakTFLOPS is the dense peak per dtype name, in 10^12 FLOP/s.
	PeakTFLOPS map[string]float64 `json:"peak_tflops" yaml:"peak_tflops"`
	// MAMFTFLOPS is the measured maximum achievable matmul throughput on
	// large GEMMs per dtype, where one is published.
	MAMFTFLOPS map[string]float64 `json:"mamf_tflops,omitempty" yaml:"mamf_tflops,omitempty"`
	MemoryGB   float64            `json:"memory_gb" yaml:"memory_gb"`
	// MemoryTBps is the memory bandwidth in decimal TB/s.
	MemoryTBps float64 `json:"memory_tbps" yaml:"memory_tbps"`
	// NVLinkGBps is the total bidirectional NVLink bandwidth per GPU in
	// GB/s; zero for PCIe-only parts.
	NVLinkGBps float64 `json:"nvlink_gbps,omitempty" yaml:"nvlink_gbps,omitempty"`
	// ClusterNetworkGbps is the inter-node network per GPU, in Gbit/s, of
	// the clusters this GPU is built into (one NIC per GPU); the
	// forecast's default when no instance gives the network. Zero when
	// the reference gives none.
	ClusterNetworkGbps float64 `json:"cluster_network_gbps,omitempty" yaml:"cluster_network_gbps,omitempty"`
	// TDPW is the maximum board power in watts; zero when not published.
	TDPW float64 `json:"tdp_w,omitempty" yaml:"tdp_w,omitempty"`
	// Estimate marks figures the reference flags as conflicting or
	// single-sourced.
	Estimate bool     `json:"estimate,omitempty" yaml:"estimate,omitempty"`
	Sources  []string `json:"sources" yaml:"sources"`
	Note     string   `json:"note,omitempty" yaml:"note,omitempty"`
}

// Instance is a cloud machine type (or a GPU cloud's node shape).
type Instance struct {
	Name     string `json:"name" yaml:"name"`
	Provider string `json:"provider" yaml:"provider"`
	// GPU is the catalog name of the instance's accelerator.
	GPU  string `json:"gpu" yaml:"gpu"`
	GPUs int    `json:"gpus" yaml:"gpus"`
	// NVLinkDomain is the number of GPUs sharing the intra-node link when
	// it spans more than one instance (NVL72 racks); zero means GPUs.
	NVLinkDomain int `json:"nvlink_domain,omitempty" yaml:"nvlink_domain,omitempty"`
	// IntraGBps is the bidirectional GPU-to-GPU bandwidth per GPU inside
	// the node in GB/s; zero for PCIe-only nodes.
	IntraGBps float64 `json:"intra_gbps,omitempty" yaml:"intra_gbps,omitempty"`
	// NetworkGbps is the instance's inter-node network in Gbit/s; zero
	// when the reference does not give it.
	NetworkGbps float64  `json:"network_gbps,omitempty" yaml:"network_gbps,omitempty"`
	Prices      []Price  `json:"prices" yaml:"prices"`
	Sources     []string `json:"sources" yaml:"sources"`
	Note        string   `json:"note,omitempty" yaml:"note,omitempty"`
}

// Price is one dated price point.
type Price struct {
	// Kind is "on-demand", "1y", "3y", "capacity-block", ...
	Kind string `json:"kind" yaml:"kind"`
	// USDPerHour is per instance-hour, or per GPU-hour when PerGPU.
	USDPerHour float64 `json:"usd_per_hour" yaml:"usd_per_hour"`
	PerGPU     bool    `json:"per_gpu,omitempty" yaml:"per_gpu,omitempty"`
	Region     string  `json:"region,omitempty" yaml:"region,omitempty"`
	// Date is the day (or month) the price was observed.
	Date     string `json:"date" yaml:"date"`
	Source   string `json:"source" yaml:"source"`
	Estimate bool   `json:"estimate,omitempty" yaml:"estimate,omitempty"`
	Note     string `json:"note,omitempty" yaml:"note,omitempty"`
}

// Source is a reference the figures cite by key.
type Source struct {
	Key  string `json:"key" yaml:"key"`
	Text string `json:"text" yaml:"text"`
	Date string `json:"date" yaml:"date"`
}

// Default returns the embedded catalog.
func Default() *Catalog {
	c, err := Parse(embedded, "catalog.json")
	if err != nil {
		panic("catalog: embedded catalog is invalid: " + err.Error())
	}
	return c
}

// Parse reads a catalog from JSON or YAML (chosen by name's extension;
// anything but .yaml and .yml is JSON) and validates it.
func Parse(data []byte, name string) (*Catalog, error) {
	c, err := decode(data, name)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return c, nil
}

// decode parses without validating: a user file may refer to built-in
// entries.
func decode(data []byte, name string) (*Catalog, error) {
	var c Catalog
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: %v", name, oneLine(err))
		}
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	return &c, nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// Load returns the embedded catalog with the entries of the file at path
// merged in: a GPU, instance or source with the same name (key) as an
// embedded one replaces it; others are added.
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	user, err := decode(data, path)
	if err != nil {
		return nil, err
	}
	c := Default()
	c.Merge(user)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

// Merge adds u's entries to c, replacing those of the same name.
func (c *Catalog) Merge(u *Catalog) {
	if u.Date != "" {
		c.Date = u.Date + " (user file) / " + c.Date + " (built in)"
	}
	for _, g := range u.GPUs {
		if i := c.gpuIndex(g.Name); i >= 0 {
			c.GPUs[i] = g
		} else {
			c.GPUs = append(c.GPUs, g)
		}
	}
	for _, in := range u.Instances {
		if i := c.instanceIndex(in.Name); i >= 0 {
			c.Instances[i] = in
		} else {
			c.Instances = append(c.Instances, in)
		}
	}
	for _, s := range u.Sources {
		replaced := false
		for i := range c.Sources {
			if c.Sources[i].Key == s.Key {
				c.Sources[i], replaced = s, true
			}
		}
		if !replaced {
			c.Sources = append(c.Sources, s)
		}
	}
}

// Validate checks that every figure is usable and every price is dated
// and sourced.
func (c *Catalog) Validate() error {
	seen := map[string]bool{}
	for _, g := range c.GPUs {
		if g.Name == "" {
			return fmt.Errorf("a gpu has no name")
		}
		if seen[g.Name] {
			return fmt.Errorf("gpu %q listed twice", g.Name)
		}
		seen[g.Name] = true
		if len(g.PeakTFLOPS) == 0 {
			return fmt.Errorf("gpu %s: no peak_tflops", g.Name)
		}
		for dt, v := range g.PeakTFLOPS {
			if v <= 0 {
				return fmt.Errorf("gpu %s: peak_tflops %s %v must be > 0", g.Name, dt, v)
			}
		}
		for dt, v := range g.MAMFTFLOPS {
			if v <= 0 || (g.PeakTFLOPS[dt] > 0 && v > g.PeakTFLOPS[dt]) {
				return fmt.Errorf("gpu %s: mamf_tflops %s %v must be > 0 and <= the peak", g.Name, dt, v)
			}
		}
		if g.MemoryGB <= 0 || g.MemoryTBps <= 0 {
			return fmt.Errorf("gpu %s: memory_gb and memory_tbps must be > 0", g.Name)
		}
		if g.NVLinkGBps < 0 || g.TDPW < 0 {
			return fmt.Errorf("gpu %s: nvlink_gbps and tdp_w must be >= 0", g.Name)
		}
		if len(g.Sources) == 0 {
			return fmt.Errorf("gpu %s: no sources", g.Name)
		}
	}
	seenInst := map[string]bool{}
	for _, in := range c.Instances {
		if in.Name == "" {
			return fmt.Errorf("an instance has no name")
		}
		if seenInst[in.Name] {
			return fmt.Errorf("instance %q listed twice", in.Name)
		}
		seenInst[in.Name] = true
		if !seen[in.GPU] {
			return fmt.Errorf("instance %s: unknown gpu %q", in.Name, in.GPU)
		}
		if in.GPUs <= 0 || in.NVLinkDomain < 0 || in.IntraGBps < 0 || in.NetworkGbps < 0 {
			return fmt.Errorf("instance %s: gpus must be > 0, bandwidths >= 0", in.Name)
		}
		for _, p := range in.Prices {
			if p.USDPerHour <= 0 {
				return fmt.Errorf("instance %s: price %q %v must be > 0", in.Name, p.Kind, p.USDPerHour)
			}
			if p.Date == "" || p.Source == "" || p.Kind == "" {
				return fmt.Errorf("instance %s: price %q needs kind, date and source", in.Name, p.Kind)
			}
		}
	}
	return nil
}

func (c *Catalog) gpuIndex(name string) int {
	for i, g := range c.GPUs {
		if strings.EqualFold(g.Name, name) {
			return i
		}
	}
	return -1
}

func (c *Catalog) instanceIndex(name string) int {
	for i, in := range c.Instances {
		if strings.EqualFold(in.Name, name) {
			return i
		}
	}
	return -1
}

// GPU returns the GPU of that name; an unknown name gets an error listing
// the closest names.
func (c *Catalog) GPU(name string) (GPU, error) {
	if i := c.gpuIndex(strings.TrimSpace(name)); i >= 0 {
		return c.GPUs[i], nil
	}
	var names []string
	for _, g := range c.GPUs {
		names = append(names, g.Name)
	}
	return GPU{}, fmt.Errorf("unknown gpu %q (close: %s)", name, strings.Join(kernels.Closest(strings.ToLower(name), names, 3), ", "))
}

// Instance returns the instance of that name; an unknown name gets an
// error listing the closest names.
func (c *Catalog) Instance(name string) (Instance, error) {
	if i := c.instanceIndex(strings.TrimSpace(name)); i >= 0 {
		return c.Instances[i], nil
	}
	var names []string
	for _, in := range c.Instances {
		names = append(names, in.Name)
	}
	return Instance{}, fmt.Errorf("unknown instance %q (close: %s)", name, strings.Join(kernels.Closest(name, names, 3), ", "))
}

// Source returns the source with that key, or one saying it is unknown.
func (c *Catalog) Source(key string) Source {
	for _, s := range c.Sources {
		if s.Key == key {
			return s
		}
	}
	return Source{Key: key, Text: "not listed in the catalog's sources"}
}

// InstancesOf returns the instances whose accelerator is gpu, in catalog
// order.
func (c *Catalog) InstancesOf(gpu string) []Instance {
	var out []Instance
	for _, in := range c.Instances {
		if strings.EqualFold(in.GPU, gpu) {
			out = append(out, in)
		}
	}
	return out
}

// MatchDevice returns the GPU whose Match strings occur in a device name a
// driver reported, preferring the longest match; ok is false when none
// does.
func (c *Catalog) MatchDevice(deviceName string) (GPU, bool) {
	best, bestLen := GPU{}, 0
	for _, g := range c.GPUs {
		for _, m := range g.Match {
			if m != "" && strings.Contains(strings.ToLower(deviceName), strings.ToLower(m)) && len(m) > bestLen {
				best, bestLen = g, len(m)
			}
		}
	}
	return best, bestLen > 0
}

// PerGPUHour returns the price in USD per GPU-hour.
func (p Price) PerGPUHour(in Instance) float64 {
	if p.PerGPU {
		return p.USDPerHour
	}
	return p.USDPerHour / float64(in.GPUs)
}

// FindPrice returns the instance's price of the given kind ("on-demand",
// "1y", "3y", "capacity-block"); ok is false when there is none.
func (in Instance) FindPrice(kind string) (Price, bool) {
	for _, p := range in.Prices {
		if p.Kind == kind {
			return p, true
		}
	}
	return Price{}, false
}

// Domain returns the number of GPUs that share the fast intra-node link.
func (in Instance) Domain() int {
	if in.NVLinkDomain > 0 {
		return in.NVLinkDomain
	}
	return in.GPUs
}

// PriceKinds returns the price kinds the instance has, sorted.
func (in Instance) PriceKinds() []string {
	var out []string
	for _, p := range in.Prices {
		out = append(out, p.Kind)
	}
	sort.Strings(out)
	return out
}
