package compare

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench/result"
)

// Machine is one column of a comparison: the devices of one name in one
// results file, e.g. the two H100s of a two-GPU run or the CPU of a laptop.
type Machine struct {
	// Label is the column header: the instance type, or host and device
	// name when the type is unknown; made unique among the columns.
	Label string `json:"label"`
	// Key identifies the machine across runs: the instance type, else
	// hostname and device name. Two runs of one machine share it.
	Key          string    `json:"key"`
	InstanceType string    `json:"instance_type,omitempty"`
	Hostname     string    `json:"hostname"`
	DeviceName   string    `json:"device_name"`
	DeviceKind   string    `json:"device_kind"`
	DeviceIDs    []string  `json:"device_ids"`
	Path         string    `json:"path"`
	Created      time.Time `json:"created"`
	// Devices are the devices of this column, in DeviceIDs order.
	Devices []result.Device `json:"-"`
	// Measurements are the measurements of these devices, in file order.
	Measurements []result.Measurement `json:"-"`
	// File is the results file the column comes from.
	File *result.File `json:"-"`
	// Type names the machine type (see TypeOf); Physical names the
	// physical machine (host and device UUIDs), so runs of one machine
	// are told from runs of two machines of one type.
	Type     string `json:"type"`
	Physical string `json:"physical"`
}

// GPUs is the number of devices in the column (1 for a CPU).
func (m Machine) GPUs() int {
	if len(m.DeviceIDs) == 0 {
		return 1
	}
	return len(m.DeviceIDs)
}

// Peak returns the dense peak FLOP/s of dtype on the column's devices, or
// 0 when no device records one.
func (m Machine) Peak(dtype string) float64 {
	for _, d := range m.Devices {
		if p := d.PeakFLOPPerSecond[dtype]; p > 0 {
			return p
		}
	}
	for _, ms := range m.Measurements {
		if ms.DType == dtype && ms.PeakFLOPPerSecond > 0 {
			return ms.PeakFLOPPerSecond
		}
	}
	return 0
}

// Machines groups the inputs' measurements into columns: one per results
// file and device name, holding every device of that name that has a
// measurement. Columns keep input order; labels are made unique with the
// file's date (and then its name) when one machine appears twice.
func Machines(inputs []Input) []Machine {
	return machinesOf(Runs(inputs))
}

// machinesOf merges runs into machines as Machines does; runs itself is
// left as it is.
func machinesOf(runs []Machine) []Machine {
	out := mergeComplementary(runs)
	uniqueLabels(out)
	return out
}

// Runs returns the inputs' measurements grouped by results file and device
// name, one Machine per group, in input order, without merging the runs of
// one machine; labels are not made unique. A fleet run's measurements
// count once where both its rank files and its merged file are given (see
// countOnce).
func Runs(inputs []Input) []Machine {
	inputs, _ = countOnce(inputs)
	return groupRuns(inputs)
}

// groupRuns is Runs on inputs already passed through countOnce.
func groupRuns(inputs []Input) []Machine {
	var out []Machine
	for _, in := range inputs {
		f := in.File
		byID := map[string]result.Device{}
		for _, d := range f.Devices {
			byID[d.ID] = d
		}
		type group struct {
			name, kind string
			ids        []string
			ms         []result.Measurement
		}
		var groups []*group
		index := map[string]*group{}
		hasID := map[string]bool{}
		for _, ms := range f.Measurements {
			d, ok := byID[ms.Device]
			if !ok {
				d = result.Device{ID: ms.Device, Kind: deviceKind(ms.Device), Name: ms.Device}
			}
			name := d.Name
			if name == "" {
				name = d.ID
			}
			g := index[name]
			if g == nil {
				g = &group{name: name, kind: d.Kind}
				index[name] = g
				groups = append(groups, g)
			}
			if !hasID[d.ID] {
				hasID[d.ID] = true
				g.ids = append(g.ids, d.ID)
			}
			g.ms = append(g.ms, ms)
		}
		for _, g := range groups {
			sort.Strings(g.ids)
			m := Machine{
				InstanceType: Clean(f.Host.InstanceType),
				Hostname:     Clean(f.Host.Hostname),
				DeviceName:   Clean(g.name),
				DeviceKind:   g.kind,
				DeviceIDs:    g.ids,
				Path:         in.Path,
				Created:      f.Created,
				Measurements: g.ms,
				File:         f,
			}
			for _, id := range g.ids {
				d, ok := byID[id]
				if !ok {
					d = result.Device{ID: id, Name: g.name}
				}
				m.Devices = append(m.Devices, d)
			}
			m.Key = machineKey(m)
			m.Type = TypeOf(m).Key
			m.Physical = physicalKey(m)
			m.Label = m.Key
			if f.Host.InstanceType != "" && len(groups) > 1 {
				m.Label += " / " + m.DeviceName
			}
			if len(g.ids) > 1 {
				m.Label += fmt.Sprintf(" ×%d", len(g.ids))
			}
			out = append(out, m)
		}
	}
	return out
}

