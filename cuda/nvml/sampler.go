package nvml

import (
	"errors"
	"math"
	"sync"
	"time"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"
)

// DefaultInterval is how often a Sampler reads the GPU: well inside the
// 50 ms that resolves a clock falling under load.
const DefaultInterval = 20 * time.Millisecond

// Reading is one sample of a GPU's state. A quantity the source could not
// read is NaN; Reasons is valid only when ReasonsOK.
type Reading struct {
	// At is when the reading was taken.
	At                      time.Time
	SMClockMHz, MemClockMHz float64
	PowerW, TempC           float64
	// Reasons is the clock-event (throttle) reason mask.
	Reasons   uint64
	ReasonsOK bool
}

// Source is what a Sampler reads: a Monitor on a real GPU, a script in
// tests.
type Source interface {
	// Read samples the state now.
	Read() Reading
	// EnergyMJ is the device's total-energy counter in millijoules; ok is
	// false where the device has none.
	EnergyMJ() (mj uint64, ok bool)
}

// Read implements Source with NVML: SM and memory clocks, power,
// temperature and the clock-event reasons.
func (m *Monitor) Read() Reading {
	r := Reading{At: time.Now(), SMClockMHz: math.NaN(), MemClockMHz: math.NaN(), PowerW: math.NaN(), TempC: math.NaN()}
	// Every call is guarded: a function the driver's libnvidia-ml lacks
	// would abort the process (see HasSymbol).
	if HasSymbol("nvmlDeviceGetClockInfo") {
		if v, rc := m.dev.GetClockInfo(gonvml.CLOCK_SM); rc == gonvml.SUCCESS {
			r.SMClockMHz = float64(v)
		}
		if v, rc := m.dev.GetClockInfo(gonvml.CLOCK_MEM); rc == gonvml.SUCCESS {
			r.MemClockMHz = float64(v)
		}
	}
	if HasSymbol("nvmlDeviceGetPowerUsage") {
		if v, rc := m.dev.GetPowerUsage(); rc == gonvml.SUCCESS {
			r.PowerW = float64(v) / 1000
		}
	}
	if HasSymbol("nvmlDeviceGetTemperature") {
		if v, rc := m.dev.GetTemperature(gonvml.TEMPERATURE_GPU); rc == gonvml.SUCCESS {
			r.TempC = float64(v)
		}
	}
	var mask uint64
	rc := gonvml.ERROR_FUNCTION_NOT_FOUND
	if HasSymbol("nvmlDeviceGetCurrentClocksEventReasons") {
		mask, rc = m.dev.GetCurrentClocksEventReasons()
	}
	if rc != gonvml.SUCCESS && HasSymbol("nvmlDeviceGetCurrentClocksThrottleReasons") {
		mask, rc = m.dev.GetCurrentClocksThrottleReasons()
	}
	if rc == gonvml.SUCCESS {
		r.Reasons, r.ReasonsOK = mask, true
	}
	return r
}

// EnergyMJ implements Source with nvmlDeviceGetTotalEnergyConsumption
// (Volta and later).
func (m *Monitor) EnergyMJ() (uint64, bool) {
	if !HasSymbol("nvmlDeviceGetTotalEnergyConsumption") {
		return 0, false
	}
	v, rc := m.dev.GetTotalEnergyConsumption()
	return v, rc == gonvml.SUCCESS
}

// Stat is the mean, least and greatest of one sampled quantity over the
// readings that had it; N counts those readings (0: never read).
type Stat struct {
	Mean, Min, Max float64
	N              int
}

// Summary is a window's state, aggregated from its readings.
type Summary struct {
	// Seconds is the time from the first reading to the last.
	Seconds                                float64
	SMClockMHz, MemClockMHz, PowerW, TempC Stat
	// AtPowerCapFraction and ThrottledFraction are the fractions of the
	// readings with a known reason mask that show the power cap
	// (sw_power_cap) and a slowdown (ThrottleReasons), respectively.
	AtPowerCapFraction, ThrottledFraction float64
	// EnergyJ is the energy used from the first reading to the last: the
	// difference of the total-energy counter where both ends read it,
	// else the trapezoidal integral of the sampled power (0 when neither).
	EnergyJ float64
	// EnergySource is "counter", "integrated power" or "".
	EnergySource string
	// Samples is the number of readings.
	Samples int
}

