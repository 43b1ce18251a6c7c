package ops

import (
	"maps"
	"math"
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// elementwiseDefs are the elementwise and broadcasting ops.
func elementwiseDefs() []*Def {
	var ds []*Def
	for _, op := range slices.Sorted(maps.Keys(unaryOps)) {
		ds = append(ds, &Def{Op: op, Infer: since(unaryOps[op].since, inferSameAsInput), Lower: lowerUnary, Elementwise: true})
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		ds = append(ds, &Def{Op: op, Infer: inferArith, Lower: lowerBinary, Elementwise: true})
	}
	for _, op := range []string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		ds = append(ds, &Def{Op: op, Infer: inferCompare, Lower: lowerBinary})
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		ds = append(ds, &Def{Op: op, Infer: inferLogical, Lower: lowerBinary})
	}
	for _, op := range []string{"Max", "Min", "Sum", "Mean"} {
		ds = append(ds, &Def{Op: op, Infer: inferVariadic, Lower: lowerVariadic, Elementwise: true})
	}
	return append(ds,
		&Def{Op: "Relu", Infer: inferSameAsInput, Lower: lowerActivation, Elementwise: true},
		&Def{Op: "Gelu", Infer: since(20, inferSameAsInput), Lower: lowerUnary, Elementwise: true},
		&Def{Op: "Identity", Infer: inferSameAsInput, Lower: lowerAlias, Int8: true},
		&Def{Op: "Not", Infer: inferNot, Lower: lowerUnary},
		&Def{Op: "Softmax", Infer: inferSoftmax, Lower: lowerSoftmax},
		&Def{Op: "LogSoftmax", Infer: inferSoftmax, Lower: lowerSoftmax},
		&Def{Op: "Dropout", Infer: inferDropout, Lower: lowerAlias},
		&Def{Op: "BatchNormalization", Infer: inferBatchNorm, Params: true, Lower: lowerBatchNorm},
		&Def{Op: "Cast", Infer: inferCast, Lower: lowerCast},
		&Def{Op: "CastLike", Infer: inferCastLike, Lower: lowerCast},
		&Def{Op: "Clip", Infer: inferClip, Lower: lowerActivation, Elementwise: true},
		&Def{Op: "Pow", Infer: inferPow, Lower: lowerBinary, Elementwise: true},
		&Def{Op: "PRelu", Infer: inferPRelu, Lower: lowerBinary},
		&Def{Op: "Where", Infer: inferWhere, Lower: lowerWhere},
	)
}

// unaryOp is a runtime.Unary kind and the attributes that are its
// parameters, with their defaults.
type unaryOp struct {
	kind   Named
	params []attrDefault
	since  int64 // the first opset that defines the op
}

type attrDefault struct {
	name string
	def  float32
}