// mergeComplementary joins columns of one machine (same key and devices,
// by UUID where recorded)
// whose files measured different things, e.g. a GEMM suite and a block
// run, into one column. Columns that measured the same thing twice stay
// apart: they are runs to compare.
func mergeComplementary(ms []Machine) []Machine {
	var out []Machine
	for _, m := range ms {
		merged := false
		for i := range out {
			o := &out[i]
			if o.Key != m.Key || physicalDevices(*o) != physicalDevices(m) || overlap(o.Measurements, m.Measurements) {
				continue
			}
			f := *o.File // a copy, so the inputs' files stay as read
			f.Measurements = append(append([]result.Measurement(nil), o.Measurements...), m.Measurements...)
			o.File = &f
			o.Measurements = f.Measurements
			o.Path += ", " + m.Path
			if m.Created.After(o.Created) {
				o.Created = m.Created
			}
			merged = true
			break
		}
		if !merged {
			out = append(out, m)
		}
	}
	return out
}

// physicalDevices identifies a column's devices: their IDs and, where the
// file recorded them, their UUIDs, so that two cloud machines that share a
// host name ("vm") and a GPU model are not taken for one machine.
func physicalDevices(m Machine) string {
	parts := make([]string, 0, len(m.DeviceIDs))
	for i, id := range m.DeviceIDs {
		if i < len(m.Devices) && m.Devices[i].UUID != "" {
			id += "=" + m.Devices[i].UUID
		}
		parts = append(parts, id)
	}
	return strings.Join(parts, ",")
}

// overlap reports whether two measurement lists share a configuration.
func overlap(a, b []result.Measurement) bool {
	seen := map[string]bool{}
	for _, m := range a {
		seen[configKey(m)] = true
	}
	for _, m := range b {
		if seen[configKey(m)] {
			return true
		}
	}
	return false
}

// configKey identifies what a measurement measured, whatever its result.
func configKey(m result.Measurement) string {
	k := fmt.Sprintf("%s|%s|%s|%s|%s", m.Device, m.Workload, m.Label, m.DType, m.Shape)
	if b := m.Block; b != nil {
		k += fmt.Sprintf("|%s|%s|%d|%d|%d|%d", b.Preset, b.Arch, b.Hidden, b.FFN, b.Seq, b.Batch)
	}
	return k
}

func machineKey(m Machine) string {
	if m.InstanceType != "" {
		return m.InstanceType
	}
	host := m.Hostname
	if host == "" {
		host = "unknown host"
	}
	return host + " / " + m.DeviceName
}

func deviceKind(id string) string {
	if i := strings.IndexByte(id, ':'); i > 0 {
		return id[:i]
	}
	return id
}

// uniqueLabels appends the creation time, then the file name, to labels
// that repeat.
func uniqueLabels(ms []Machine) {
	for _, suffix := range []func(Machine) string{
		func(m Machine) string { return " (" + m.Created.UTC().Format("2006-01-02 15:04") + ")" },
		func(m Machine) string { return " [" + Clean(filepath.Base(m.Path)) + "]" },
		func(m Machine) string { return " [" + Clean(m.Path) + "]" },
	} {
		count := map[string]int{}
		for _, m := range ms {
			count[m.Label]++
		}
		dup := false
		for i := range ms {
			if count[ms[i].Label] > 1 {
				ms[i].Label += suffix(ms[i])
				dup = true
			}
		}
		if !dup {
			return
		}
	}
}

// Throttled reports whether a measurement ran on a device that slowed down:
// a state around it says so (a GPU at its power limit is not slowed down;
// see result.State.SlowedDown), the OS's throttle counter rose during it,
// or, for a measurement without states, a note says "throttled".
func Throttled(m result.Measurement) bool {
	if m.StateBefore == nil && m.StateAfter == nil {
		for _, n := range m.Notes {
			if strings.Contains(strings.ToLower(n), "throttled") {
				return true
			}
		}
		return false
	}
	if m.StateBefore.SlowedDown() || m.StateAfter.SlowedDown() {
		return true
	}
	return m.StateBefore != nil && m.StateAfter != nil && m.StateAfter.ThrottleEvents > m.StateBefore.ThrottleEvents
}
