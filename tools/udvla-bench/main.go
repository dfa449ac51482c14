// Command udvla-bench measures udvla on a Vulkan device: whole control steps (latency, prefill,
// tokens per second of JD3P, AR and independent diffusion, per-kernel GPU time, host overhead) on
// a model file or a synthetic random-weight model shaped like a real one, and per-kernel
// microbenchmarks. docs/BENCH.md explains the output and how to compare devices.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

var commands = []struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}{
	{"devices", "list the Vulkan devices and which one is measured by default", runDevices},
	{"run", "measure control steps end to end on a model file or a synthetic --config", runBench},
	{"ops", "microbenchmark the kernels over shapes and dtypes", runOps},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: udvla-bench <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n'udvla-bench <command> -help' describes a command's flags; docs/BENCH.md explains the figures.")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("udvla-bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// dispatch runs one command line; it is main without the exit, for tests.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		if err := c.run(args[1:], stdout, stderr); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			fmt.Fprintf(stderr, "udvla-bench %s: %v\n", args[0], err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "udvla-bench: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }
