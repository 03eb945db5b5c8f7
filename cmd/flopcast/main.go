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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: flopcast <command> [flags]

commands:
  run       run a benchmark suite and write a results file
  devices   show the devices, BLAS library and machine found
  show      print stored results files (flopcast show FILE...)
  version   print the version

Run "flopcast <command> -h" for a command's flags.
`

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(ctx, args[1:], stdout, stderr)
	case "devices":
		err = devicesCmd(args[1:], stdout, stderr)
	case "show":
		err = showCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "flopcast", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError("unknown command %q (known: run, devices, show, version)", args[0])
	}
	return printError(err, stderr)
}
