package report

import (
	"fmt"
	"sort"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/result"
)

// StragglerThreshold is how far below the group's median device a
// device's throughput must fall to be flagged as a straggler: 5%, a
// chosen margin above the few percent that boost clocks and silicon
// differences give between healthy GPUs of one node.
const StragglerThreshold = 0.05

// Spread compares one configuration (workload, label, dtype, shape or
// bytes) measured on several devices in one run: the fastest and slowest
// device and the devices that fall behind the median.
type Spread struct {
	// Key identifies the configuration; First and Last are the indexes of
	// its first and last measurement in the file.
	Key         string
	First, Last int
	// Devices is the number of devices with a successful measurement.
	Devices int
	// Fastest and Slowest are measurement indexes.
	Fastest, Slowest int
	// FastestRate, SlowestRate and MedianRate are the throughputs
	// compared: FLOP/s, or bytes/s for bandwidth.
	FastestRate, SlowestRate, MedianRate float64
	// Stragglers are the measurement indexes more than
	// StragglerThreshold below MedianRate, slowest first.
	Stragglers []int
}

// Gap is (fastest − slowest) / fastest.
func (s Spread) Gap() float64 {
	if s.FastestRate <= 0 {
		return 0
	}
	return (s.FastestRate - s.SlowestRate) / s.FastestRate
}

// configKey is what makes two measurements the same configuration on
// different devices.
func configKey(m result.Measurement) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d", m.Workload, m.Label, m.DType, m.Shape, m.Bytes)
}

// rate is the throughput a measurement is compared by.
func rate(m result.Measurement) float64 {
	if m.Workload == "bandwidth" {
		return m.BytesPerSecond
	}
	return m.FLOPPerSecond
}

// Spreads returns, in order of first appearance, every configuration
// measured successfully on two or more distinct devices. The median is
// the upper median (the faster of the middle two), so of two devices the
// slower is compared with the faster.
func Spreads(ms []result.Measurement) []Spread {
	type group struct {
		first, last int
		ok          []int
		devices     map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	for i, m := range ms {
		k := configKey(m)
		g := groups[k]
		if g == nil {
			g = &group{first: i, devices: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		g.last = i
		if m.Status == result.StatusOK && m.Verified && rate(m) > 0 && !g.devices[m.Device] {
			g.devices[m.Device] = true
			g.ok = append(g.ok, i)
		}
	}
	var out []Spread
	for _, k := range order {
		g := groups[k]
		if len(g.ok) < 2 {
			continue
		}
		idx := append([]int(nil), g.ok...)
		sort.SliceStable(idx, func(a, b int) bool { return rate(ms[idx[a]]) > rate(ms[idx[b]]) })
		s := Spread{Key: k, First: g.first, Last: g.last, Devices: len(idx),
			Fastest: idx[0], Slowest: idx[len(idx)-1],
			FastestRate: rate(ms[idx[0]]), SlowestRate: rate(ms[idx[len(idx)-1]]),
			MedianRate: rate(ms[idx[(len(idx)-1)/2]])}
		for j := len(idx) - 1; j >= 0; j-- {
			if r := rate(ms[idx[j]]); r < (1-StragglerThreshold)*s.MedianRate {
				s.Stragglers = append(s.Stragglers, idx[j])
			}
		}
		out = append(out, s)
	}
	return out
}

// spreadRow is the table line under a configuration measured on several
// devices: the range of throughputs and the gap between the fastest and
// slowest device, with the stragglers named.
func spreadRow(ms []result.Measurement, s Spread, unit string, scale float64) []string {
	fast, slow := ms[s.Fastest], ms[s.Slowest]
	rateText := fmt.Sprintf("%.1f–%.1f %s", s.SlowestRate/scale, s.FastestRate/scale, unit)
	if fast.Workload == "bandwidth" {
		rateText = fmt.Sprintf("%.0f–%.0f GB/s", s.SlowestRate/1e9, s.FastestRate/1e9)
	}
	verdict := "no straggler"
	if len(s.Stragglers) > 0 {
		verdict = "STRAGGLER"
		for _, i := range s.Stragglers {
			verdict += " " + compare.Clean(ms[i].Device)
		}
	}
	label := fast.Label
	if label == "" {
		label = fast.Workload
	}
	return []string{fmt.Sprintf("%d devices", s.Devices), compare.Clean(fast.DType), compare.Clean(label), compare.Clean(shapeText(fast)),
		"slowest " + compare.Clean(slow.Device), fmt.Sprintf("gap %.1f%%", 100*s.Gap()), rateText, "—", "—", verdict}
}
