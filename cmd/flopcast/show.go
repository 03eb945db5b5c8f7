package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/flopcast/flopcast/bench/compare"
	"github.com/flopcast/flopcast/bench/report"
	"github.com/flopcast/flopcast/bench/result"
)

func showCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flopcast show", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "output: table, json, csv, markdown or benchfmt")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: flopcast show [--format F] FILE...")
			return err
		}
		return usageError("%v", err)
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	if fs.NArg() == 0 {
		return usageError("show: no results file given (flopcast show FILE...)")
	}
	// Every file is read before anything is printed, so a bad one fails the
	// command without half an output.
	var files []*result.File
	for _, path := range fs.Args() {
		rf, err := result.Read(path)
		if err != nil {
			return usageError("%s", compare.Clean(err.Error()))
		}
		files = append(files, rf)
	}
	for i, rf := range files {
		if len(files) > 1 && (f == report.Table || f == report.Markdown) {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "%s  (%s, %s)\n", compare.Clean(fs.Arg(i)), compare.Clean(rf.Host.Hostname), rf.Created.Format("2006-01-02 15:04 UTC"))
		}
		if err := report.Render(stdout, rf, f); err != nil {
			return err
		}
	}
	return nil
}
