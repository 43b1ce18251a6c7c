package runtime

import (
	"fmt"
	"math"
	"slices"
)

// operand is where an elementwise kernel reads one input along a segment
// of the output, rows x cols contiguous floats: row r, column j is
// v[r*rs + j*cs], cs being 1 (a row of the input) or 0 (a broadcast
// value).
type operand struct {
	v      []float32
	rs, cs int
}

// bcast is the loop nest of an elementwise op with numpy broadcasting:
// the output's dims with broadcast-compatible neighbours merged and each
// input's strides along them (0 where it is broadcast). A run calls the
// owner's segment function on blocks of the output: whole rows of the
// last merged dim, as many as fit in the item and the second-to-last
// dim's run, or a part of one row. Same-shape inputs are one flat run, a
// scalar is a stride-0 operand, [N,C,H,W] * [1,C,1,1] is rows of H*W
// against one value each and [R,4] + [4] blocks of rows reading the
// same four values, with no per-element index arithmetic.
type bcast struct {
	in      [][]int
	out     []int
	n       int
	dims    []int
	strides [][]int
	outer   [][]int // strides[k] but the last dim
	op      string  // the owner's name, for panics
	// seg computes one block of the output, rows of cols floats, from
	// args[k], input k's operand, on the pool worker given; set by the
	// owner when it is planned
	seg func(worker int, o []float32, cols int, args []operand)
	// args[w] holds worker w's segment arguments (sized by the first run
	// on a pool of that many workers: a slice handed to seg escapes)
	args [][]operand
}

func newBcast(shapes ...[]int) (*bcast, error) {
	out, err := broadcastShape(shapes...)
	if err != nil {
		return nil, err
	}
	strides := make([][]int, len(shapes))
	in := make([][]int, len(shapes))
	for k, s := range shapes {
		strides[k] = broadcastStrides(s, out)
		in[k] = slices.Clone(s)
	}
	b := &bcast{in: in, out: out, n: product(out)}
	b.dims, b.strides = mergeDims(out, strides...)
	last := len(b.dims) - 1
	for k := range b.strides {
		b.outer = append(b.outer, b.strides[k][:last])
	}
	return b, nil
}

// check panics unless ins and out have the planned lengths.
func (b *bcast) check(op string, ins [][]float32, out []float32) {
	checkLen(op, "input count", len(ins), len(b.in))
	for k, in := range ins {
		checkLenOf(op, "input", k, len(in), product(b.in[k]))
	}
	checkLen(op, "out", len(out), b.n)
}

// run calls b.seg over blocks of out that cover it; items are chunks of
// ewChunk outputs.
func (b *bcast) run(p *Pool, ins [][]float32, out []float32) {
	b.check(b.op, ins, out)
	last := len(b.dims) - 1
	inner := b.dims[last]
	for len(b.args) < p.Threads() {
		b.args = append(b.args, make([]operand, len(ins)))
	}
	p.For(ceilDiv(b.n, ewChunk), func(worker, item int) {
		i0, i1 := item*ewChunk, min(b.n, (item+1)*ewChunk)
		var od odometer
		od.init(b.dims[:last], b.outer)
		od.seek(i0 / inner)
		col := i0 % inner
		args := b.args[worker]
		for i := i0; i < i1; {
			rows, cols := 1, min(inner-col, i1-i)
			if col == 0 && last > 0 && i1-i >= 2*inner {
				rows, cols = min((i1-i)/inner, b.dims[last-1]-od.idx(last-1)), inner
			}
			for k, in := range ins {
				rs := 0
				if last > 0 {
					rs = b.strides[k][last-1]
				}
				cs := b.strides[k][last]
				args[k] = operand{v: in[od.off(k)+col*cs:], rs: rs, cs: cs}
			}
			b.seg(worker, out[i:i+rows*cols], cols, args)
			i += rows * cols
			col = 0
			od.advance(rows)
		}
	})
}

// BinaryKind names an elementwise function of two tensors.
type BinaryKind uint8

