// Package sysinfo reads what the operating system says about the machine:
// the CPU's model, cores, SIMD features, clock and caches, memory, the
// cloud instance type, and the clocks, temperature and load at a moment.
//
// Everything is read from files under a root directory (normally "/"), so
// tests run it on a fake /proc and /sys.
package sysinfo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/kernels"
)

// System reads machine information from files below Root.
type System struct {
	// Root is prepended to every path read; "" means "/".
	Root string
}

// Local is the running machine.
var Local = System{}

func (s System) path(p string) string { return filepath.Join(s.Root, p) }

func (s System) read(p string) string {
	b, err := os.ReadFile(s.path(p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// CPU describes the processor.
type CPU struct {
	Model string
	// Logical is the number of logical CPUs; Physical the number of
	// distinct cores (equal to Logical when the OS does not say).
	Logical, Physical int
	// Flags are the feature flags from /proc/cpuinfo.
	Flags map[string]bool
	// ClockMHz and ClockSource give the clock a peak estimate uses.
	ClockMHz    float64
	ClockSource string
	// CacheBytes is the size of the last-level cache.
	CacheBytes int64
}

// simdFeatures maps the /proc/cpuinfo flags that matter for throughput to
// the names flopcast reports, widest last.
var simdFeatures = []struct{ flag, name string }{
	{"sse4_2", "SSE4.2"}, {"avx", "AVX"}, {"fma", "FMA"}, {"avx2", "AVX2"},
	{"avx512f", "AVX-512F"}, {"avx512_vnni", "AVX-512-VNNI"}, {"avx512_bf16", "AVX-512-BF16"},
	{"avx512_fp16", "AVX-512-FP16"}, {"amx_tile", "AMX"}, {"amx_bf16", "AMX-BF16"},
	{"amx_int8", "AMX-INT8"}, {"amx_fp16", "AMX-FP16"},
	{"asimd", "NEON"}, {"sve", "SVE"}, {"sve2", "SVE2"},
}

// SIMD lists the vector extensions the CPU has, in simdFeatures order.
func (c CPU) SIMD() []string {
	var out []string
	for _, f := range simdFeatures {
		if c.Flags[f.flag] {
			out = append(out, f.name)
		}
	}
	return out
}

var ghzInModel = regexp.MustCompile(`@\s*([0-9.]+)\s*GHz`)

// CPU reads /proc/cpuinfo and the sysfs CPU directories.
func (s System) CPU() CPU {
	c := CPU{Flags: map[string]bool{}, Logical: runtime.NumCPU()}
	text := s.read("/proc/cpuinfo")
	var mhz []float64
	cores := map[string]bool{}
	var phys, core string
	logical := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			logical++
			phys, core = "", ""
		case "model name", "Model":
			if c.Model == "" {
				c.Model = v
			}
		case "cpu MHz":
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				mhz = append(mhz, f)
			}
		case "flags", "Features":
			for _, f := range strings.Fields(v) {
				c.Flags[f] = true
			}
		case "physical id":
			phys = v
		case "core id":
			core = v
			cores[phys+"/"+core] = true
		}
	}
	if logical > 0 {
		c.Logical = logical
	}
	c.Physical = c.Logical
	if len(cores) > 0 && len(cores) <= c.Logical {
		c.Physical = len(cores)
	}
	if c.Model == "" {
		c.Model = runtime.GOARCH + " CPU"
	}
	switch khz := s.read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"); {
	case khz != "":
		if f, err := strconv.ParseFloat(khz, 64); err == nil && f > 0 {
			c.ClockMHz, c.ClockSource = f/1000, "cpufreq cpuinfo_max_freq (highest boost clock)"
		}
	}
	if c.ClockMHz == 0 {
		if m := ghzInModel.FindStringSubmatch(c.Model); m != nil {
			if f, err := strconv.ParseFloat(m[1], 64); err == nil {
				c.ClockMHz, c.ClockSource = f*1000, "base clock in the model name"
			}
		}
	}
	if c.ClockMHz == 0 && len(mhz) > 0 {
		c.ClockMHz, c.ClockSource = mean(mhz), "current clock in /proc/cpuinfo; boost unknown"
	}
	c.CacheBytes = s.lastLevelCache()
	return c
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// lastLevelCache returns the size of the highest-level cache of cpu0.
func (s System) lastLevelCache() int64 {
	dirs, _ := filepath.Glob(s.path("/sys/devices/system/cpu/cpu0/cache/index*"))
	var best int64
	bestLevel := 0
	for _, d := range dirs {
		lvl, _ := strconv.Atoi(readFile(filepath.Join(d, "level")))
		size := parseSize(readFile(filepath.Join(d, "size")))
		if lvl > bestLevel || (lvl == bestLevel && size > best) {
			best, bestLevel = size, lvl
		}
	}
	return best
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// parseSize parses sysfs cache sizes such as "32768K" or "1M".
func parseSize(v string) int64 {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "K"):
		mult, v = 1<<10, strings.TrimSuffix(v, "K")
	case strings.HasSuffix(v, "M"):
		mult, v = 1<<20, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n * mult
}

