package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
)

// maxThreads bounds -threads: far above any machine tsmc runs on, low
// enough that a typo does not start a million goroutines.
const maxThreads = 1024

// maxRuns bounds -n and -warmup: bench keeps every timed run in memory.
const maxRuns = 1_000_000

// numberValue is a numeric flag: every value, the default included,
// must parse and pass check, which says what is wanted when it fails.
// All numeric flags of tsmc are numberValues, so they are checked alike,
// when the command line is parsed.
type numberValue[T int | float64] struct {
	p     *T
	parse func(string) (T, error)
	check func(T) error
}

func (v *numberValue[T]) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return fmt.Sprint(*v.p)
}

func (v *numberValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	if err := v.check(x); err != nil {
		return err
	}
	*v.p = x
	return nil
}

// numberFlag registers a numberValue; a default that fails check is a
// bug in tsmc.
func numberFlag[T int | float64](fs *flag.FlagSet, name string, def T, parse func(string) (T, error), check func(T) error, usage string) *T {
	if err := check(def); err != nil {
		panic(fmt.Sprintf("tsmc: the default of -%s: %v", name, err))
	}
	p := new(T)
	*p = def
	fs.Var(&numberValue[T]{p: p, parse: parse, check: check}, name, usage)
	return p
}

// intFlag registers an integer flag with values from lo to hi; usage
// should name the value in backquotes, and the range is added to it.
func intFlag(fs *flag.FlagSet, name string, def, lo, hi int, usage string) *int {
	parse := func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 10, strconv.IntSize)
		if err != nil {
			return 0, errors.New("not an integer")
		}
		return int(n), nil
	}
	check := func(n int) error {
		if n < lo || n > hi {
			return fmt.Errorf("want %d to %d", lo, hi)
		}
		return nil
	}
	return numberFlag(fs, name, def, parse, check, fmt.Sprintf("%s (%d to %d)", usage, lo, hi))
}

// positiveFlag registers a float flag whose values must be finite and
// above 0.
func positiveFlag(fs *flag.FlagSet, name string, def float64, usage string) *float64 {
	parse := func(s string) (float64, error) {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, errors.New("not a number")
		}
		return x, nil
	}
	check := func(x float64) error {
		if !(x > 0) || math.IsInf(x, 1) {
			return errors.New("want a finite number above 0")
		}
		return nil
	}
	return numberFlag(fs, name, def, parse, check, usage+" (finite, above 0)")
}

// repeatable marks flag values that may be given more than once.
type repeatable interface{ repeatable() }

// dirFlags collects a repeatable folder flag.
type dirFlags []string

func (d *dirFlags) String() string { return fmt.Sprint(*d) }

func (d *dirFlags) Set(v string) error {
	*d = append(*d, v)
	return nil
}

func (*dirFlags) repeatable() {}

// shapeFlags collects repeated -shape NAME=D0xD1... flags.
type shapeFlags map[string]ir.Shape

func (s shapeFlags) String() string { return formatShapes(s) }

func (s shapeFlags) Set(v string) error {
	name, shape, err := parseShape(v)
	if err != nil {
		return err
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("input %q is bound twice", name)
	}
	s[name] = shape
	return nil
}

func (shapeFlags) repeatable() {}

// parseShape parses a -shape flag value "NAME=D0xD1x..." (a scalar is
// "NAME="): each dimension a decimal number from 0 to ir.MaxElements.
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
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil || n > ir.MaxElements {
			return "", nil, fmt.Errorf("bad shape %q: dimension %q is not an integer from 0 to %d", s, d, ir.MaxElements)
		}
		shape = append(shape, int(n))
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

// synopsisWidth is where synopsis lines wrap.
const synopsisWidth = 96

// synopsis renders a verb's synopsis from its flag set, wrapped: every
// flag in brackets with its value's name, "..." after repeatable ones,
// then the positional arguments.
func synopsis(c command) []string {
	fs, _ := newFlagSet(c, io.Discard)
	words := []string{}
	fs.VisitAll(func(f *flag.Flag) {
		w := "-" + f.Name
		b, isBool := f.Value.(interface{ IsBoolFlag() bool })
		switch {
		case isBool && b.IsBoolFlag() && f.DefValue == "true":
			w += "=false"
		case isBool && b.IsBoolFlag():
		default:
			name, _ := flag.UnquoteUsage(f)
			w += " " + name
		}
		w = "[" + w + "]"
		if _, ok := f.Value.(repeatable); ok {
			w += "..."
		}
		words = append(words, w)
	})
	words = append(words, c.args)
	head := "tsmc " + c.name + " "
	var lines []string
	line, empty := head, true
	for _, w := range words {
		if len(line)+len(w) > synopsisWidth && !empty {
			lines = append(lines, strings.TrimRight(line, " "))
			line, empty = strings.Repeat(" ", len(head)), true
		}
		line += w + " "
		empty = false
	}
	return append(lines, strings.TrimRight(line, " "))
}

// oneModel checks the positional arguments of a verb that takes one
// model.
func oneModel(args []string) error {
	if err := modelFirst(args); err != nil {
		return err
	}
	if len(args) > 1 {
		return fmt.Errorf("one model at a time, got %d arguments: %s", len(args), strings.Join(args, " "))
	}
	return nil
}

// modelAndDataSets checks the positional arguments of verify: a model,
// then data set folders (a file there is a second model, or a slip).
func modelAndDataSets(args []string) error {
	if err := modelFirst(args); err != nil {
		return err
	}
	for _, a := range args[1:] {
		if strings.HasSuffix(a, ".onnx") {
			return fmt.Errorf("%s names a model, not a data set folder: one model at a time", a)
		}
		if info, err := os.Stat(a); err == nil && !info.IsDir() {
			return fmt.Errorf("%s is a file, not a data set folder: one model at a time", a)
		}
	}
	return nil
}

// modelFirst requires a model and no flag after it (the flag package
// stops at the first argument that is not a flag).
func modelFirst(args []string) error {
	if len(args) == 0 {
		return errors.New("missing MODEL.onnx")
	}
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			return fmt.Errorf("flag %s after the model: flags go before MODEL.onnx", a)
		}
	}
	return nil
}

// jsonNumber is a float64 that JSON carries even when it is not finite (a
// relative error against a NaN is +Inf): NaN and the infinities become the
// strings "NaN", "Infinity" and "-Infinity", as the protobuf JSON mapping
// spells them; finite values stay numbers.
type jsonNumber float64

func (x jsonNumber) MarshalJSON() ([]byte, error) {
	f := float64(x)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (x *jsonNumber) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*x = jsonNumber(math.NaN())
	case `"Infinity"`:
		*x = jsonNumber(math.Inf(1))
	case `"-Infinity"`:
		*x = jsonNumber(math.Inf(-1))
	default:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("%s is not a number", b)
		}
		*x = jsonNumber(f)
	}
	return nil
}
