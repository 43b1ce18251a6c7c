// Command tsmc compiles ONNX exports of TSM video networks into standalone
// Go packages, and inspects, verifies and times models on the way.
//
// Run `tsmc help` for the verbs and `tsmc help VERB` for a verb's flags;
// both are printed from the flag sets themselves, which README's "Command
// line" section describes (a test keeps the two in step).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one verb of the CLI. flags registers its flags on a flag set
// and returns the function that runs the verb once they are parsed: the
// flag set is the one source of the verb's usage.
type command struct {
	name string
	// args names the positional arguments, for the synopsis.
	args    string
	summary string
	flags   func(fs *flag.FlagSet) verb
	// positional checks the positional arguments (see oneModel).
	positional func(args []string) error
}

// verb runs a command with its parsed flags and positional arguments. It
// stops, returning ctx's error, when ctx is done.
type verb func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands []command

func init() {
	commands = []command{
		{"inspect", "MODEL.onnx", "optimise a model and print its inputs, outputs, ops, shifts, parameters and MACs, or draw its graph", inspectFlags, oneModel},
		{"compile", "MODEL.onnx", "generate a standalone Go package that runs the model", compileFlags, oneModel},
		{"verify", "MODEL.onnx [DATASET_DIR...]", "compile a model, run the generated code (or the interpreter) on its test data sets and compare every output", verifyFlags, modelAndDataSets},
		{"bench", "MODEL.onnx", "compile a model, build the generated code and time it (beside onnxruntime with -ort)", benchFlags, oneModel},
		{"quantize", "MODEL.onnx", "quantise a model to int8 (QDQ) from calibration data and compare it with float32", quantizeFlags, oneModel},
		{"tune", "MODEL.onnx", "time the candidate plans of every convolution, fused block and dense layer on this machine and keep the fastest as tuning records", tuneFlags, oneModel},
	}
}

// errFailed reports that the command ran and found failures; its message was
// already printed.
var errFailed = errors.New("failed")

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string {
	switch e.sig {
	case os.Interrupt:
		return "interrupted"
	case syscall.SIGTERM:
		return "terminated"
	}
	return "stopped by " + e.sig.String()
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		// a second signal ends the process at once, as without tsmc's handler
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		cancel(signalError{sig})
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status: 0 on
// success, 1 when the command failed, 2 for a usage error, and 128 plus
// the signal number (130 for SIGINT, 143 for SIGTERM) when a signal
// cancelled ctx before the verb finished (130 for any other
// cancellation).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return runHelp(args[1:], stdout, stderr)
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "tsmc: unknown verb %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fs, run := newFlagSet(c, stderr)
	err := fs.Parse(args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2 // the flag package printed the error and the usage
	}
	if err := c.positional(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "tsmc %s: %v\n", c.name, err)
		fmt.Fprintf(stderr, "usage: %s\n", strings.Join(synopsis(c), "\n"))
		return 2
	}
	err = run(ctx, fs.Args(), stdout, stderr)
	if err != nil && ctx.Err() != nil { // cut short: whatever failed, the signal is why
		fmt.Fprintf(stderr, "tsmc %s: %v\n", c.name, context.Cause(ctx))
		return interruptedStatus(ctx)
	}
	switch {
	case err == nil:
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

// interruptedStatus is the exit status of a run cut short by ctx: 128
// plus the number of the signal that cancelled it, as shells report a
// process killed by it.
func interruptedStatus(ctx context.Context) int {
	var s signalError
	if errors.As(context.Cause(ctx), &s) {
		if n, ok := s.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return 128 + int(syscall.SIGINT)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// runHelp prints the usage of tsmc, or of the verb named.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return 0
	case 1:
		if c, ok := lookup(args[0]); ok {
			verbUsage(stdout, c)
			return 0
		}
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "tsmc help: unknown verb %q (verbs: %s)\n", args[0], strings.Join(verbNames(), ", "))
	default:
		fmt.Fprintf(stderr, "tsmc help: one verb at a time, got %q\n", args)
	}
	return 2
}

func verbNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// usage prints tsmc's usage: every verb's synopsis, from its flags.
func usage(w io.Writer) {
	fmt.Fprintln(w, "tsmc compiles ONNX exports of TSM video networks into standalone Go packages.")
	fmt.Fprintf(w, "\nUsage:\n\n%s\n", synopses("    "))
	fmt.Fprintln(w, "Verbs:")
	for _, c := range commands {
		fmt.Fprintf(w, "    %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tsmc help VERB' (or 'tsmc VERB -h') for a verb's flags.")
}

// synopses is the synopsis of every verb and of help, each line indented.
func synopses(indent string) string {
	var b strings.Builder
	b.WriteString(indent + "tsmc help [VERB]\n")
	for _, c := range commands {
		for _, line := range synopsis(c) {
			b.WriteString(indent + line + "\n")
		}
	}
	return b.String()
}

// verbUsage prints one verb's synopsis, summary and flags.
func verbUsage(w io.Writer, c command) {
	fmt.Fprintf(w, "Usage:\n\n    %s\n\n%s.\n\nFlags:\n", strings.Join(synopsis(c), "\n    "), capitalize(c.summary))
	fs, _ := newFlagSet(c, w)
	fs.PrintDefaults()
}

// newFlagSet returns the verb's flag set, printing errors and usage to
// out, and the verb that runs with its flags once parsed.
func newFlagSet(c command, out io.Writer) (*flag.FlagSet, verb) {
	fs := flag.NewFlagSet("tsmc "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { verbUsage(out, c) }
	return fs, c.flags(fs)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
