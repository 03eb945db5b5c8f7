package compare

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/flopcast/flopcast/bench/result"
)

// By says what one column of a comparison stands for.
type By string

// Groupings of the columns.
const (
	// ByType: one column per machine type (GPU model × GPUs per machine
	// and the instance type where known, or the CPU model and its logical
	// CPUs); every machine and file of the type merges into it.
	ByType By = "type"
	// ByMachine: one column per physical machine (host and device UUIDs);
	// its files merge.
	ByMachine By = "machine"
	// ByFile: one column per results file and device model.
	ByFile By = "file"
)

// ParseBy checks a --by value.
func ParseBy(s string) (By, error) {
	switch b := By(strings.ToLower(strings.TrimSpace(s))); b {
	case ByType, ByMachine, ByFile:
		return b, nil
	}
	return "", fmt.Errorf("%q: want type, machine or file", s)
}

// MachineType identifies what a buyer rents: the GPU model and how many a
// machine holds (with the cloud instance type where the file records one),
// or the CPU model and its logical CPUs.
type MachineType struct {
	// Key is the same for every run on one type.
	Key string `json:"key"`
	// Label is the column header, e.g. "NVIDIA H200 ×1" or
	// "p5.48xlarge: NVIDIA H100 80GB HBM3 ×8".
	Label        string `json:"label"`
	Kind         string `json:"kind"`
	DeviceName   string `json:"device_name"`
	GPUs         int    `json:"gpus_per_machine,omitempty"`
	CPUModel     string `json:"cpu_model,omitempty"`
	Cores        int    `json:"cores,omitempty"`
	InstanceType string `json:"instance_type,omitempty"`
}

// TypeOf returns the machine type of a run. The GPU count is the number of
// devices of the run's model the file lists (found or used), at least the
// number measured.
func TypeOf(m Machine) MachineType {
	t := MachineType{Kind: m.DeviceKind, DeviceName: m.DeviceName, InstanceType: m.InstanceType}
	if m.DeviceKind == "cpu" {
		t.CPUModel = m.DeviceName
		if m.File != nil {
			if cm := Clean(m.File.Host.CPUModel); cm != "" {
				t.CPUModel = cm
			}
			t.Cores = m.File.Host.Cores
		}
		t.Label = t.CPUModel
		if t.Cores > 0 {
			t.Label += fmt.Sprintf(" (%d CPUs)", t.Cores)
		}
		if t.InstanceType != "" {
			t.Label = t.InstanceType + ": " + t.Label
		}
		t.Key = fmt.Sprintf("cpu|%s|%d|%s", t.CPUModel, t.Cores, t.InstanceType)
		return t
	}
	t.GPUs = len(m.DeviceIDs)
	if m.File != nil {
		n := 0
		for _, d := range m.File.Devices {
			if Clean(d.Name) == m.DeviceName {
				n++
			}
		}
		t.GPUs = max(t.GPUs, n)
	}
	t.GPUs = max(t.GPUs, 1)
	t.Label = fmt.Sprintf("%s ×%d", m.DeviceName, t.GPUs)
	if t.InstanceType != "" {
		t.Label = t.InstanceType + ": " + t.Label
	}
	t.Key = fmt.Sprintf("%s|%s|%d|%s", m.DeviceKind, m.DeviceName, t.GPUs, t.InstanceType)
	return t
}

// physicalKey names the physical machine of a run: the host name with the
// device UUIDs where the file recorded them (two lent cloud machines often
// share a host name), else the host name and device model.
func physicalKey(m Machine) string {
	var ids []string
	for _, d := range m.Devices {
		if d.UUID != "" {
			ids = append(ids, d.UUID)
		}
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		return m.Hostname + "|" + strings.Join(ids, ",")
	}
	return m.Hostname + "|" + m.DeviceName
}

// Column is one column of a comparison: a machine type, a machine or a
// file, and the runs (Machines) that merge into it.
type Column struct {
	Label string      `json:"label"`
	By    By          `json:"by"`
	Type  MachineType `json:"type"`
	// Machines counts the distinct physical machines behind the column.
	Machines int `json:"machines"`
	// Files lists the results files behind the column.
	Files []string `json:"files"`
	// Hosts lists the host names of its machines.
	Hosts []string `json:"hosts"`
	// Runs are the column's runs (one per results file and device model).
	Runs []Machine `json:"-"`
}

