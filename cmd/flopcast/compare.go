package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/compare"
)

func init() {
	register("compare", "put results side by side, or gate regressions (flopcast compare FILE|DIR...)", compareCmd)
}

// compareOptions price the columns from the embedded catalog and forecast
// the reference run; the --reference flag replaces its Reference.
var compareOptions = compare.CatalogOptions(catalog.Default(), compare.DefaultReference())

const compareUsage = `usage: flopcast compare [--format F] [--reference MODEL:TOKENS:GPUS] FILE|DIR...
       flopcast compare --baseline OLD [--threshold 5%] [--alpha 0.05] NEW...`

func compareCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "output: table, markdown, csv or json")
	baseline := fs.String("baseline", "", "baseline results file or directory: gate NEW against it")
	threshold := fs.String("threshold", "5%", "least slowdown that counts as a regression")
	alpha := fs.Float64("alpha", 0.05, "significance level of the rank test on the samples")
	reference := fs.String("reference", "llama3-70b:15T:1024", "reference run priced by the forecast rows: MODEL[:TOKENS[:GPUS]]")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, compareUsage)
			return err
		}
		return usageError("%v", err)
	}
	f, err := compare.ParseFormat(*format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	ref, err := compare.ParseReference(*reference)
	if err != nil {
		return usageError("--reference %s: %v", *reference, err)
	}
	th, err := compare.ParseThreshold(*threshold)
	if err != nil {
		return usageError("--threshold: %v", err)
	}
	if !(*alpha > 0 && *alpha < 1) {
		return usageError("--alpha %v: must be between 0 and 1", *alpha)
	}
	if len(paths) == 0 {
		return usageError("compare: no results file or directory given (%s)", strings.SplitN(compareUsage, "\n", 2)[0][len("usage: "):])
	}
	current, err := compare.Load(paths)
	if err != nil {
		return usageError("%v", err)
	}
	if *baseline == "" {
		opt := compareOptions
		opt.Reference = ref
		t, err := compare.Build(current, opt)
		if err != nil {
			return usageError("%v", err)
		}
		return compare.Render(stdout, t, f)
	}
	old, err := compare.Load([]string{*baseline})
	if err != nil {
		return usageError("--baseline: %v", err)
	}
	g, err := compare.Gate(old, current, compare.GateOptions{Threshold: th, Alpha: *alpha})
	if err != nil {
		return usageError("--baseline %s: %v", *baseline, err)
	}
	if err := compare.RenderGate(stdout, g, f); err != nil {
		return err
	}
	if g.Regressions > 0 {
		what := "measurements"
		if g.Regressions == 1 {
			what = "measurement"
		}
		return withCode(exitFailure, fmt.Errorf("%d %s regressed against %s", g.Regressions, what, *baseline))
	}
	return nil
}

// parseInterspersed parses flags that may come after positional arguments
// ("flopcast report results/ -o report.html") and returns the positional
// ones in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at "--": everything after it is positional.
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