// Binary functions of a and b. Comparisons and logical ops give 1 for
// true and 0 for false; logical ops read any nonzero as true. Max and Min
// propagate NaN (Go's max and min; the interpreter's math.Max differs
// only in max(NaN, +Inf) = +Inf).
const (
	BinaryAdd            BinaryKind = iota // a + b
	BinarySub                              // a - b
	BinaryMul                              // a * b
	BinaryDiv                              // a / b
	BinaryPow                              // a^b, computed in float64
	BinaryMax                              // max(a, b)
	BinaryMin                              // min(a, b)
	BinaryPRelu                            // a < 0 ? a*b : a; b is the slope, its shape must broadcast to a's
	BinaryEqual                            // a == b
	BinaryLess                             // a < b
	BinaryLessOrEqual                      // a <= b
	BinaryGreater                          // a > b
	BinaryGreaterOrEqual                   // a >= b
	BinaryAnd                              // a && b
	BinaryOr                               // a || b
	BinaryXor                              // a != b as bools
	binaryKinds
)

var binaryNames = [binaryKinds]string{"add", "sub", "mul", "div", "pow", "max", "min", "prelu",
	"equal", "less", "less_or_equal", "greater", "greater_or_equal", "and", "or", "xor"}

func (k BinaryKind) String() string {
	if k < binaryKinds {
		return binaryNames[k]
	}
	return fmt.Sprintf("binary(%d)", k)
}

// binLoops are the loops of one binary function over a row: both inputs
// vectors, the second a broadcast value, the first a broadcast value.
type binLoops struct {
	vv func(o, a, b []float32)
	vs func(o, a []float32, b float32)
	sv func(o []float32, a float32, b []float32)
	f  func(a, b float32) float32
}

// zipVV, zipVS and zipSV inline, with their function: each loop of
// binaryLoops is compiled with the function in its body.
func zipVV(o, a, b []float32, f func(x, y float32) float32) {
	a, b = a[:len(o)], b[:len(o)]
	for i := range o {
		o[i] = f(a[i], b[i])
	}
}

func zipVS(o, a []float32, b float32, f func(x, y float32) float32) {
	a = a[:len(o)]
	for i := range o {
		o[i] = f(a[i], b)
	}
}

func zipSV(o []float32, a float32, b []float32, f func(x, y float32) float32) {
	b = b[:len(o)]
	for i := range o {
		o[i] = f(a, b[i])
	}
}

func add32(a, b float32) float32 { return a + b }
func sub32(a, b float32) float32 { return a - b }
func mul32(a, b float32) float32 { return a * b }
func div32(a, b float32) float32 { return a / b }
func pow32(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) }

// powVS is Pow of a tensor and one exponent. Squares (a LayerNorm's
// variance, as exporters spell it) are a*a: the float64 product of two
// float32 values is exact, so pow32's one rounding gives the same bits.
func powVS(o, a []float32, b float32) {
	if b != 2 {
		zipVS(o, a, b, pow32)
		return
	}
	a = a[:len(o)]
	for i, v := range a {
		o[i] = v * v
	}
}
func max32(a, b float32) float32 { return max(a, b) }
func min32(a, b float32) float32 { return min(a, b) }
func prelu32(a, b float32) float32 {
	if a < 0 {
		return a * b
	}
	return a
}
func eq32(a, b float32) float32  { return b2f(a == b) }
func lt32(a, b float32) float32  { return b2f(a < b) }
func le32(a, b float32) float32  { return b2f(a <= b) }
func gt32(a, b float32) float32  { return b2f(a > b) }
func ge32(a, b float32) float32  { return b2f(a >= b) }
func and32(a, b float32) float32 { return b2f(a != 0 && b != 0) }
func or32(a, b float32) float32  { return b2f(a != 0 || b != 0) }
func xor32(a, b float32) float32 { return b2f((a != 0) != (b != 0)) }

