// Command flopcast measures how fast a machine trains neural networks.
//
//	flopcast run [flags]        run a suite and write a results file
//	flopcast devices            show the devices and libraries found
//	flopcast show FILE...       print stored results files as tables
//	flopcast version            print the version
//
// Run "flopcast run -h" for the run flags. Exit codes: 0 success, 1 a
// measurement failed its check or the run failed, 2 bad input, 130
// interrupted (partial results written).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one sub-command: its one-line summary and its entry point.
// Each sub-command's file registers itself in commands from an init
// function, so adding one touches no other file.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands maps a sub-command name to its command.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary, run}
}

func init() {
	register("run", "run a benchmark suite and write a results file", runCmd)
	register("devices", "show the devices, BLAS library and machine found",
		func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return devicesCmd(args, stdout, stderr)
		})
	register("show", "print stored results files (flopcast show FILE...)",
		func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return showCmd(args, stdout, stderr)
		})
}

// order lists the sub-commands in help order; others follow alphabetically.
var order = []string{"run", "devices", "show", "forecast", "compare", "report", "catalog"}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: flopcast <command> [flags]\n\ncommands:\n")
	for _, name := range commandNames() {
		fmt.Fprintf(&b, "  %-9s %s\n", name, commands[name].summary)
	}
	fmt.Fprintf(&b, "  %-9s %s\n", "version", "print the version")
	b.WriteString("\nRun \"flopcast <command> -h\" for a command's flags.\n")
	return b.String()
}

func commandNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range order {
		if _, ok := commands[n]; ok {
			names = append(names, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range commands {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "flopcast", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		return printError(usageError("unknown command %q (known: %s, version)", args[0], strings.Join(commandNames(), ", ")), stderr)
	}
	return printError(c.run(ctx, args[1:], stdout, stderr), stderr)
}
