package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// movedArg is an op argument that was an attribute before opset since and
// is an input from since on. before is a node using the attribute form
// (valid before since) and its output; after adds what the op requires at
// since, keeping the attribute.
type movedArg struct {
	op, attr string
	since    int64
	before   opCase
	after    []*ir.Value // the inputs at since, the attribute kept
}

// movedArgs lists every argument of the table's ops that moved from
// attribute to input.
func movedArgs() []movedArg {
	x := func() *ir.Value { return f32(1, 3, 1, 4) }
	return []movedArg{
		{op: "ReduceMean", attr: "axes", since: 18, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(2, 3)}, want: []string{"f32[1,3,1,1]"}}},
		{op: "ReduceMax", attr: "axes", since: 18, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(1)}, want: []string{"f32[1,1,1,4]"}}},
		{op: "ReduceMin", attr: "axes", since: 18, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(1)}, want: []string{"f32[1,1,1,4]"}}},
		{op: "ReduceProd", attr: "axes", since: 18, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(1)}, want: []string{"f32[1,1,1,4]"}}},
		{op: "ReduceSum", attr: "axes", since: 13, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(3), "keepdims": aInt(0)}, want: []string{"f32[1,3,1]"}}},
		{op: "Squeeze", attr: "axes", since: 13, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(0)}, want: []string{"f32[3,1,4]"}}},
		{op: "Unsqueeze", attr: "axes", since: 13, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axes": aInts(0)}, want: []string{"f32[1,1,3,1,4]"}}},
		{op: "Split", attr: "split", since: 13, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"axis": aInt(1), "split": aInts(1, 2)}, want: []string{"f32[1,1,1,4]", "f32[1,2,1,4]"}}},
		{op: "Slice", attr: "starts", since: 10, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"starts": aInts(1), "ends": aInts(3), "axes": aInts(3)}, want: []string{"f32[1,3,1,2]"}},
			after: []*ir.Value{x(), ints(0), ints(1)}},
		{op: "Slice", attr: "axes", since: 10, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"starts": aInts(1), "ends": aInts(3), "axes": aInts(3)}, want: []string{"f32[1,3,1,2]"}},
			after: []*ir.Value{x(), ints(0), ints(1)}},
		{op: "Pad", attr: "pads", since: 11, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"pads": aInts(0, 0, 0, 1, 0, 0, 0, 1)}, want: []string{"f32[1,3,1,6]"}},
			after: []*ir.Value{x(), ints(0, 0, 0, 1, 0, 0, 0, 1)}},
		{op: "Pad", attr: "value", since: 11, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"pads": aInts(0, 0, 0, 1, 0, 0, 0, 1), "value": aFloat(2)}, want: []string{"f32[1,3,1,6]"}},
			after: []*ir.Value{x(), ints(0, 0, 0, 1, 0, 0, 0, 1)}},
		{op: "Clip", attr: "max", since: 11, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"min": aFloat(0), "max": aFloat(6)}, want: []string{"f32[1,3,1,4]"}}},
		{op: "Reshape", attr: "shape", since: 5, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"shape": aInts(3, 4)}, want: []string{"f32[3,4]"}},
			after: []*ir.Value{x(), ints(3, 4)}},
		{op: "Dropout", attr: "ratio", since: 12, before: opCase{in: []*ir.Value{x()}, attrs: attrs{"ratio": aFloat(0.5)}, want: []string{"f32[1,3,1,4]"}}},
	}
}

// TestAttributeThatBecameAnInput checks every op argument that moved from
// attribute to input: the attribute form is read before the move, and
// from the move on (at the opset of the move and the newest one) an
// attribute is an error that says it is not valid at that opset, not an
// attribute silently ignored.
func TestAttributeThatBecameAnInput(t *testing.T) {
	for _, m := range movedArgs() {
		before := m.before
		before.name, before.op, before.opset = fmt.Sprintf("%s-%d %s attribute", m.op, m.since-1, m.attr), m.op, m.since-1
		cases := []opCase{before}
		for _, opset := range []int64{m.since, 22} {
			after := opCase{
				name: fmt.Sprintf("%s-%d %s attribute", m.op, opset, m.attr), op: m.op, opset: opset,
				in: m.after, attrs: attrs{m.attr: m.before.attrs[m.attr]}, outs: len(m.before.want),
				err: fmt.Sprintf("attribute %s is not valid at opset %d: from opset %d %s takes it as input", m.attr, opset, m.since, m.op),
			}
			if after.in == nil {
				after.in = m.before.in[:1]
			}
			cases = append(cases, after)
		}
		runOpCases(t, cases)
	}
}

// TestLoweringReadsArgumentsAsInference checks that the decoders the
// lowerings share with the shape rules reject the attribute form alike.
func TestLoweringReadsArgumentsAsInference(t *testing.T) {
	reduce := &ir.Node{Name: "n0", Op: "ReduceMean", Inputs: []*ir.Value{f32(1, 3, 4)}, Outputs: []*ir.Value{f32()}, Attrs: attrs{"axes": aInts(2)}}
	if _, err := decodeReduce(ir.ConstContext(18), reduce, reduceSince["ReduceMean"]); err == nil || !strings.Contains(err.Error(), "not valid at opset 18") {
		t.Errorf("ReduceMean-18 with an axes attribute: %v", err)
	}
	if r, err := decodeReduce(ir.ConstContext(17), reduce, reduceSince["ReduceMean"]); err != nil || !r.axes[2] || r.axes[0] || r.axes[1] {
		t.Errorf("ReduceMean-17 with an axes attribute: %+v, %v; want axis 2", r, err)
	}
	slice := &ir.Node{Name: "n0", Op: "Slice", Inputs: []*ir.Value{f32(1, 3, 4), ints(0), ints(1)}, Outputs: []*ir.Value{f32()}, Attrs: attrs{"axes": aInts(2)}}
	if _, err := decodeSlice(ir.ConstContext(13), slice); err == nil || !strings.Contains(err.Error(), "not valid at opset 13") {
		t.Errorf("Slice-13 with an axes attribute: %v", err)
	}
}