var binaryLoops = [binaryKinds]binLoops{
	BinaryAdd:            {func(o, a, b []float32) { zipVV(o, a, b, add32) }, func(o, a []float32, b float32) { zipVS(o, a, b, add32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, add32) }, add32},
	BinarySub:            {func(o, a, b []float32) { zipVV(o, a, b, sub32) }, func(o, a []float32, b float32) { zipVS(o, a, b, sub32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, sub32) }, sub32},
	BinaryMul:            {func(o, a, b []float32) { zipVV(o, a, b, mul32) }, func(o, a []float32, b float32) { zipVS(o, a, b, mul32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, mul32) }, mul32},
	BinaryDiv:            {func(o, a, b []float32) { zipVV(o, a, b, div32) }, func(o, a []float32, b float32) { zipVS(o, a, b, div32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, div32) }, div32},
	BinaryPow:            {func(o, a, b []float32) { zipVV(o, a, b, pow32) }, powVS, func(o []float32, a float32, b []float32) { zipSV(o, a, b, pow32) }, pow32},
	BinaryMax:            {func(o, a, b []float32) { zipVV(o, a, b, max32) }, func(o, a []float32, b float32) { zipVS(o, a, b, max32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, max32) }, max32},
	BinaryMin:            {func(o, a, b []float32) { zipVV(o, a, b, min32) }, func(o, a []float32, b float32) { zipVS(o, a, b, min32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, min32) }, min32},
	BinaryPRelu:          {func(o, a, b []float32) { zipVV(o, a, b, prelu32) }, func(o, a []float32, b float32) { zipVS(o, a, b, prelu32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, prelu32) }, prelu32},
	BinaryEqual:          {func(o, a, b []float32) { zipVV(o, a, b, eq32) }, func(o, a []float32, b float32) { zipVS(o, a, b, eq32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, eq32) }, eq32},
	BinaryLess:           {func(o, a, b []float32) { zipVV(o, a, b, lt32) }, func(o, a []float32, b float32) { zipVS(o, a, b, lt32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, lt32) }, lt32},
	BinaryLessOrEqual:    {func(o, a, b []float32) { zipVV(o, a, b, le32) }, func(o, a []float32, b float32) { zipVS(o, a, b, le32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, le32) }, le32},
	BinaryGreater:        {func(o, a, b []float32) { zipVV(o, a, b, gt32) }, func(o, a []float32, b float32) { zipVS(o, a, b, gt32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, gt32) }, gt32},
	BinaryGreaterOrEqual: {func(o, a, b []float32) { zipVV(o, a, b, ge32) }, func(o, a []float32, b float32) { zipVS(o, a, b, ge32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, ge32) }, ge32},
	BinaryAnd:            {func(o, a, b []float32) { zipVV(o, a, b, and32) }, func(o, a []float32, b float32) { zipVS(o, a, b, and32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, and32) }, and32},
	BinaryOr:             {func(o, a, b []float32) { zipVV(o, a, b, or32) }, func(o, a []float32, b float32) { zipVS(o, a, b, or32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, or32) }, or32},
	BinaryXor:            {func(o, a, b []float32) { zipVV(o, a, b, xor32) }, func(o, a []float32, b float32) { zipVS(o, a, b, xor32) }, func(o []float32, a float32, b []float32) { zipSV(o, a, b, xor32) }, xor32},
}

// block sets o = f(a, b) over a block of rows of cols floats, a row at a
// time in the loop that fits the operands.
func (l *binLoops) block(o []float32, cols int, a, b operand) {
	for r := 0; r*cols < len(o); r++ {
		row, av, bv := o[r*cols:(r+1)*cols], a.v[r*a.rs:], b.v[r*b.rs:]
		switch {
		case a.cs == 1 && b.cs == 1:
			l.vv(row, av, bv)
		case a.cs == 1:
			l.vs(row, av, bv[0])
		case b.cs == 1:
			l.sv(row, av[0], bv)
		default:
			v := l.f(av[0], bv[0])
			for i := range row {
				row[i] = v
			}
		}
	}
}

// Binary applies an elementwise function of two tensors with numpy
// broadcasting (ONNX Add, Sub, Mul, Div, Pow, Max, Min, PRelu, Equal,
// Less, LessOrEqual, Greater, GreaterOrEqual, And, Or, Xor; bools are 0/1
// floats).
//
//	NewBinary(kind BinaryKind, a, b []int) (*Binary, error)
//	(*Binary).Run(p *Pool, a, b, out []float32)
//
// a and b are the inputs' shapes; the output has their broadcast shape
// (for PRelu, a's shape: the slope b broadcasts to it). out may alias an
// input of the output's shape.
type Binary struct {
	kind BinaryKind
	bc   *bcast
	ins  [2][]float32 // the running call's inputs
	// args[worker] is the MulRows argument block of Mul's blocks of rows
	// against one value each (a call through the kernel variable must not
	// allocate)
	args []MulRows
}

