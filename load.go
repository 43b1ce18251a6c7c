package tsmc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// Load reads an ONNX model, binds the given input shapes (by input name) and
// infers every shape. Symbolic dimensions left unbound are an error that
// lists them.
func Load(path string, shapes map[string]ir.Shape) (*ir.Graph, error) {
	g, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	if err := Prepare(g, shapes); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Prepare binds input shapes and infers all shapes of a freshly read graph,
// using the reference interpreter to follow shape arithmetic.
func Prepare(g *ir.Graph, shapes map[string]ir.Shape) error {
	if err := ir.BindShapes(g, shapes); err != nil {
		return err
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		return err
	}
	return g.Verify()
}

// ParseShape parses a -shape flag value "NAME=D0xD1x..." (a scalar is
// "NAME=").
func ParseShape(s string) (string, ir.Shape, error) {
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

// FormatShapes renders bound shapes as -shape flags, sorted by name.
func FormatShapes(shapes map[string]ir.Shape) string {
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
