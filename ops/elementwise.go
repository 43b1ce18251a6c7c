package ops

import (
	"math"
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// elementwiseDefs are the elementwise and broadcasting ops.
func elementwiseDefs() []*Def {
	var ds []*Def
	for _, op := range []string{"Abs", "Ceil", "Elu", "Erf", "Exp", "Floor", "HardSigmoid", "HardSwish", "LeakyRelu",
		"Log", "Neg", "Reciprocal", "Relu", "Sigmoid", "Sqrt", "Tanh"} {
		ds = append(ds, &Def{Op: op, Infer: inferSameAsInput})
	}
	ds[slices.IndexFunc(ds, func(d *Def) bool { return d.Op == "Relu" })].Lower = lowerActivation
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		ds = append(ds, &Def{Op: op, Infer: inferArith})
		if op == "Add" {
			ds[len(ds)-1].Lower = lowerAdd
		}
	}
	for _, op := range []string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		ds = append(ds, &Def{Op: op, Infer: inferCompare})
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		ds = append(ds, &Def{Op: op, Infer: inferLogical})
	}
	for _, op := range []string{"Max", "Min", "Sum", "Mean"} {
		ds = append(ds, &Def{Op: op, Infer: inferVariadic})
	}
	return append(ds,
		&Def{Op: "Identity", Infer: inferSameAsInput, Lower: lowerAlias},
		&Def{Op: "Not", Infer: inferNot},
		&Def{Op: "Softmax", Infer: inferSoftmax, Lower: lowerSoftmax},
		&Def{Op: "LogSoftmax", Infer: inferSoftmax},
		&Def{Op: "Dropout", Infer: inferDropout, Lower: lowerAlias},
		&Def{Op: "BatchNormalization", Infer: inferBatchNorm, Params: true},
		&Def{Op: "Cast", Infer: inferCast},
		&Def{Op: "CastLike", Infer: inferCastLike},
		&Def{Op: "Clip", Infer: inferClip, Lower: lowerActivation},
		&Def{Op: "Pow", Infer: inferPow},
		&Def{Op: "Where", Infer: inferWhere},
	)
}

// Shape rules of elementwise and broadcasting ops.

// inferSameAsInput gives the single output the type of the single input.
func inferSameAsInput(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

func inferNot(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	if x := n.Inputs[0]; x.DType != ir.Bool {
		return n.Errorf("input %v must be bool, has dtype %v", x, x.DType)
	}
	return inferSameAsInput(ctx, n)
}

// inferSoftmax covers Softmax and LogSoftmax: same type, axis checked
// (default 1 before opset 13, -1 from 13).
func inferSoftmax(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	def := int64(-1)
	if ctx.Opset < 13 {
		def = 1
	}
	if _, err := normAxis(n, n.AttrInt("axis", def), len(n.Inputs[0].Shape), "axis"); err != nil {
		return err
	}
	return inferSameAsInput(ctx, n)
}

// inferDropout is the identity at inference; the optional mask output is
// bool from opset 10 and of the input's dtype before.
func inferDropout(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 3, 1, 2); err != nil {
		return err
	}
	if err := attrsBecameInputs(n, ctx.Opset, 12, "ratio"); err != nil {
		return err
	}
	x := n.Inputs[0]
	setOutput(n, 0, x.DType, x.Shape.Clone())
	mask := x.DType
	if ctx.Opset >= 10 {
		mask = ir.Bool
	}
	setOutput(n, 1, mask, x.Shape.Clone())
	return nil
}

// inferBatchNorm: Y has X's type; the per-channel inputs must have C
// elements when 1-D; extra (training) outputs are per-channel vectors.
func inferBatchNorm(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 5, 5, 1, 5); err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 2 {
		return n.Errorf("input %v must have rank >= 2 (N, C, ...), has shape %v", x, x.Shape)
	}
	c := x.Shape[1]
	names := [...]string{"", "scale", "B", "mean", "var"}
	for i := 1; i < 5; i++ {
		v := n.Inputs[i]
		if len(v.Shape) == 1 && v.Shape[0] != c {
			return n.Errorf("input %d (%s) %v has shape %v, want [%d] for %d channels", i, names[i], v, v.Shape, c, c)
		}
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	for i := 1; i < len(n.Outputs); i++ {
		setOutput(n, i, n.Inputs[3].DType, ir.Shape{c})
	}
	return nil
}