// mulBlock is Mul's block function: rows that are each a row of one input
// times one value of the other (a squeeze-and-excitation block's channel
// scale) run on the row-times-constant kernel, the rest as the other
// kinds do.
func (b *Binary) mulBlock(worker int, o []float32, cols int, args []operand) {
	x, c := args[0], args[1]
	if x.cs == 0 && c.cs == 1 {
		x, c = c, x
	}
	if x.cs != 1 || c.cs != 0 {
		binaryLoops[BinaryMul].block(o, cols, args[0], args[1])
		return
	}
	rows := len(o) / cols
	a := &b.args[worker]
	*a = MulRows{O: o, X: x.v[:(rows-1)*x.rs+cols], C: c.v[:(rows-1)*c.rs+1], Rows: rows, Cols: cols, XRS: x.rs, CRS: c.rs, ORS: cols}
	mulRows(a)
}

// NewBinary plans kind over inputs of shapes a and b.
func NewBinary(kind BinaryKind, a, b []int) (*Binary, error) {
	if kind >= binaryKinds {
		return nil, fmt.Errorf("binary: unknown kind %d", kind)
	}
	bc, err := newBcast(a, b)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", kind, err)
	}
	if kind == BinaryPRelu && !slices.Equal(bc.out, a) {
		return nil, fmt.Errorf("prelu: slope of shape %v does not broadcast to the input's %v", b, a)
	}
	bc.op = kind.String()
	loops := &binaryLoops[kind]
	bc.seg = func(_ int, o []float32, cols int, args []operand) { loops.block(o, cols, args[0], args[1]) }
	bin := &Binary{kind: kind, bc: bc}
	if kind == BinaryMul {
		bc.seg = bin.mulBlock
	}
	return bin, nil
}

// Shape returns the output shape.
func (b *Binary) Shape() []int { return slices.Clone(b.bc.out) }

func (b *Binary) profileName() string {
	return fmt.Sprintf("%v %v, %v -> %v", b.kind, b.bc.in[0], b.bc.in[1], b.bc.out)
}
func (b *Binary) profileFLOPs() float64 { return float64(b.bc.n) }

// Run computes out = f(a, b).
func (b *Binary) Run(p *Pool, x, y, out []float32) {
	defer profileDone(b, profileStart())
	for len(b.args) < p.Threads() {
		b.args = append(b.args, MulRows{})
	}
	b.ins = [2][]float32{x, y}
	b.bc.run(p, b.ins[:], out)
	b.ins = [2][]float32{}
}

// VariadicKind names a function of any number of tensors.
type VariadicKind uint8

// Variadic functions (ONNX Sum, Mean, Max, Min).
const (
	VariadicSum VariadicKind = iota
	VariadicMean
	VariadicMax
	VariadicMin
)

func (k VariadicKind) String() string {
	switch k {
	case VariadicSum:
		return "sum"
	case VariadicMean:
		return "mean"
	case VariadicMax:
		return "max"
	case VariadicMin:
		return "min"
	}
	return fmt.Sprintf("variadic(%d)", k)
}

// Variadic folds a binary function over one or more tensors with numpy
// broadcasting, left to right as a chain of Binary ops would (float32
// rounding after each step); Mean divides the sum by the count.
//
//	NewVariadic(kind VariadicKind, shapes [][]int) (*Variadic, error)
//	(*Variadic).Run(p *Pool, ins [][]float32, out []float32)
//
// out must not overlap the inputs.
type Variadic struct {
	kind VariadicKind
	bc   *bcast
}

// NewVariadic plans kind over inputs of the given shapes.
func NewVariadic(kind VariadicKind, shapes [][]int) (*Variadic, error) {
	var loops *binLoops
	switch kind {
	case VariadicSum, VariadicMean:
		loops = &binaryLoops[BinaryAdd]
	case VariadicMax:
		loops = &binaryLoops[BinaryMax]
	case VariadicMin:
		loops = &binaryLoops[BinaryMin]
	default:
		return nil, fmt.Errorf("variadic: unknown kind %d", kind)
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("%v: no inputs", kind)
	}
	bc, err := newBcast(shapes...)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", kind, err)
	}
	count := float32(len(shapes))
	bc.op = kind.String()
	bc.seg = func(_ int, o []float32, cols int, args []operand) {
		for r, a := 0, args[0]; r*cols < len(o); r++ {
			row, v := o[r*cols:(r+1)*cols], a.v[r*a.rs:]
			if a.cs == 1 {
				copy(row, v)
				continue
			}
			for i := range row {
				row[i] = v[0]
			}
		}
		acc := operand{v: o, rs: cols, cs: 1}
		for _, a := range args[1:] {
			loops.block(o, cols, acc, a)
		}
		if kind == VariadicMean {
			for i := range o {
				o[i] /= count
			}
		}
	}
	return &Variadic{kind: kind, bc: bc}, nil
}

