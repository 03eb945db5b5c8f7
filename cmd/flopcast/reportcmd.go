package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
)

func init() {
	register("report", "write a self-contained HTML report with charts (flopcast report FILE|DIR... -o report.html)", reportCmd)
}

const reportUsage = "usage: flopcast report [--reference MODEL:TOKENS:GPUS] [--sweep-gpus 256,512,1024] FILE|DIR... -o report.html"

func reportCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "report.html", "the HTML file to write")
	fs.StringVar(out, "out", "report.html", "the HTML file to write (same as -o)")
	reference := fs.String("reference", "llama3-70b:15T:1024", "reference run of the forecast section: MODEL[:TOKENS[:GPUS]]")
	sweep := fs.String("sweep-gpus", "", "GPU counts of the forecast's scaling curve, e.g. 256,512,1024")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, reportUsage)
			return err
		}
		return usageError("%v", err)
	}
	if *out == "" {
		return usageError("-o: empty path")
	}
	ref, err := compare.ParseReference(*reference)
	if err != nil {
		return usageError("--reference %s: %v", *reference, err)
	}
	var gpus []int
	if *sweep != "" {
		for _, s := range strings.Split(*sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				return usageError("--sweep-gpus %s: %q is not a positive GPU count", *sweep, s)
			}
			gpus = append(gpus, n)
		}
	}
	if len(paths) == 0 {
		return usageError("report: no results file or directory given (%s)", strings.TrimPrefix(reportUsage, "usage: "))
	}
	if err := result.CheckWritable(*out); err != nil {
		return usageError("-o %s: cannot write: %v", *out, unwrapPath(err))
	}
	inputs, err := compare.Load(paths)
	if err != nil {
		return usageError("%v", err)
	}
	opt := report.HTMLOptions{Compare: compareOptions, SweepGPUs: gpus}
	opt.Compare.Reference = ref
	// The page is built in memory first, so bad input leaves no file.
	var page strings.Builder
	if err := report.WriteHTML(&page, inputs, opt); err != nil {
		return usageError("%v", err)
	}
	if err := result.WriteWith(*out, func(w io.Writer) error {
		_, err := io.WriteString(w, page.String())
		return err
	}); err != nil {
		return withCode(exitUsage, fmt.Errorf("-o %s: cannot write: %v", *out, unwrapPath(err)))
	}
	n := len(compare.Machines(inputs))
	fmt.Fprintf(stdout, "wrote %s (%d machine%s from %d results file%s)\n", *out, n, plural(n), len(inputs), plural(len(inputs)))
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