// unaryOps are the unary ops runtime.Unary runs (Gelu picks its kind by
// its approximate attribute; Relu and Clip run as runtime.Activate).
var unaryOps = map[string]unaryOp{
	"Abs":         {kind: "UnaryAbs"},
	"Ceil":        {kind: "UnaryCeil"},
	"Elu":         {kind: "UnaryElu", params: []attrDefault{{"alpha", 1}}},
	"Erf":         {kind: "UnaryErf", since: 9},
	"Exp":         {kind: "UnaryExp"},
	"Floor":       {kind: "UnaryFloor"},
	"HardSigmoid": {kind: "UnaryHardSigmoid", params: []attrDefault{{"alpha", 0.2}, {"beta", 0.5}}},
	"HardSwish":   {kind: "UnaryHardSwish", since: 14},
	"LeakyRelu":   {kind: "UnaryLeakyRelu", params: []attrDefault{{"alpha", 0.01}}},
	"Log":         {kind: "UnaryLog"},
	"Mish":        {kind: "UnaryMish", since: 18},
	"Neg":         {kind: "UnaryNeg"},
	"Reciprocal":  {kind: "UnaryReciprocal"},
	"Selu":        {kind: "UnarySelu", params: []attrDefault{{"alpha", 1.67326319217681884765625}, {"gamma", 1.05070102214813232421875}}},
	"Sigmoid":     {kind: "UnarySigmoid"},
	"Softplus":    {kind: "UnarySoftplus"},
	"Softsign":    {kind: "UnarySoftsign"},
	"Sqrt":        {kind: "UnarySqrt"},
	"Tanh":        {kind: "UnaryTanh"},
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

// inferPRelu: Y has X's type; slope must broadcast to X.
func inferPRelu(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if s := n.Inputs[1].Shape; ctx.Opset >= 7 || s.Size() != 1 {
		if err := broadcastTo(n, s, x.Shape, "slope"); err != nil {
			return err
		}
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

// inferArith covers Add, Sub, Mul, Div: same-dtype inputs, broadcast.
func inferArith(ctx *ir.InferContext, n *ir.Node) error {
	return inferBinary(ctx, n, true, ir.Undefined, ir.Undefined)
}

// inferPow: the exponent may have another dtype than the base.
func inferPow(ctx *ir.InferContext, n *ir.Node) error {
	return inferBinary(ctx, n, false, ir.Undefined, ir.Undefined)
}

// inferCompare covers Equal, Less, Greater and the -OrEqual forms.
func inferCompare(ctx *ir.InferContext, n *ir.Node) error {
	return inferBinary(ctx, n, true, ir.Undefined, ir.Bool)
}

// inferLogical covers And, Or, Xor on bool inputs.
func inferLogical(ctx *ir.InferContext, n *ir.Node) error {
	return inferBinary(ctx, n, false, ir.Bool, ir.Bool)
}

// inferBinary is the shape rule of a two-input elementwise op: its inputs
// of one dtype where same, of dtype only unless that is Undefined; its
// output broadcast from them, of dtype out (Undefined: the first
// input's).
func inferBinary(ctx *ir.InferContext, n *ir.Node, same bool, only, out ir.DType) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if same {
		if err := sameDTypes(n, 0, 1); err != nil {
			return err
		}
	}
	if only != ir.Undefined {
		for _, v := range n.Inputs {
			if v.DType != only {
				return n.Errorf("input %v must be %v, has dtype %v", v, only, v.DType)
			}
		}
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	if out == ir.Undefined {
		out = n.Inputs[0].DType
	}
	setOutput(n, 0, out, s)
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

// lowerUnary runs a unary op as a runtime.Unary.
func lowerUnary(l Lowering, n *ir.Node) error {
	var kind Named
	var params []any
	switch n.Op {
	case "Not":
		kind = "UnaryNot"
	case "Gelu":
		switch a := n.AttrString("approximate", "none"); a {
		case "none":
			kind = "UnaryGelu"
		case "tanh":
			kind = "UnaryGeluTanh"
		default:
			return n.Errorf("unknown approximate %q (want none or tanh)", a)
		}
	default:
		u := unaryOps[n.Op]
		kind = u.kind
		for _, p := range u.params {
			params = append(params, n.AttrFloat(p.name, p.def))
		}
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	u := l.Object("unary", "Unary", "NewUnary", append([]any{kind, out.Floats()}, params...)...)
	l.Run(Method(u, "Run", Pool, ins[0], out))
	return nil
}

// binaryKinds are the runtime.Binary kinds of the two-operand ops.
var binaryKinds = map[string]Named{
	"Add": "BinaryAdd", "Sub": "BinarySub", "Mul": "BinaryMul", "Div": "BinaryDiv", "Pow": "BinaryPow",
	"Max": "BinaryMax", "Min": "BinaryMin", "Sum": "BinaryAdd", "PRelu": "BinaryPRelu",
	"Equal": "BinaryEqual", "Less": "BinaryLess", "LessOrEqual": "BinaryLessOrEqual",
	"Greater": "BinaryGreater", "GreaterOrEqual": "BinaryGreaterOrEqual",
	"And": "BinaryAnd", "Or": "BinaryOr", "Xor": "BinaryXor",
}

// binaryOperandShapes are the shapes of a two-input op's operands as
// numpy broadcasting reads them: the legacy broadcast of opsets before 7
// (B matching a run of A's dims at axis) becomes B with trailing 1s.
func binaryOperandShapes(n *ir.Node, opset int64) (a, b ir.Shape) {
	a, b = n.Input(0).Shape, n.Input(1).Shape
	if opset >= 7 || n.Op == "PRelu" || n.AttrInt("broadcast", 0) == 0 {
		return a, b
	}
	axis := int(n.AttrInt("axis", int64(len(a)-len(b))))
	aligned := b.Clone()
	for len(aligned) < len(a)-axis {
		aligned = append(aligned, 1)
	}
	return a, aligned
}

// lowerBinary runs a two-input op: an Add of equal shapes as runtime.Add,
// anything else as a broadcasting runtime.Binary.
func lowerBinary(l Lowering, n *ir.Node) error {
	a, b := binaryOperandShapes(n, l.Opset())
	ins, out, err := operands(l, 0, 1)
	if err != nil {
		return err
	}
	if n.Op == "Add" && a.Equal(b) {
		l.Run(Fn("Add", Pool, ins[0], ins[1], out, runtime.Act{}))
		return nil
	}
	if n.Op == "Pow" && n.Input(1).DType != ir.Float32 {
		return n.Errorf("exponent %v is %v; only float32 exponents are computed at run time", n.Input(1), n.Input(1).DType)
	}
	bin := l.Object("binary", "Binary", "NewBinary", binaryKinds[n.Op], []int(a), []int(b))
	l.Run(Method(bin, "Run", Pool, ins[0], ins[1], out))
	return nil
}

// lowerVariadic runs Max, Min, Sum and Mean: one input is a view, two a
// runtime.Binary (Mean excepted), more a runtime.Variadic.
func lowerVariadic(l Lowering, n *ir.Node) error {
	switch k := len(n.Inputs); {
	case k == 1:
		return l.Alias()
	case k == 2 && n.Op != "Mean":
		return lowerBinary(l, n)
	}
	idx := make([]int, len(n.Inputs))
	shapes := make([][]int, len(n.Inputs))
	for k, v := range n.Inputs {
		idx[k], shapes[k] = k, v.Shape
	}
	ins, out, err := operands(l, idx...)
	if err != nil {
		return err
	}
	v := l.Object("variadic", "Variadic", "NewVariadic", Named("Variadic"+n.Op), shapes)
	l.Run(Method(v, "Run", Pool, ins, out))
	return nil
}

// lowerWhere runs a broadcasting runtime.Where (bools are 0/1 floats).
func lowerWhere(l Lowering, n *ir.Node) error {
	ins, out, err := operands(l, 0, 1, 2)
	if err != nil {
		return err
	}
	w := l.Object("where", "Where", "NewWhere", []int(n.Input(0).Shape), []int(n.Input(1).Shape), []int(n.Input(2).Shape))
	l.Run(Method(w, "Run", Pool, ins[0], ins[1], ins[2], out))
	return nil
}

// lowerCast lowers the casts that keep run-time values as they are stored:
// to float32 from float32 or bool (bools are 0/1 floats), and bool to bool.
func lowerCast(l Lowering, n *ir.Node) error {
	from, to := n.Input(0).DType, n.Outputs[0].DType
	if to == from || (to == ir.Float32 && from == ir.Bool) {
		return l.Alias()
	}
	return n.Errorf("casting %v to %v: only casts to float32 from float32 or bool are computed at run time", from, to)
}

// lowerBatchNorm runs an inference-mode BatchNormalization that no
// convolution absorbed as a per-channel affine: its scale and shift
// computed at compile time from constant parameters, or every run
// (runtime.BatchNorm) from run-time ones.
func lowerBatchNorm(l Lowering, n *ir.Node) error {
	x := n.Input(0).Shape
	c := x[1]
	eps := n.AttrFloat("epsilon", 1e-5)
	if len(n.Outputs) > 1 && slices.ContainsFunc(n.Outputs[1:], func(v *ir.Value) bool { return v != nil }) {
		return n.Errorf("the training-mode outputs of BatchNormalization are not computed")
	}
	var params [4][]float32 // scale, bias, mean, var
	for k := range params {
		if v := n.Input(k + 1); v.IsConst() && v.DType == ir.Float32 {
			params[k] = v.Const.F32
		}
	}
	if params[0] == nil || params[1] == nil || params[2] == nil || params[3] == nil {
		ins, out, err := operands(l, 0, 1, 2, 3, 4)
		if err != nil {
			return err
		}
		bn := l.Object("batchnorm", "BatchNorm", "NewBatchNorm", x[0], c, x[2:].Size(), eps)
		l.Run(Method(bn, "Run", Pool, ins[0], ins[1], ins[2], ins[3], ins[4], out))
		return nil
	}
	scale, shift := make([]float32, c), make([]float32, c)
	for i := range c {
		s := float64(params[0][i]) / math.Sqrt(float64(params[3][i])+float64(eps))
		scale[i], shift[i] = float32(s), float32(float64(params[1][i])-float64(params[2][i])*s)
	}
	sv, err := l.Weights(ir.NewConst(n.Outputs[0].Name+"_scale", ir.Float32s(ir.Shape{c}, scale)))
	if err != nil {
		return err
	}
	hv, err := l.Weights(ir.NewConst(n.Outputs[0].Name+"_shift", ir.Float32s(ir.Shape{c}, shift)))
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	a := l.Object("affine", "ChannelAffine", "NewChannelAffine", x[0], c, x[2:].Size(), sv, hv, runtime.Act{})
	l.Run(Method(a, "Run", Pool, ins[0], out))
	return nil
}

// softmaxAxis reads a Softmax's axis as [outer][size][inner]: before opset
// 13 the input is flattened at axis (default 1), so inner is 1; from 13 on
// the axis (default -1) is one axis.
func softmaxAxis(n *ir.Node, opset int64) (outer, size, inner int, err error) {
	x := n.Input(0)
	def := int64(-1)
	if opset < 13 {
		def = 1
	}
	rank := len(x.Shape)
	axis, err := normAxis(n, n.AttrInt("axis", def), max(rank, 1), "axis")
	if err != nil {
		return 0, 0, 0, err
	}
	if opset >= 13 {
		return x.Shape[:axis].Size(), x.Shape[axis], x.Shape[axis+1:].Size(), nil
	}
	return x.Shape[:axis].Size(), x.Shape[axis:].Size(), 1, nil
}

// lowerSoftmax runs Softmax and LogSoftmax: rows along the last axis as
// runtime.Softmax, any other axis as a runtime.SoftmaxAxis.
func lowerSoftmax(l Lowering, n *ir.Node) error {
	outer, size, inner, err := softmaxAxis(n, l.Opset())
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	if n.Op == "Softmax" && inner == 1 {
		l.Run(Fn("Softmax", Pool, ins[0], out, outer, size))
		return nil
	}
	sm := l.Object("softmax", "SoftmaxAxis", "NewSoftmaxAxis", []int{outer, size, inner}, 1, n.Op == "LogSoftmax")
	l.Run(Method(sm, "Run", Pool, ins[0], out))
	return nil
}

// SoftmaxLastAxis reports whether a Softmax (of known input shape)
// normalises along its input's last axis alone.
func SoftmaxLastAxis(n *ir.Node, opset int64) bool {
	x := n.Input(0)
	if x == nil || len(x.Shape) == 0 || !x.Shape.Known() {
		return false
	}
	_, size, inner, err := softmaxAxis(n, opset)
	return err == nil && inner == 1 && size == x.Shape[len(x.Shape)-1]
}