// Shape returns the output shape.
func (v *Variadic) Shape() []int { return slices.Clone(v.bc.out) }

func (v *Variadic) profileName() string {
	return fmt.Sprintf("%v of %d -> %v", v.kind, len(v.bc.in), v.bc.out)
}
func (v *Variadic) profileFLOPs() float64 { return float64(v.bc.n * len(v.bc.in)) }

// Run computes out = f(ins[0], ins[1], ...).
func (v *Variadic) Run(p *Pool, ins [][]float32, out []float32) {
	defer profileDone(v, profileStart())
	v.bc.run(p, ins, out)
}

// Where selects between two tensors by a condition, with numpy
// broadcasting of all three (ONNX Where): out = cond != 0 ? x : y, the
// condition being a bool stored as 0/1 floats.
//
//	NewWhere(cond, x, y []int) (*Where, error)
//	(*Where).Run(p *Pool, cond, x, y, out []float32)
//
// out may alias an input of the output's shape.
type Where struct {
	bc  *bcast
	ins [3][]float32 // the running call's inputs
}

// NewWhere plans a selection over inputs of the given shapes.
func NewWhere(cond, x, y []int) (*Where, error) {
	bc, err := newBcast(cond, x, y)
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	bc.op, bc.seg = "where", whereSegment
	return &Where{bc: bc}, nil
}

// Shape returns the output shape.
func (w *Where) Shape() []int { return slices.Clone(w.bc.out) }

func (w *Where) profileName() string {
	return fmt.Sprintf("where %v, %v, %v -> %v", w.bc.in[0], w.bc.in[1], w.bc.in[2], w.bc.out)
}
func (w *Where) profileFLOPs() float64 { return 0 }

// Run computes out = cond ? x : y.
func (w *Where) Run(p *Pool, cond, x, y, out []float32) {
	defer profileDone(w, profileStart())
	w.ins = [3][]float32{cond, x, y}
	w.bc.run(p, w.ins[:], out)
	w.ins = [3][]float32{}
}

// whereSegment is one block of Where: args are the condition, x and y.
func whereSegment(_ int, o []float32, cols int, args []operand) {
	c, a, b := args[0], args[1], args[2]
	for r := 0; r*cols < len(o); r++ {
		row := o[r*cols : (r+1)*cols]
		ic, ia, ib := r*c.rs, r*a.rs, r*b.rs
		for j := range row {
			if c.v[ic] != 0 {
				row[j] = a.v[ia]
			} else {
				row[j] = b.v[ib]
			}
			ic += c.cs
			ia += a.cs
			ib += b.cs
		}
	}
}

// MulRows is the argument block of the row-times-constant kernel (a
// channel scale, Mul of [N,C,H,W] and [N,C,1,1]): for r < Rows, j < Cols,
//
//	O[r*ORS + j] = X[r*XRS + j] * C[r*CRS]
//
// Rows and Cols are positive; O may alias X when XRS is ORS. The field
// layout is part of the assembly contract (offsets in bytes on 64-bit
// targets: O 0, X 24, C 48, Rows 72, Cols 80, XRS 88, CRS 96, ORS 104).
type MulRows struct {
	O, X, C                   []float32
	Rows, Cols, XRS, CRS, ORS int
}

// mulRows is the row-times-constant kernel in use: the pure-Go one
// unless an architecture file selected an assembly kernel at init.
var mulRows = mulRowsGo

// mulRowsGo implements MulRows in Go.
func mulRowsGo(a *MulRows) {
	for r := range a.Rows {
		o, x, c := a.O[r*a.ORS:r*a.ORS+a.Cols], a.X[r*a.XRS:r*a.XRS+a.Cols], a.C[r*a.CRS]
		for j, v := range x {
			o[j] = v * c
		}
	}
}