// FLOPsPerCycle returns the dense FLOPs one core can issue per cycle in
// dtype d, from the widest SIMD unit the flags show, assuming two fused
// multiply-add pipes per core (true of recent x86 server cores; some
// AVX-512 parts have one 512-bit FMA pipe and reach half this).
func (c CPU) FLOPsPerCycle(d kernels.DType) (float64, string) {
	var lanes32 int
	var unit string
	switch {
	case c.Flags["avx512f"]:
		lanes32, unit = 16, "AVX-512"
	case c.Flags["avx2"] && c.Flags["fma"]:
		lanes32, unit = 8, "AVX2+FMA"
	case c.Flags["avx"]:
		// AVX without FMA: one add and one multiply pipe of 8 lanes.
		return map[kernels.DType]float64{kernels.FP32: 16, kernels.FP64: 8}[d], "AVX (add + mul pipes)"
	case c.Flags["asimd"]:
		lanes32, unit = 4, "NEON"
	case c.Flags["sse2"]:
		return map[kernels.DType]float64{kernels.FP32: 8, kernels.FP64: 4}[d], "SSE2 (add + mul pipes)"
	default:
		return 0, "unknown SIMD width"
	}
	lanes := lanes32
	switch d {
	case kernels.FP32:
	case kernels.FP64:
		lanes /= 2
	default:
		return 0, unit
	}
	return float64(2 * 2 * lanes), fmt.Sprintf("%s: 2 FMA pipes × %d %s lanes × 2", unit, lanes, d)
}

// Peak returns the estimated dense peak in FLOP/s for dtype d and how it was
// estimated:
//
//	peak = physical cores × clock × FLOPs per cycle per core
func (c CPU) Peak(d kernels.DType) (float64, string) {
	fpc, how := c.FLOPsPerCycle(d)
	if fpc == 0 || c.ClockMHz == 0 {
		return 0, "unknown: " + how
	}
	return float64(c.Physical) * c.ClockMHz * 1e6 * fpc,
		fmt.Sprintf("%d cores × %.0f MHz (%s) × %.0f FLOP/cycle (%s)", c.Physical, c.ClockMHz, c.ClockSource, fpc, how)
}

// MemoryTotal returns MemTotal from /proc/meminfo in bytes.
func (s System) MemoryTotal() int64 { return s.meminfo("MemTotal") }

// MemoryAvailable returns the memory a new allocation can get without
// swapping or being killed, in bytes: MemAvailable from /proc/meminfo, or
// less when a control group's memory limit leaves less (see CgroupMemory;
// at least 1 byte then, as 0 means unknown).
func (s System) MemoryAvailable() int64 {
	avail := s.meminfo("MemAvailable")
	if lim, ok := s.CgroupMemory(); ok && (avail <= 0 || lim.Free() < avail) {
		return max(lim.Free(), 1)
	}
	return avail
}