// Columns groups runs into columns, in the order each column's first run
// comes.
func Columns(runs []Machine, by By) []Column {
	var out []Column
	index := map[string]int{}
	for _, r := range runs {
		var key string
		switch by {
		case ByMachine:
			key = r.Type + "#" + r.Physical
		case ByFile:
			key = r.Path + "#" + r.DeviceName
		default:
			key = r.Type
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Column{By: by, Type: TypeOf(r)})
		}
		out[i].Runs = append(out[i].Runs, r)
	}
	for i := range out {
		c := &out[i]
		phys, hosts, files := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, r := range c.Runs {
			if !phys[r.Physical] {
				phys[r.Physical] = true
			}
			if !hosts[r.Hostname] {
				hosts[r.Hostname] = true
				c.Hosts = append(c.Hosts, r.Hostname)
			}
			if !files[r.Path] {
				files[r.Path] = true
				c.Files = append(c.Files, Clean(r.Path))
			}
		}
		c.Machines = len(phys)
		c.Label = c.Type.Label
		switch by {
		case ByMachine:
			c.Label += " @ " + c.Runs[0].Hostname
			if u := firstUUID(c.Runs[0]); u != "" {
				c.Label += " " + u
			}
		case ByFile:
			c.Label = Clean(baseName(c.Runs[0].Path))
			groups := 0
			for _, r := range runs {
				if r.Path == c.Runs[0].Path {
					groups++
				}
			}
			if groups > 1 {
				c.Label += " · " + c.Runs[0].DeviceName
			}
		}
	}
	uniqueColumnLabels(out)
	return out
}

// firstUUID is a short form of a run's first device UUID ("GPU-caae999f").
func firstUUID(m Machine) string {
	for _, d := range m.Devices {
		if d.UUID != "" {
			u := Clean(d.UUID)
			if i := strings.IndexByte(u, '-'); i > 0 && len(u) > i+9 {
				return u[:i+9]
			}
			return u
		}
	}
	return ""
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func uniqueColumnLabels(cs []Column) {
	count := map[string]int{}
	for _, c := range cs {
		count[c.Label]++
	}
	seen := map[string]int{}
	for i := range cs {
		if count[cs[i].Label] > 1 {
			seen[cs[i].Label]++
			cs[i].Label += fmt.Sprintf(" #%d", seen[cs[i].Label])
		}
	}
}

// Merged returns one Machine holding every measurement of the column's
// runs (for the forecast and the price lookup); BurstTiming GPU rows are
// left out when the column also has sustained ones, so that the two are
// never mixed.
func (c Column) Merged() Machine {
	m := c.Runs[0]
	f := *m.File
	sustained := false
	for _, r := range c.Runs {
		for _, x := range r.Measurements {
			if !x.BurstTiming() && x.Workload == WorkloadGEMM && usable(x) {
				sustained = true
			}
		}
	}
	f.Measurements = nil
	for _, r := range c.Runs {
		for _, x := range r.Measurements {
			if sustained && x.BurstTiming() {
				continue
			}
			f.Measurements = append(f.Measurements, x)
		}
	}
	m.File = &f
	m.Measurements = f.Measurements
	m.Label = c.Label
	return m
}

// Clean returns s without control and format characters (terminal
// escapes, bidirectional overrides), tabs and newlines made spaces: for
// text from results files (host names, notes) printed to a terminal.
func Clean(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
	}) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanMeasurementText is Clean for every text field of a measurement
// shown to people (label, device, dtype, notes).
func CleanMeasurementText(m result.Measurement) result.Measurement {
	m.Label, m.Device, m.DType = Clean(m.Label), Clean(m.Device), Clean(m.DType)
	if len(m.Notes) > 0 {
		notes := make([]string, len(m.Notes))
		for i, n := range m.Notes {
			notes[i] = Clean(n)
		}
		m.Notes = notes
	}
	return m
}
