package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		return usageError("%s", compare.Clean(err.Error()))
	}
	if err := refuseOverwrite(*out, inputs); err != nil {
		return usageError("-o %s: %v", compare.Clean(*out), err)
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
	types := compare.Columns(compare.Runs(inputs), compare.ByType)
	fmt.Fprintf(stdout, "wrote %s (%d machine type%s from %d results file%s)\n", compare.Clean(*out), len(types), plural(len(types)), len(inputs), plural(len(inputs)))
	return nil
}

// refuseOverwrite refuses an output path that is one of the inputs (by
// path or, through links, by file) or an existing file that reads as a
// results file: a slip such as "report -o results/a.json results/b.json"
// must not replace measurements with HTML.
func refuseOverwrite(out string, inputs []compare.Input) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	st, statErr := os.Stat(out)
	for _, in := range inputs {
		ia, _ := filepath.Abs(in.Path)
		if ia == abs {
			return fmt.Errorf("is an input results file; refusing to overwrite it (choose another name, e.g. report.html)")
		}
		if statErr == nil {
			if ist, err := os.Stat(in.Path); err == nil && os.SameFile(st, ist) {
				return fmt.Errorf("is the same file as the input %s; refusing to overwrite it", compare.Clean(in.Path))
			}
		}
	}
	if statErr == nil && st.Mode().IsRegular() && looksLikeResults(out) {
		return fmt.Errorf("is an existing flopcast results file; refusing to overwrite it with HTML")
	}
	return nil
}

// looksLikeResults reports whether path holds a JSON object whose tool.name
// is flopcast's, whatever else it holds (a newer schema, implausible
// values): such a file is never replaced.
func looksLikeResults(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head struct {
		Tool struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	if err := json.NewDecoder(io.LimitReader(f, 1<<30)).Decode(&head); err != nil {
		return false
	}
	return head.Tool.Name == result.ToolName
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