// Aggregate summarises readings in time order; energyStart and energyEnd
// are the energy counter (mJ) at the first and last reading, with ok
// saying whether both were read.
func Aggregate(rs []Reading, energyStart, energyEnd uint64, energyOK bool) Summary {
	s := Summary{Samples: len(rs)}
	if len(rs) == 0 {
		return s
	}
	s.Seconds = rs[len(rs)-1].At.Sub(rs[0].At).Seconds()
	stat := func(get func(Reading) float64) Stat {
		var st Stat
		var sum float64
		for _, r := range rs {
			v := get(r)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if st.N == 0 || v < st.Min {
				st.Min = v
			}
			if st.N == 0 || v > st.Max {
				st.Max = v
			}
			sum += v
			st.N++
		}
		if st.N > 0 {
			st.Mean = sum / float64(st.N)
		}
		return st
	}
	s.SMClockMHz = stat(func(r Reading) float64 { return r.SMClockMHz })
	s.MemClockMHz = stat(func(r Reading) float64 { return r.MemClockMHz })
	s.PowerW = stat(func(r Reading) float64 { return r.PowerW })
	s.TempC = stat(func(r Reading) float64 { return r.TempC })
	var known, capped, throttled int
	for _, r := range rs {
		if !r.ReasonsOK {
			continue
		}
		known++
		if r.Reasons&powerCapBit != 0 {
			capped++
		}
		if _, t := ThrottleReasons(r.Reasons); t {
			throttled++
		}
	}
	if known > 0 {
		s.AtPowerCapFraction = float64(capped) / float64(known)
		s.ThrottledFraction = float64(throttled) / float64(known)
	}
	switch {
	case energyOK && energyEnd >= energyStart && s.Seconds > 0:
		s.EnergyJ = float64(energyEnd-energyStart) / 1000
		s.EnergySource = "counter"
	case s.PowerW.N >= 2:
		// Trapezoids between consecutive readings that both have power.
		prev := -1
		for i, r := range rs {
			if math.IsNaN(r.PowerW) || math.IsInf(r.PowerW, 0) {
				continue
			}
			if prev >= 0 {
				dt := r.At.Sub(rs[prev].At).Seconds()
				s.EnergyJ += dt * (r.PowerW + rs[prev].PowerW) / 2
			}
			prev = i
		}
		s.EnergySource = "integrated power"
	}
	return s
}

// ErrNoReadings is Stop's error when the source reported nothing usable.
var ErrNoReadings = errors.New("nvml: no clock, power or temperature could be read")

// Sampler reads a Source on its own goroutine at a fixed interval, from
// Start to Stop.
type Sampler struct {
	src      Source
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	readings []Reading
	e0       uint64
	e0OK     bool
}

// StartSampler takes a first reading (and the energy counter) now and
// then one every interval (DefaultInterval when <= 0) until Stop.
func StartSampler(src Source, interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	s := &Sampler{src: src, done: make(chan struct{}), readings: make([]Reading, 0, 512)}
	s.e0, s.e0OK = src.EnergyMJ()
	s.readings = append(s.readings, src.Read())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				r := s.src.Read()
				s.mu.Lock()
				s.readings = append(s.readings, r)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Stop ends sampling, takes a last reading (and the energy counter) and
// returns the summary; the error is ErrNoReadings when no clock, power or
// temperature was ever read.
func (s *Sampler) Stop() (Summary, error) {
	close(s.done)
	s.wg.Wait()
	e1, e1OK := s.src.EnergyMJ()
	s.readings = append(s.readings, s.src.Read())
	sum := Aggregate(s.readings, s.e0, e1, s.e0OK && e1OK)
	if sum.SMClockMHz.N == 0 && sum.PowerW.N == 0 && sum.TempC.N == 0 {
		return sum, ErrNoReadings
	}
	return sum, nil
}