func (s System) meminfo(key string) int64 {
	sc := bufio.NewScanner(strings.NewReader(s.read("/proc/meminfo")))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		if len(f) > 1 && f[1] == "kB" {
			n <<= 10
		}
		return n
	}
	return 0
}

// Instance returns the cloud vendor and instance type from DMI. The type is
// known where the vendor puts it in product_name (AWS EC2); elsewhere only
// the vendor is returned.
func (s System) Instance() (vendor, instanceType string) {
	dmi := func(f string) string { return s.read("/sys/class/dmi/id/" + f) }
	vendor = dmi("sys_vendor")
	product := dmi("product_name")
	switch {
	case vendor == "Amazon EC2" || strings.HasPrefix(dmi("bios_vendor"), "Amazon"):
		if vendor == "" {
			vendor = "Amazon EC2"
		}
		if product != "" && !strings.EqualFold(product, "Not Specified") {
			instanceType = product
		}
	case vendor == "Google" || product == "Google Compute Engine":
		vendor = "Google Compute Engine"
	case vendor == "Microsoft Corporation" && product == "Virtual Machine":
		vendor = "Microsoft Azure"
	case strings.HasPrefix(dmi("chassis_asset_tag"), "OracleCloud"):
		vendor = "Oracle Cloud"
	}
	return vendor, instanceType
}

// Host returns the host section of a results file.
func (s System) Host() result.Host {
	name, _ := os.Hostname()
	cpu := s.CPU()
	vendor, typ := s.Instance()
	return result.Host{
		Hostname:     name,
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		Kernel:       s.read("/proc/sys/kernel/osrelease"),
		CPUModel:     cpu.Model,
		Cores:        cpu.Logical,
		MemoryBytes:  s.MemoryTotal(),
		InstanceType: typ,
		CloudVendor:  vendor,
		Virtualized:  cpu.Flags["hypervisor"],
	}
}

// CPUState returns the CPU's clocks, hottest temperature, load and
// throttling counters now.
func (s System) CPUState() result.State {
	st := result.State{Time: time.Now().UTC()}
	var mhz []float64
	if freqs, _ := filepath.Glob(s.path("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")); len(freqs) > 0 {
		for _, f := range freqs {
			if v, err := strconv.ParseFloat(readFile(f), 64); err == nil && result.PlausibleClockMHz(v/1000) {
				mhz = append(mhz, v/1000)
			}
		}
	} else {
		sc := bufio.NewScanner(strings.NewReader(s.read("/proc/cpuinfo")))
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && result.PlausibleClockMHz(f) {
					mhz = append(mhz, f)
				}
			}
		}
	}
	if len(mhz) > 0 {
		st.ClockMHz = mean(mhz)
	}
	zones, _ := filepath.Glob(s.path("/sys/class/thermal/thermal_zone*/temp"))
	for _, z := range zones {
		if v, err := strconv.ParseFloat(readFile(z), 64); err == nil && v/1000 > st.TempC && result.PlausibleTempC(v/1000) {
			st.TempC = v / 1000
		}
	}
	if f := strings.Fields(s.read("/proc/loadavg")); len(f) > 0 {
		st.Load1, _ = strconv.ParseFloat(f[0], 64)
	}
	counts, _ := filepath.Glob(s.path("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle/core_throttle_count"))
	for _, c := range counts {
		n, _ := strconv.ParseInt(readFile(c), 10, 64)
		st.ThrottleEvents += n
	}
	return st
}

// LibraryVars returns the environment variables that change how the math
// libraries behave, for the results file.
func LibraryVars() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		for _, p := range []string{"OPENBLAS_", "OMP_", "GOMAXPROCS", "GOGC", "MKL_", "FLOPCAST_", "CUDA_", "NVIDIA_"} {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
