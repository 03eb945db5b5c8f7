package result

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/kernels"
)

// CheckPlausible checks every number of f, wherever it sits, for
// finiteness and physical plausibility, so that no reader (show, compare,
// report, forecast) computes, prints or draws with a value no device can
// produce: a temperature outside −50…150 °C, a clock above 10 GHz, a power
// above 5 kW per device, a throughput above 10× the highest datasheet peak
// of its dtype in the catalog, a negative duration or count, a dimension
// above kernels.MaxDim, an ok GEMM or block measurement without FLOPs or
// time. The error names the first implausible field by its path in the
// file, e.g. "measurements[3].state_after.temp_c". It walks the decoded
// structure, so fields added to the format later are checked by their
// JSON names (and otherwise as plain numbers: finite, |x| ≤ 1e30).
func (f *File) CheckPlausible() error {
	if f == nil {
		return nil
	}
	w := plausibleWalker{}
	if err := w.walk(reflect.ValueOf(*f), "", nil); err != nil {
		return err
	}
	for i, m := range f.Measurements {
		if err := m.checkPlausibleOK(fmt.Sprintf("measurements[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// plausibleMinCallSeconds is the shortest plausible timed call: one nanosecond.
const plausibleMinCallSeconds = 1e-9

// checkPlausibleOK checks what an ok measurement must have for its throughput to
// mean anything: a GEMM or block row FLOPs and a time, and every recorded
// time long enough that the work of one call in it stays below the
// throughput limit (a reader that divides by a sample must not get an
// implausible or infinite rate).
func (m Measurement) checkPlausibleOK(path string) error {
	if m.Status != StatusOK {
		return nil
	}
	if m.Seconds != nil {
		s, sp := m.Seconds, path+".seconds."
		// optional: zero means not recorded.
		type timed struct {
			path     string
			v        float64
			optional bool
		}
		times := []timed{{sp + "median", s.Median, false}, {sp + "min", s.Min, true}, {sp + "max", s.Max, true},
			{sp + "p25", s.P25, true}, {sp + "p75", s.P75, true}, {sp + "mean", s.Mean, true}}
		for i, v := range m.Samples {
			times = append(times, timed{fmt.Sprintf("%s.samples[%d]", path, i), v, false})
		}
		for _, t := range times {
			p := t.path
			if t.optional && t.v == 0 {
				continue // not recorded
			}
			if t.v < plausibleMinCallSeconds {
				return fmt.Errorf("%s: %s s on an ok measurement: shorter than a nanosecond", p, plausibleNum(t.v))
			}
			if m.FLOPs > 0 && m.FLOPs/t.v > plausibleFLOPLimit(m.DType) {
				return fmt.Errorf("%s: %s s for %s FLOPs is %s FLOP/s, not a plausible throughput (at most %s)", p, plausibleNum(t.v), plausibleNum(m.FLOPs), plausibleNum(m.FLOPs/t.v), plausibleNum(plausibleFLOPLimit(m.DType)))
			}
			if m.FLOPs == 0 && m.Bytes > 0 && float64(m.Bytes)/t.v > plausibleLimits().bytes {
				return fmt.Errorf("%s: %s s for %d bytes is %s B/s, not a plausible bandwidth (at most %s)", p, plausibleNum(t.v), m.Bytes, plausibleNum(float64(m.Bytes)/t.v), plausibleNum(plausibleLimits().bytes))
			}
		}
	}
	if m.Workload != "gemm" && m.Workload != "block" {
		return nil
	}
	switch {
	case m.FLOPs <= 0:
		return fmt.Errorf("%s.flops: %s on an ok %s measurement: must be > 0", path, plausibleNum(m.FLOPs), m.Workload)
	case m.Seconds == nil:
		return fmt.Errorf("%s.seconds: missing on an ok %s measurement", path, m.Workload)
	case m.Seconds.Median <= 0:
		return fmt.Errorf("%s.seconds.median: %s on an ok %s measurement: must be > 0", path, plausibleNum(m.Seconds.Median), m.Workload)
	}
	if m.PeakFLOPPerSecond > 0 && m.FLOPPerSecond > plausibleMaxOfPeak*m.PeakFLOPPerSecond {
		return fmt.Errorf("%s.flop_per_second: %s is more than %g× the peak_flop_per_second %s", path,
			plausibleNum(m.FLOPPerSecond), float64(plausibleMaxOfPeak), plausibleNum(m.PeakFLOPPerSecond))
	}
	return nil
}

// plausibleMaxOfPeak is how far a measured throughput may exceed the peak recorded
// beside it: a CPU's peak is an estimate from the clock the OS shows, which
// on a virtual machine may be far below the boost clock.
const plausibleMaxOfPeak = 10

// Plausibility limits.
const (
	// plausibleMaxAbs bounds any number without a rule of its own.
	plausibleMaxAbs = 1e30
	// plausibleMaxSeconds bounds a duration: about 116 days.
	plausibleMaxSeconds = 1e7
	// plausibleCatalogMargin is how far a throughput may exceed the highest
	// datasheet figure of the catalog.
	plausibleCatalogMargin = 10
	// plausibleFallbackFLOPs and plausibleFallbackBytes bound throughput when the catalog
	// has no figure at all.
	plausibleFallbackFLOPs = 1e18
	plausibleFallbackBytes = 1e15
)

// plausibleRule is the range a number must lie in; kind names the quantity in the
// error.
type plausibleRule struct {
	lo, hi float64
	kind   string
	// dtype: hi is the throughput limit of the measurement's dtype (or
	// of the map key, for a device's peak table).
	dtype bool
	// zeroOK: zero (not reported) is accepted below lo.
	zeroOK bool
}

var (
	pTemperature = plausibleRule{lo: -50, hi: 150, kind: "temperature (-50..150 °C)"}
	pClock       = plausibleRule{lo: 0, hi: 10000, kind: "clock (0..10 GHz)"}
	pPower       = plausibleRule{lo: 0, hi: 5000, kind: "power (0..5 kW per device)"}
	pDuration    = plausibleRule{lo: 0, hi: plausibleMaxSeconds, kind: "duration (0..1e7 s)"}
	pCount       = plausibleRule{lo: 0, hi: math.MaxInt64, kind: "count (>= 0)"}
	pCalls       = plausibleRule{lo: 0, hi: 1e9, kind: "call count (0..1e9)"}
	pNonNeg      = plausibleRule{lo: 0, hi: plausibleMaxAbs, kind: "value (0..1e30)"}
	pDimension   = plausibleRule{lo: 0, hi: kernels.MaxDim, kind: fmt.Sprintf("dimension (0..%d)", kernels.MaxDim)}
	pFraction    = plausibleRule{lo: 0, hi: 1, kind: "fraction (0..1)"}
	pFLOPRate    = plausibleRule{lo: 0, dtype: true, kind: "throughput"}
	pPeakRate    = plausibleRule{lo: 1e6, dtype: true, zeroOK: true, kind: "peak throughput"}
	pByteRate    = plausibleRule{lo: 0, kind: "bandwidth"}
)

// PlausibleTempC reports whether a temperature reading in °C lies in the
// range readers accept (−50…150 °C). Readers refuse a file with any
// other, so a sensor that reports one (a broken thermal zone) must be
// left out when the file is written.
func PlausibleTempC(t float64) bool { return t >= pTemperature.lo && t <= pTemperature.hi }

// PlausibleClockMHz reports whether a clock reading in MHz lies in the
// range readers accept (0…10 GHz).
func PlausibleClockMHz(f float64) bool { return f >= pClock.lo && f <= pClock.hi }

// plausibleRules maps a JSON field name to its rule. A field without one inherits
// its parent's (the mean, min and max of a temperature range, the samples
// of a duration list, the per-dtype entries of a peak table).
var plausibleRules = map[string]plausibleRule{
	"temp_c":    pTemperature,
	"clock_mhz": pClock, "sm_clock_mhz": pClock, "mem_clock_mhz": pClock,
	"power_w": pPower,
	"seconds": pDuration, "samples": pDuration, "phase_seconds": pDuration, "kind_seconds": pDuration, "wait_seconds": pDuration,
	"n": pCalls, "warmup": pCalls, "buffer_sets": pCalls, "compared": pCount, "throttle_events": pCount, "wrong_elements": pCount,
	"bytes": pCount, "memory_bytes": pCount, "memory_estimate_bytes": pCount, "memory_planned_bytes": pCount, "cache_bytes": pCount,
	"cores":   {lo: 0, hi: 1 << 20, kind: "core count (0..1048576)"},
	"threads": {lo: 0, hi: 1 << 20, kind: "thread count (0..1048576)"}, "gomaxprocs": {lo: 0, hi: 1 << 20, kind: "thread count (0..1048576)"},
	"rank": {lo: 0, hi: 1 << 24, kind: "rank (0..16777216)"},
	"m":    pDimension, "n_dim": pDimension, "k": pDimension,
	"hidden": pDimension, "heads": pDimension, "kv_heads": pDimension, "ffn": pDimension, "seq": pDimension, "batch": pDimension,
	"flops":                {lo: 0, hi: 1e25, kind: "FLOP count (0..1e25)"},
	"flop_per_second":      pFLOPRate,
	"peak_flop_per_second": pPeakRate,
	"bytes_per_second":     pByteRate, "peak_bytes_per_second": pByteRate, "alg_bytes_per_second": pByteRate, "bus_bytes_per_second": pByteRate,
	"mfu":                   {lo: 0, hi: plausibleMaxOfPeak, kind: "MFU (0..10)"},
	"duty_cycle":            {lo: 0, hi: 2, kind: "duty cycle (0..2)"},
	"at_power_cap_fraction": pFraction, "throttled_fraction": pFraction,
	"energy_j":  {lo: 0, hi: 1e12, kind: "energy (0..1e12 J)"},
	"load1":     {lo: 0, hi: 1e6, kind: "load average (0..1e6)"},
	"rel_error": pNonNeg, "error_bound": pNonNeg, "tokens_per_second": pNonNeg,
	"flop_per_second_per_ghz": pNonNeg, "flop_per_joule": pNonNeg,
	"memory_gb": pNonNeg,
	"rounds":    {lo: 0, hi: 1 << 20, kind: "round count (0..1048576)"}, "worst": pNonNeg, "bound": pNonNeg,
}

// plausibleLimits are the throughput bounds taken from the catalog, once.
var plausibleLimits = sync.OnceValue(func() (l struct {
	flops map[string]float64
	any   float64
	bytes float64
}) {
	l.flops = map[string]float64{}
	l.any, l.bytes = plausibleFallbackFLOPs, plausibleFallbackBytes
	c := catalog.Default()
	var top, bw float64
	for _, g := range c.GPUs {
		for dt, tf := range g.PeakTFLOPS {
			v := tf * 1e12 * plausibleCatalogMargin
			l.flops[dt] = max(l.flops[dt], v)
			top = max(top, v)
		}
		bw = max(bw, g.MemoryTBps*1e12*plausibleCatalogMargin)
	}
	if top > 0 {
		l.any = top
	}
	if bw > 0 {
		l.bytes = bw
	}
	return l
})

// plausibleFLOPLimit is the highest plausible throughput in dtype dt.
func plausibleFLOPLimit(dt string) float64 {
	l := plausibleLimits()
	if v, ok := l.flops[strings.ToLower(dt)]; ok {
		return v
	}
	return l.any
}

type plausibleWalker struct {
	dtype string // the dtype of the measurement being walked
}

// walk checks v, found at path under the JSON name key (with r the rule
// inherited from the parent), and everything inside it.
func (w *plausibleWalker) walk(v reflect.Value, path string, r *plausibleRule) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return w.walk(v.Elem(), path, r)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name := plausibleJSONName(sf)
			if name == "" {
				continue
			}
			fr := r
			key := name
			if name == "n" && t.Name() != "Summary" {
				key = "n_dim"
			}
			if rr, ok := plausibleRules[key]; ok {
				fr = &rr
			}
			if name == "dtype" && v.Field(i).Kind() == reflect.String && t.Name() == "Measurement" {
				w.dtype = v.Field(i).String()
			}
			if err := w.walk(v.Field(i), plausibleJoin(path, name), fr); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			if path == "measurements" {
				w.dtype = ""
			}
			if err := w.walk(v.Index(i), p, r); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		keys := v.MapKeys()
		if len(keys) == 0 || keys[0].Kind() != reflect.String {
			return nil
		}
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			kr := r
			if r != nil && r.dtype {
				// A peak table: the key is the dtype.
				c := *r
				c.hi = plausibleFLOPLimit(k.String())
				kr = &c
			}
			if err := w.walk(v.MapIndex(k), path+"."+k.String(), kr); err != nil {
				return err
			}
		}
		return nil
	case reflect.Float32, reflect.Float64:
		return w.check(v.Float(), path, r)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.check(float64(v.Int()), path, r)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if r == nil {
			return nil // seeds and the like: any value is an identifier
		}
		return w.check(float64(v.Uint()), path, r)
	}
	return nil
}

// check applies r (or the default rule) to x.
func (w *plausibleWalker) check(x float64, path string, r *plausibleRule) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%s: %s is not a finite number", path, plausibleNum(x))
	}
	if r == nil {
		if math.Abs(x) > plausibleMaxAbs {
			return fmt.Errorf("%s: %s is not a plausible value (|x| <= 1e30)", path, plausibleNum(x))
		}
		return nil
	}
	lo, hi := r.lo, r.hi
	rate := r.dtype || r.kind == pByteRate.kind
	switch {
	case r.dtype && r.hi == 0:
		hi = plausibleFLOPLimit(w.dtype)
	case r.kind == pByteRate.kind:
		hi = plausibleLimits().bytes
	}
	if r.zeroOK && x == 0 {
		return nil
	}
	if x < lo || x > hi {
		what := r.kind
		if rate {
			what = fmt.Sprintf("%s (%s..%s, 10× the highest datasheet figure in the catalog)", r.kind, plausibleNum(lo), plausibleNum(hi))
		}
		return fmt.Errorf("%s: %s is not a plausible %s", path, plausibleNum(x), what)
	}
	return nil
}

// plausibleJSONName is a struct field's JSON name, "" for a field JSON skips.
func plausibleJSONName(sf reflect.StructField) string {
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = sf.Name
	}
	return name
}

func plausibleJoin(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// plausibleNum formats a number for an error message.
func plausibleNum(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