// onnxDTypes maps ONNX TensorProto data type codes to ir dtypes; float16 is
// widened to float32 as the reader does.
var onnxDTypes = map[int64]ir.DType{
	1: ir.Float32, 2: ir.Uint8, 3: ir.Int8, 5: ir.Int16, 6: ir.Int32, 7: ir.Int64, 9: ir.Bool, 10: ir.Float32, 11: ir.Float64,
}

func inferCast(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	a, ok := n.Attrs["to"]
	if !ok || a.Kind != ir.AttrInt {
		return n.Errorf("missing int attribute to")
	}
	dt, ok := onnxDTypes[a.Int]
	if !ok {
		return n.Errorf("cast to ONNX data type %d is not supported", a.Int)
	}
	setOutput(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

func inferCastLike(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[1].DType, n.Inputs[0].Shape.Clone())
	return nil
}

// inferClip: before opset 11 the bounds are attributes; from 11 they are
// optional scalar inputs. The bounds need not be known for the shape.
func inferClip(ctx *ir.InferContext, n *ir.Node) error {
	maxIn := 1
	if ctx.Opset >= 11 {
		maxIn = 3
	}
	if err := arity(n, 1, maxIn, 1, 1); err != nil {
		return err
	}
	if err := attrsBecameInputs(n, ctx.Opset, 11, "min", "max"); err != nil {
		return err
	}
	x := n.Inputs[0]
	for i, v := range n.Inputs[1:] {
		if v == nil {
			continue
		}
		if v.DType != x.DType {
			return n.Errorf("bound input %d %v has dtype %v, want %v", i+1, v, v.DType, x.DType)
		}
		if v.Shape.Size() != 1 {
			return n.Errorf("bound input %d %v must be a scalar, has shape %v", i+1, v, v.Shape)
		}
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

// binaryShape is the output shape of a two-input broadcasting op: numpy
// broadcasting from opset 7, the legacy broadcast and axis attributes
// before it (B matches a contiguous run of A's dims, by default its tail).
func binaryShape(ctx *ir.InferContext, n *ir.Node) (ir.Shape, error) {
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	if ctx.Opset >= 7 {
		return broadcast(n, a, b)
	}
	if n.AttrInt("broadcast", 0) == 0 {
		if !a.Equal(b) {
			return nil, n.Errorf("input shapes %v and %v differ and broadcast is not set (opset %d)", a, b, ctx.Opset)
		}
		return a.Clone(), nil
	}
	axis := n.AttrInt("axis", int64(len(a)-len(b)))
	if len(b) > len(a) || axis < 0 || axis+int64(len(b)) > int64(len(a)) {
		return nil, n.Errorf("cannot broadcast %v onto %v at axis %d", b, a, axis)
	}
	for i, d := range b {
		if d != 1 && d != a[int(axis)+i] {
			return nil, n.Errorf("cannot broadcast %v onto %v at axis %d: dim %d is %d, want %d", b, a, axis, i, d, a[int(axis)+i])
		}
	}
	return a.Clone(), nil
}

// inferArith covers Add, Sub, Mul, Div: same-dtype inputs, broadcast.
func inferArith(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, s)
	return nil
}

// inferPow: the exponent may have another dtype than the base.
func inferPow(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, s)
	return nil
}

// inferCompare covers Equal, Less, Greater and the -OrEqual forms.
func inferCompare(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	setOutput(n, 0, ir.Bool, s)
	return nil
}

// inferLogical covers And, Or, Xor on bool inputs.
func inferLogical(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	for _, v := range n.Inputs {
		if v.DType != ir.Bool {
			return n.Errorf("input %v must be bool, has dtype %v", v, v.DType)
		}
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	setOutput(n, 0, ir.Bool, s)
	return nil
}

// inferVariadic covers Max, Min, Sum, Mean: any number of same-dtype
// inputs broadcast together.
func inferVariadic(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, -1, 1, 1); err != nil {
		return err
	}
	shapes := make([]ir.Shape, len(n.Inputs))
	idx := make([]int, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			return n.Errorf("input %d is missing", i)
		}
		shapes[i], idx[i] = v.Shape, i
	}
	if err := sameDTypes(n, idx...); err != nil {
		return err
	}
	s, err := broadcast(n, shapes...)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, s)
	return nil
}

