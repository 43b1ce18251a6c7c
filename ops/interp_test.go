package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/conformance"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// TestTableMatchesInterpreter checks that the table and the interpreter
// know the same ops.
func TestTableMatchesInterpreter(t *testing.T) {
	kernels := interp.Supported()
	for _, name := range Names() {
		if !slices.Contains(kernels, name) {
			t.Errorf("%s is in the table but the interpreter has no kernel for it", name)
		}
	}
	for _, name := range kernels {
		if table[name] == nil {
			t.Errorf("the interpreter runs %s but the table does not define it", name)
		}
	}
}

// TestShapeRulesMatchInterpreter runs every ONNX node test of the table's
// ops through the interpreter, whose kernels derive their output shapes
// from the data, and through the table's shape rules: types and shapes
// must agree. The tests' integer inputs are shape arguments, bound as
// constants as exporters write them.
func TestShapeRulesMatchInterpreter(t *testing.T) {
	cases := 0
	for _, name := range Names() {
		if strings.Contains(name, ".") {
			continue
		}
		for _, title := range conformance.Titles(name) {
			c, err := conformance.Load(name, title)
			if err != nil {
				t.Errorf("%s/%s: %v", name, title, err)
				continue
			}
			cases++
			inputs := c.BindArguments()
			outs, err := interp.Run(c.Graph, inputs)
			if err != nil {
				t.Errorf("%s: interpreter: %v", c.Name(), err)
				continue
			}
			if err := ir.InferShapes(c.Graph, interp.Eval); err != nil {
				t.Errorf("%s: shape rule: %v", c.Name(), err)
				continue
			}
			for _, o := range c.Graph.Outputs {
				got := outs[o.Name]
				if got.DType != o.DType || !got.Shape.Equal(o.Shape) {
					t.Errorf("%s: output %s: the interpreter computes %v%v, the shape rule says %v%v", c.Name(), o.Name, got.DType, got.Shape, o.DType, o.Shape)
				}
			}
		}
	}
	t.Logf("%d node tests agree", cases)
}
