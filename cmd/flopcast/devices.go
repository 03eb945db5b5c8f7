package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flopcast/flopcast/bench/backend/gpu"
	"github.com/flopcast/flopcast/bench/hw"
	"github.com/flopcast/flopcast/bench/result"
	"github.com/flopcast/flopcast/bench/sysinfo"
)

func devicesCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast devices", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "output: table or json")
	threads := fs.Int("threads", 0, "BLAS threads (default: one per logical CPU)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: flopcast devices [--format table|json]")
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if *format != "table" && *format != "json" {
		return usageError("--format: unknown format %q (known: table, json)", *format)
	}
	b, _, err := hw.Open("cpu", *threads)
	if err != nil {
		return err
	}
	defer b.Close()
	host := sysinfo.Local.Host()
	devs := []result.Device{b.Device()}
	gpus := gpu.ProbeSystem()
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Host    result.Host     `json:"host"`
			Devices []result.Device `json:"devices"`
			GPUs    gpu.Probe       `json:"gpus"`
		}{host, devs, gpus})
	}
	printDevices(stdout, host, devs)
	printGPUs(stdout, gpus)
	return nil
}

func printDevices(w io.Writer, h result.Host, devs []result.Device) {
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k+":", v)
		}
	}
	fmt.Fprintln(w, "host")
	kv("hostname", h.Hostname)
	kv("os", fmt.Sprintf("%s/%s, kernel %s", h.OS, h.Arch, h.Kernel))
	kv("memory", fmt.Sprintf("%.1f GiB", float64(h.MemoryBytes)/(1<<30)))
	instance := h.InstanceType
	if instance == "" {
		instance = "unknown"
		if h.CloudVendor != "" {
			instance += " (" + h.CloudVendor + " does not report it in DMI)"
		} else if h.Virtualized {
			instance += " (virtual machine; no cloud DMI fields)"
		}
	} else if h.CloudVendor != "" {
		instance += " (" + h.CloudVendor + ")"
	}
	kv("instance", instance)
	for _, d := range devs {
		fmt.Fprintf(w, "device %s\n", d.ID)
		kv("name", d.Name)
		kv("cores", fmt.Sprint(d.Cores))
		kv("simd", strings.Join(d.SIMD, " "))
		if d.ClockMHz > 0 {
			kv("clock", fmt.Sprintf("%.0f MHz (%s)", d.ClockMHz, d.ClockSource))
		}
		if d.CacheBytes > 0 {
			kv("llc", fmt.Sprintf("%d MiB", d.CacheBytes>>20))
		}
		for _, dt := range []string{"fp32", "fp64"} {
			if p := d.PeakFLOPPerSecond[dt]; p > 0 {
				kv("peak "+dt, fmt.Sprintf("%.1f GFLOP/s", p/1e9))
			}
		}
		kv("peak basis", d.PeakBasis)
		if l := d.Library; l != nil {
			if l.Fallback != "" {
				kv("blas", fmt.Sprintf("%s (OpenBLAS not loaded: %s)", l.Name, l.Fallback))
			} else {
				kv("blas", fmt.Sprintf("%s %s, %s, core %s, %d threads", l.Name, l.Version, l.Path, l.CoreName, l.Threads))
			}
		}
	}
}

// printGPUs prints the GPU section: the status line, each NVIDIA library
// with the file loaded and its version or every path tried and why it
// failed, then each GPU.
func printGPUs(w io.Writer, p gpu.Probe) {
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k+":", v)
		}
	}
	fmt.Fprintln(w, "gpus")
	kv("status", p.Status)
	kv("loader", hw.LoaderNotice())
	for _, l := range p.Libraries {
		switch {
		case l.Loaded && l.Error != "":
			kv(l.Name, fmt.Sprintf("%s (unusable: %s)", l.Path, l.Error))
		case l.Loaded:
			kv(l.Name, fmt.Sprintf("%s %s (%s)", l.Path, l.Version, l.Source))
		default:
			kv(l.Name, "not loaded: "+l.Error)
			for _, t := range l.Tried {
				fmt.Fprintf(w, "  %-12s   tried %s\n", "", t)
			}
		}
	}
	for _, d := range p.Devices {
		fmt.Fprintf(w, "device %s\n", d.ID)
		kv("name", d.Name)
		kv("uuid", d.UUID)
		kv("compute", d.ComputeCapability)
		kv("sms", fmt.Sprint(d.Cores))
		kv("clock", fmt.Sprintf("%.0f MHz (%s)", d.ClockMHz, d.ClockSource))
		kv("memory", fmt.Sprintf("%.1f GiB", float64(d.MemoryBytes)/(1<<30)))
		kv("l2", fmt.Sprintf("%d MiB", d.CacheBytes>>20))
		for _, dt := range []string{"fp64", "fp32", "tf32", "bf16", "fp16", "fp8"} {
			if v := d.PeakFLOPPerSecond[dt]; v > 0 {
				kv("peak "+dt, fmt.Sprintf("%.1f TFLOP/s", v/1e12))
			}
		}
		kv("peak basis", d.PeakBasis)
	}
}