func inferWhere(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	cond, x, y := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if cond.DType != ir.Bool {
		return n.Errorf("condition %v must be bool, has dtype %v", cond, cond.DType)
	}
	if err := sameDTypes(n, 1, 2); err != nil {
		return err
	}
	s, err := broadcast(n, cond.Shape, x.Shape, y.Shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, x.DType, s)
	return nil
}

// ClipBounds reads the bounds of a Clip: attributes before opset 11,
// optional scalar constant inputs from 11 on; an absent bound is infinite.
// ok is false when a bound is not a float32 constant.
func ClipBounds(n *ir.Node, opset int64) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if opset < 11 {
		return n.AttrFloat("min", -math.MaxFloat32), n.AttrFloat("max", math.MaxFloat32), true
	}
	for k, bound := range []*float32{&lo, &hi} {
		v := n.Input(k + 1)
		if v == nil {
			continue
		}
		if !v.IsConst() || v.Const.Len() != 1 || v.DType != ir.Float32 {
			return 0, 0, false
		}
		*bound = v.Const.F32[0]
	}
	return lo, hi, true
}

// lowerActivation runs a standalone Relu or Clip.
func lowerActivation(l Lowering, n *ir.Node) error {
	act := runtime.Relu
	if n.Op == "Clip" {
		lo, hi, ok := ClipBounds(n, l.Opset())
		if !ok {
			return n.Errorf("clip bounds must be float32 scalar constants")
		}
		var err error
		if act, err = clipAct(n, lo, hi); err != nil {
			return err
		}
	}
	x, err := l.In(0)
	if err != nil {
		return err
	}
	out, err := l.Out(0)
	if err != nil {
		return err
	}
	l.Run(Fn("Activate", Pool, x, out, act))
	return nil
}

// lowerAdd runs an Add of two tensors of one shape.
func lowerAdd(l Lowering, n *ir.Node) error {
	a, b := n.Input(0), n.Input(1)
	if !a.Shape.Equal(b.Shape) || !a.Shape.Equal(n.Outputs[0].Shape) {
		return n.Errorf("operands %v%v and %v%v: only adds of equal shapes are supported, no broadcasting", a, a.Shape, b, b.Shape)
	}
	ins, out, err := operands(l, 0, 1)
	if err != nil {
		return err
	}
	l.Run(Fn("Add", Pool, ins[0], ins[1], out, runtime.Act{}))
	return nil
}

// softmaxRows reads a Softmax's axis as rows of n values: before opset 13
// the input is flattened at axis (default 1); from 13 on the axis
// (default -1) must be the last one of more than one element.
func softmaxRows(n *ir.Node, opset int64) (rows, size int, err error) {
	x := n.Input(0)
	def := int64(-1)
	if opset < 13 {
		def = 1
	}
	rank := len(x.Shape)
	axis, err := normAxis(n, n.AttrInt("axis", def), max(rank, 1), "axis")
	if err != nil {
		return 0, 0, err
	}
	if opset >= 13 && x.Shape[axis+1:].Size() != 1 {
		return 0, 0, n.Errorf("softmax over axis %d of %v: only the last axis is supported", axis, x.Shape)
	}
	return x.Shape[:axis].Size(), x.Shape[axis:].Size(), nil
}

// lowerSoftmax runs Softmax over rows.
func lowerSoftmax(l Lowering, n *ir.Node) error {
	rows, size, err := softmaxRows(n, l.Opset())
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn("Softmax", ins[0], out, rows, size))
	return nil
}
