// Command tsmc compiles ONNX exports of TSM video networks into standalone
// Go packages, and inspects and verifies models on the way.
//
// Usage:
//
//	tsmc inspect [-json | -print | -dot] [-svg FILE] [-profile BENCH.json] [-passes=false | -after PASS] [-shape NAME=D0xD1...] MODEL.onnx
//	tsmc verify  [-engine compiled|interp] [-passes=false] [-shape ...] [-rtol 1e-4] [-threads N] [-json] MODEL.onnx [DATASET_DIR...]
//	tsmc compile [-o DIR] [-pkg NAME] [-shape ...] [-testdata DIR]... MODEL.onnx
//	tsmc bench   [-threads N] [-n ITERS] [-warmup W] [-ort] [-shape ...] [-json] MODEL.onnx
//	tsmc tune    [-threads N] [-budget DURATION] [-o FILE] [-shape ...] [-goarch arm64 [-exec CMD]] MODEL.onnx
//	tsmc help [VERB]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
)

// command is one verb of the CLI.
type command struct {
	name, args, summary string
	run                 func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"inspect", "[-json | -print | -dot] [-svg FILE] [-profile BENCH.json] [-passes=false | -after PASS] [-shape NAME=D0xD1...] MODEL.onnx", "optimise a model and print its inputs, outputs, ops, shifts, parameters and MACs, or draw its graph", runInspect},
		{"verify", "[-engine compiled|interp] [-passes=false] [-shape ...] [-rtol 1e-4] [-threads N] [-json] MODEL.onnx [DATASET_DIR...]", "compile a model, run the generated code (or the interpreter) on its test data sets and compare every output", runVerify},
		{"compile", "[-o DIR] [-pkg NAME] [-shape ...] [-testdata DIR]... MODEL.onnx", "generate a standalone Go package that runs the model", runCompile},
		{"bench", "[-threads N] [-n ITERS] [-warmup W] [-ort] [-shape ...] [-json] MODEL.onnx", "compile a model, build the generated code and time it (beside onnxruntime with -ort)", runBench},
		{"tune", tuneArgs, "time the candidate plans of every convolution, fused block and dense layer on this machine and keep the fastest as tuning records", runTune},
		{"help", "[VERB]", "show help for tsmc or one verb", runHelp},
	}
}

// errFailed reports that the command ran and found failures; its message was
// already printed.
var errFailed = errors.New("failed")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errFailed):
				return 1
			case errors.As(err, new(usageError)):
				fmt.Fprintf(stderr, "tsmc %s: %v\n", c.name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "tsmc %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "tsmc: unknown verb %q\n", args[0])
	usage(stderr)
	return 2
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprintln(w, "tsmc compiles ONNX exports of TSM video networks into standalone Go packages.")
	fmt.Fprintln(w, "\nUsage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  tsmc %-8s %s\n", c.name, c.args)
	}
	fmt.Fprintln(w, "\nVerbs:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tsmc VERB -h' for a verb's flags.")
}

func runHelp(args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run([]string{"-h"}, stdout, stdout)
		}
	}
	usage(stdout)
	return nil
}

// newFlagSet returns a flag set whose usage names the verb and its arguments.
func newFlagSet(verb string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tsmc "+verb, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, c := range commands {
		if c.name == verb {
			fs.Usage = func() {
				fmt.Fprintf(out, "Usage: tsmc %s %s\n\n%s.\n\nFlags:\n", c.name, c.args, capitalize(c.summary))
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// shapeFlags collects repeated -shape NAME=D0xD1... flags.
type shapeFlags map[string]ir.Shape

func (s shapeFlags) String() string { return formatShapes(s) }

func (s shapeFlags) Set(v string) error {
	name, shape, err := parseShape(v)
	if err != nil {
		return err
	}
	s[name] = shape
	return nil
}

// parseShape parses a -shape flag value "NAME=D0xD1x..." (a scalar is
// "NAME=").
func parseShape(s string) (string, ir.Shape, error) {
	name, dims, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("bad shape %q: want NAME=D0xD1x...", s)
	}
	shape := ir.Shape{}
	if dims == "" {
		return name, shape, nil
	}
	for _, d := range strings.Split(dims, "x") {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return "", nil, fmt.Errorf("bad shape %q: dimension %q is not a non-negative integer", s, d)
		}
		shape = append(shape, n)
	}
	return name, shape, nil
}

// formatShapes renders bound shapes as -shape flags, sorted by name.
func formatShapes(shapes map[string]ir.Shape) string {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		dims := make([]string, len(shapes[n]))
		for i, d := range shapes[n] {
			dims[i] = strconv.Itoa(d)
		}
		parts = append(parts, "-shape "+n+"="+strings.Join(dims, "x"))
	}
	return strings.Join(parts, " ")
}

// addShapeFlag registers -shape on fs.
func addShapeFlag(fs *flag.FlagSet) shapeFlags {
	s := shapeFlags{}
	fs.Var(s, "shape", "bind an input's shape, `NAME=D0xD1x...` (repeatable); symbolic dims must all be bound")
	return s
}

// parse parses flags and requires at least min positional arguments.
func parse(fs *flag.FlagSet, args []string, min int, what string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() < min {
		fs.Usage()
		return usageError{"missing " + what}
	}
	return nil
}
