// Command flopcast measures how fast a machine trains neural networks.
//
//	flopcast run [flags]        run a suite and write a results file
//	flopcast devices            show the devices and libraries found
//	flopcast show FILE...       print stored results files as tables
//	flopcast version            print the version
//
// Run "flopcast run -h" for the run flags. Exit codes: 0 success, 1 a
// measurement failed its check or the run failed, 2 bad input, 130
// interrupted (partial results written; a second interrupt stops at once).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
)

// main runs a command with the signals handled: the first SIGINT, SIGTERM
// or SIGHUP (an ssh connection dropped) cancels the command's context (a
// run finishes the call in progress, writes what is finished and exits
// 130); the second ends a command that handles it (see aborter) at once
// after it writes what is finished, and any other command at once; a third
// ends the process whatever it does.
func main() {
	ctx, cancel := context.WithCancel(context.Background())
	a := &aborter{ch: make(chan struct{})}
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		cancel()
		if a.handled.Load() && isTerminal(os.Stderr) {
			fmt.Fprintln(os.Stderr, "\r\033[Kflopcast: stopping after the call in progress; interrupt again to stop at once")
		}
		<-sigs
		if !a.handled.Load() {
			os.Exit(exitInterrupted)
		}
		close(a.ch)
		<-sigs
		os.Exit(exitInterrupted)
	}()
	code := run(context.WithValue(ctx, aborterKey{}, a), os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(code)
}

// aborter carries the second interrupt to the command that handles it: a
// run whose call in progress cannot be stopped (a BLAS call takes as long
// as it takes) writes what is finished and returns at once.
type aborter struct {
	ch      chan struct{}
	handled atomic.Bool
}

type aborterKey struct{}

// abortOf returns ctx's aborter; nil (never requested) when there is none,
// as in tests that call run directly.
func abortOf(ctx context.Context) *aborter {
	a, _ := ctx.Value(aborterKey{}).(*aborter)
	return a
}

// handle says that the command ends by itself when abort is requested.
func (a *aborter) handle() {
	if a != nil {
		a.handled.Store(true)
	}
}

// requested is closed by the second interrupt; nil (never) without an
// aborter.
func (a *aborter) requested() <-chan struct{} {
	if a == nil {
		return nil
	}
	return a.ch
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
