package tsmc

import (
	"fmt"

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
