package ir

import (
	"slices"
	"strings"
	"testing"
)

func TestRegisterOp(t *testing.T) {
	const domain, op = "tsmc", "TestDoubleRows"
	RegisterOp(domain, op, OpInfo{Infer: func(ctx *InferContext, n *Node) error {
		x := n.Inputs[0]
		out := x.Shape.Clone()
		out[0] *= 2
		n.Outputs[0].DType, n.Outputs[0].Shape = x.DType, out
		return nil
	}})
	t.Cleanup(func() {
		opsMu.Lock()
		delete(ops, opKey{domain, op})
		opsMu.Unlock()
	})
	x := &Value{Name: "x", DType: Float32, Shape: Shape{3, 4}}
	out := &Value{Name: "y"}
	g := &Graph{Name: "g", Opsets: map[string]int64{"": 13}, Inputs: []*Value{x}, Outputs: []*Value{out}}
	g.Nodes = append(g.Nodes, &Node{Name: "fused", Op: op, Domain: domain, Inputs: []*Value{x}, Outputs: []*Value{out}})
	if err := InferShapes(g, nil); err != nil {
		t.Fatal(err)
	}
	if out.DType.String()+out.Shape.String() != "f32[6,4]" {
		t.Errorf("got %s%v", out.DType, out.Shape)
	}
	// The same op name in the default domain has no rule.
	g.Nodes[0].Domain = ""
	if err := InferShapes(g, nil); err == nil || !strings.Contains(err.Error(), "no shape inference rule") {
		t.Errorf("got %v", err)
	}
	if names := SupportedOps(); !slices.Contains(names, domain+"."+op) {
		t.Errorf("SupportedOps lacks the registered op: %v", names)
	}
}
