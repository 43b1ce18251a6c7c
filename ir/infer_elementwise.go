package ir

// Shape rules of elementwise and broadcasting ops.

// inferSameAsInput gives the single output the type of the single input.
func inferSameAsInput(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

func inferNot(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	if x := n.Inputs[0]; x.DType != Bool {
		return n.Errorf("input %v must be bool, has dtype %v", x, x.DType)
	}
	return inferSameAsInput(ctx, n)
}

// inferSoftmax covers Softmax and LogSoftmax: same type, axis checked
// (default 1 before opset 13, -1 from 13).
func inferSoftmax(ctx *InferContext, n *Node) error {
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
func inferDropout(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 3, 1, 2); err != nil {
		return err
	}
	x := n.Inputs[0]
	setOutput(n, 0, x.DType, x.Shape.Clone())
	mask := x.DType
	if ctx.Opset >= 10 {
		mask = Bool
	}
	setOutput(n, 1, mask, x.Shape.Clone())
	return nil
}

// inferBatchNorm: Y has X's type; the per-channel inputs must have C
// elements when 1-D; extra (training) outputs are per-channel vectors.
func inferBatchNorm(ctx *InferContext, n *Node) error {
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
		setOutput(n, i, n.Inputs[3].DType, Shape{c})
	}
	return nil
}

// onnxDTypes maps ONNX TensorProto data type codes to ir dtypes; float16 is
// widened to float32 as the reader does.
var onnxDTypes = map[int64]DType{
	1: Float32, 2: Uint8, 3: Int8, 5: Int16, 6: Int32, 7: Int64, 9: Bool, 10: Float32, 11: Float64,
}

func inferCast(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	a, ok := n.Attrs["to"]
	if !ok || a.Kind != AttrInt {
		return n.Errorf("missing int attribute to")
	}
	dt, ok := onnxDTypes[a.Int]
	if !ok {
		return n.Errorf("cast to ONNX data type %d is not supported", a.Int)
	}
	setOutput(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

func inferCastLike(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[1].DType, n.Inputs[0].Shape.Clone())
	return nil
}

// inferClip: before opset 11 the bounds are attributes; from 11 they are
// optional scalar inputs. The bounds need not be known for the shape.
func inferClip(ctx *InferContext, n *Node) error {
	maxIn := 1
	if ctx.Opset >= 11 {
		maxIn = 3
	}
	if err := arity(n, 1, maxIn, 1, 1); err != nil {
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
func binaryShape(ctx *InferContext, n *Node) (Shape, error) {
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
func inferArith(ctx *InferContext, n *Node) error {
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
func inferPow(ctx *InferContext, n *Node) error {
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
func inferCompare(ctx *InferContext, n *Node) error {
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
	setOutput(n, 0, Bool, s)
	return nil
}

// inferLogical covers And, Or, Xor on bool inputs.
func inferLogical(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	for _, v := range n.Inputs {
		if v.DType != Bool {
			return n.Errorf("input %v must be bool, has dtype %v", v, v.DType)
		}
	}
	s, err := binaryShape(ctx, n)
	if err != nil {
		return err
	}
	setOutput(n, 0, Bool, s)
	return nil
}

// inferVariadic covers Max, Min, Sum, Mean: any number of same-dtype
// inputs broadcast together.
func inferVariadic(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, -1, 1, 1); err != nil {
		return err
	}
	shapes := make([]Shape, len(n.Inputs))
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

func inferWhere(ctx *InferContext, n *Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	cond, x, y := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if cond.DType != Bool {
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
