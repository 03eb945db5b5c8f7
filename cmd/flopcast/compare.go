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

const compareUsage = `usage: flopcast compare [--format F] [--by type|machine|file] [--all] [--relative-to TYPE] [--reference MODEL:TOKENS:GPUS] FILE|DIR...
       flopcast compare --baseline OLD [--threshold 5%] [--alpha 0.05] [--allow-different-machines] NEW...`

func compareCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "output: table, markdown, csv or json")
	baseline := fs.String("baseline", "", "baseline results file or directory: gate NEW against it")
	threshold := fs.String("threshold", "5%", "least slowdown that counts as a regression")
	alpha := fs.Float64("alpha", 0.05, "significance level of the rank test on the samples")
	reference := fs.String("reference", "llama3-70b:15T:1024", "reference run priced by the forecast rows: MODEL[:TOKENS[:GPUS]]")
	by := fs.String("by", "type", "one column per machine type, machine or file")
	all := fs.Bool("all", false, "show every GEMM shape, bandwidth test and block configuration, not only the headline")
	relativeTo := fs.String("relative-to", "", "add each value's ratio to this column's (its label or a unique part of it)")
	allowDifferent := fs.Bool("allow-different-machines", false, "gate: compare files of different machine types")
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
	grouping, err := compare.ParseBy(*by)
	if err != nil {
		return usageError("--by %v", err)
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
		return usageError("%s", compare.Clean(err.Error()))
	}
	if *baseline == "" {
		opt := compareOptions
		opt.Reference, opt.By, opt.All, opt.RelativeTo = ref, grouping, *all, *relativeTo
		t, err := compare.Build(current, opt)
		if err != nil {
			if errors.Is(err, compare.ErrUnknownColumn) {
				return usageError("--relative-to: %v", err)
			}
			return usageError("%v", err)
		}
		if err := compare.Render(stdout, t, f); err != nil {
			return err
		}
		return compare.RenderFleets(stdout, current, f) // a column per node for merged fleet files
	}
	old, err := compare.Load([]string{*baseline})
	if err != nil {
		return usageError("--baseline: %s", compare.Clean(err.Error()))
	}
	g, err := compare.Gate(old, current, compare.GateOptions{Threshold: th, Alpha: *alpha, AllowDifferentMachines: *allowDifferent})
	if err != nil {
		return usageError("--baseline %s: %v", *baseline, err)
	}
	if err := compare.RenderGate(stdout, g, f); err != nil {
		return err
	}
	if g.Failed() {
		var why []string
		if g.Regressions > 0 {
			why = append(why, fmt.Sprintf("%d measurement%s regressed against %s", g.Regressions, plural(g.Regressions), *baseline))
		}
		why = append(why, g.Problems...)
		if len(g.Missing) > 0 && len(g.Problems) > 0 {
			why = append(why, fmt.Sprintf("%d baseline measurement%s missing from the new run", len(g.Missing), plural(len(g.Missing))))
		}
		return withCode(exitFailure, errors.New(strings.Join(why, "; ")))
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
