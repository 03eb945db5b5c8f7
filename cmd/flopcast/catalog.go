package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/flopcast/flopcast/bench/catalog"
)

func init() {
	register("catalog", "list the GPU and instance catalog with dated, sourced prices", catalogCmd)
}

func catalogCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast catalog", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("catalog", "", "catalog file (JSON or YAML) merged over the built-in catalog")
	format := fs.String("format", "table", "output: table or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: flopcast catalog [--catalog FILE] [--format table|json]")
			fs.PrintDefaults()
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	c := catalog.Default()
	if *file != "" {
		var err error
		if c, err = catalog.Load(*file); err != nil {
			return usageError("--catalog: %v", err)
		}
	}
	switch *format {
	case "json":
		return writeJSON(stdout, c)
	case "table":
	default:
		return usageError("--format %q: want table or json", *format)
	}
	fmt.Fprintf(stdout, "catalog of %s; dense TFLOP/s per GPU (no sparsity), NVLink bidirectional per GPU\n\n", c.Date)
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header([]string{"gpu", "bf16", "fp8", "bf16 MAMF", "memory GB", "TB/s", "NVLink GB/s", "TDP W", "sources"})
	for _, g := range c.GPUs {
		name := g.Name
		if g.Estimate {
			name += " (est.)"
		}
		if err := t.Append([]string{name, tf(g.PeakTFLOPS["bf16"]), tf(g.PeakTFLOPS["fp8"]), tf(g.MAMFTFLOPS["bf16"]),
			fmt.Sprintf("%g", g.MemoryGB), fmt.Sprintf("%g", g.MemoryTBps), tf(g.NVLinkGBps), tf(g.TDPW), strings.Join(g.Sources, ", ")}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	t = tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header([]string{"instance", "provider", "gpus", "network Gbps", "price", "USD/h", "USD/GPU-h", "region", "date", "source"})
	for _, in := range c.Instances {
		net := tf(in.NetworkGbps)
		gpus := fmt.Sprintf("%d x %s", in.GPUs, in.GPU)
		if len(in.Prices) == 0 {
			if err := t.Append([]string{in.Name, in.Provider, gpus, net, "none listed", "", "", "", "", strings.Join(in.Sources, ", ")}); err != nil {
				return err
			}
			continue
		}
		prices := append([]catalog.Price(nil), in.Prices...)
		sort.SliceStable(prices, func(i, j int) bool { return prices[i].Kind == "on-demand" && prices[j].Kind != "on-demand" })
		for i, p := range prices {
			kind := p.Kind
			if p.Estimate {
				kind += " (est.)"
			}
			row := []string{"", "", "", "", kind, fmt.Sprintf("%.4f", p.USDPerHour), fmt.Sprintf("%.3f", p.PerGPUHour(in)), p.Region, p.Date, p.Source}
			if p.PerGPU {
				row[5] = "per GPU"
			}
			if i == 0 {
				row[0], row[1], row[2], row[3] = in.Name, in.Provider, gpus, net
			}
			if err := t.Append(row); err != nil {
				return err
			}
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nsources:")
	for _, s := range c.Sources {
		fmt.Fprintf(stdout, "  %-10s %s (%s)\n", s.Key, s.Text, s.Date)
	}
	return nil
}

func tf(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%g", v)
}
