package runtime

import (
	"fmt"
	"math"
)

// ActKind names a fused activation.
type ActKind uint8

// Activations a kernel epilogue can apply. The first three are clamps,
// which the micro-kernels apply themselves; the others are elementwise
// functions the drivers apply to each output tile (or row, or band) right
// after the kernel has stored it, while it is in the cache (see ActRows).
const (
	ActNone        ActKind = iota // identity
	ActRelu                       // max(x, 0)
	ActClip                       // min(max(x, Min), Max), e.g. ReLU6
	ActSigmoid                    // 1/(1+e^-x)
	ActSiLU                       // x * sigmoid(x) (Swish)
	ActHardSigmoid                // max(0, min(1, Alpha*x + Beta))
	ActHardSwish                  // x * hardsigmoid(x; Alpha, Beta)
	// actExpShift is e^(x + Beta) for x + Beta <= 0: not an activation,
	// the kernel of Softmax (Beta minus the row's maximum)
	actExpShift
	actKinds
)

// Act is a fused activation; the zero value is none.
type Act struct {
	Kind        ActKind
	Min, Max    float32 // ActClip only
	Alpha, Beta float32 // ActHardSigmoid and ActHardSwish only
}

// Relu is the ReLU activation.
var Relu = Act{Kind: ActRelu}

// Clip returns the clip activation (ReLU6 is Clip(0, 6)).
func Clip(lo, hi float32) Act { return Act{Kind: ActClip, Min: lo, Max: hi} }

// Sigmoid is the logistic sigmoid activation, SiLU x times it.
var (
	Sigmoid = Act{Kind: ActSigmoid}
	SiLU    = Act{Kind: ActSiLU}
)

// HardSigmoid returns the activation max(0, min(1, alpha*x + beta)), ONNX
// HardSigmoid.
func HardSigmoid(alpha, beta float32) Act {
	return Act{Kind: ActHardSigmoid, Alpha: alpha, Beta: beta}
}

// HardSwish returns the activation x * HardSigmoid(x; alpha, beta);
// HardSwish proper is alpha 1/6, beta 1/2.
func HardSwish(alpha, beta float32) Act {
	return Act{Kind: ActHardSwish, Alpha: alpha, Beta: beta}
}

// Bounds returns the clamp interval the micro-kernels apply for a: the
// clamp kinds' interval, everything for the others (whose function the
// drivers apply afterwards).
func (a Act) Bounds() (lo, hi float32) {
	inf := float32(math.Inf(1))
	switch a.Kind {
	case ActRelu:
		return 0, inf
	case ActClip:
		return a.Min, a.Max
	}
	return -inf, inf
}

// isClamp reports whether a is none or a clamp.
func (a Act) isClamp() bool { return a.Kind <= ActClip }

func (a Act) validate() error {
	switch a.Kind {
	case ActNone, ActRelu, ActSigmoid, ActSiLU:
		return nil
	case ActClip:
		if !(a.Min <= a.Max) {
			return fmt.Errorf("clip bounds [%g, %g] are empty or NaN", a.Min, a.Max)
		}
		return nil
	case ActHardSigmoid, ActHardSwish:
		if !isFinite(a.Alpha) || !isFinite(a.Beta) {
			return fmt.Errorf("%v: alpha and beta must be finite", a)
		}
		return nil
	}
	return fmt.Errorf("unknown activation kind %d", a.Kind)
}

// validateClamp is validate for the operations whose epilogue is the
// micro-kernels' clamp alone.
func (a Act) validateClamp() error {
	if err := a.validate(); err != nil {
		return err
	}
	if !a.isClamp() {
		return fmt.Errorf("activation %v is not supported here (only none, relu and clip)", a)
	}
	return nil
}

func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

func (a Act) String() string {
	switch a.Kind {
	case ActNone:
		return "none"
	case ActRelu:
		return "relu"
	case ActClip:
		return fmt.Sprintf("clip(%g,%g)", a.Min, a.Max)
	case ActSigmoid:
		return "sigmoid"
	case ActSiLU:
		return "silu"
	case ActHardSigmoid:
		return fmt.Sprintf("hardsigmoid(%g,%g)", a.Alpha, a.Beta)
	case ActHardSwish:
		return fmt.Sprintf("hardswish(%g,%g)", a.Alpha, a.Beta)
	}
	return fmt.Sprintf("act(%d)", a.Kind)
}

// clamp applies [lo, hi] the way the kernels do. The min and max builtins
// compile without branches, which matters: a ReLU over data of random sign
// mispredicts half of its branches.
func clamp(v, lo, hi float32) float32 {
	return min(max(v, lo), hi)
}

// ActRows is the argument block of an activation kernel, which applies
// one of the elementwise activations in place to a block of rows:
//
//	X[r*LD + j] = f(X[r*LD + j])   for r < Rows, j < Cols
//
// with Alpha and Beta the parameters of the hard kinds. X holds at least
// (Rows-1)*LD + Cols floats; Rows and Cols are positive. Sigmoid is
// computed in float32 as 1/(1+e^-|x|), mirrored for x < 0 as
// e^-|x|/(1+e^-|x|) (no overflow, no cancellation), with e^y for y <= 0
// zero below actExpMin (where it is not a normal float32) and otherwise
// reduced to 2^n·e^r (n = round(y·log2 e),
// r = y - n·ln 2 in two parts) and e^r the Taylor polynomial of degree 7
// by Horner's rule; SiLU multiplies x by it. The relative error is a few
// float32 ulps; NaN stays NaN. HardSigmoid is min(max(Alpha*x+Beta, 0), 1)
// with Alpha*x+Beta rounded once, HardSwish x times it. The field layout is part of the assembly
// contract (offsets in bytes on 64-bit targets: X 0, Rows 24, Cols 32,
// LD 40, Alpha 48, Beta 52, Sum 56).
type ActRows struct {
	X              []float32
	Rows, Cols, LD int
	Alpha, Beta    float32
	// Sum is set by the exp kind (softmax's) to the sum of its results,
	// in the kernel's order; the other kinds leave it.
	Sum float32
}

// Constants of the activation kernels' e^y (ActRows).
const (
	actExpMin = -87.33654         // ln of the least normal float32, 2^-126
	actLog2E  = 1.442695040888963 // log2 e
	actLn2Hi  = 0.693359375       // ln 2 in two parts: few bits, then the rest
	actLn2Lo  = -2.12194440e-4
	actRound  = 12582912 // 1.5·2^23: x + actRound - actRound rounds x to an integer
)

// actExpTaylor are the Taylor coefficients 1/k! of e^r, highest first.
var actExpTaylor = [8]float32{1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1, 1}

// expNeg32 is e^y for y <= 0 as the activation kernels compute it.
func expNeg32(y float32) float32 {
	if y < actExpMin {
		return 0
	}
	n := y*actLog2E + actRound
	n -= actRound
	r := y - n*actLn2Hi
	r -= n * actLn2Lo
	p := actExpTaylor[0]
	for _, c := range actExpTaylor[1:] {
		p = p*r + c
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// sigmoid32 is the activation kernels' sigmoid.
func sigmoid32(x float32) float32 {
	z := expNeg32(-abs32(x))
	s := 1 / (1 + z)
	if x < 0 {
		s *= z
	}
	return s
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// The pure-Go activation kernels (ActRows).

func actSigmoidGo(a *ActRows) {
	for r := range a.Rows {
		row := a.X[r*a.LD : r*a.LD+a.Cols]
		for j, v := range row {
			row[j] = sigmoid32(v)
		}
	}
}

func actSiLUGo(a *ActRows) {
	for r := range a.Rows {
		row := a.X[r*a.LD : r*a.LD+a.Cols]
		for j, v := range row {
			row[j] = v * sigmoid32(v)
		}
	}
}

// hardSigmoid32 is the activation kernels' HardSigmoid: Alpha*x + Beta
// rounded once (a fused multiply-add in the assembly kernels; the
// float32 product is exact in float64 here), then clamped.
func hardSigmoid32(alpha, beta, x float32) float32 {
	return min(max(float32(float64(alpha)*float64(x)+float64(beta)), 0), 1)
}

func actHardSigmoidGo(a *ActRows) {
	alpha, beta := a.Alpha, a.Beta
	for r := range a.Rows {
		row := a.X[r*a.LD : r*a.LD+a.Cols]
		for j, v := range row {
			row[j] = hardSigmoid32(alpha, beta, v)
		}
	}
}

func actHardSwishGo(a *ActRows) {
	alpha, beta := a.Alpha, a.Beta
	for r := range a.Rows {
		row := a.X[r*a.LD : r*a.LD+a.Cols]
		for j, v := range row {
			row[j] = v * hardSigmoid32(alpha, beta, v)
		}
	}
}

func actExpShiftGo(a *ActRows) {
	beta := a.Beta
	var sum float32
	for r := range a.Rows {
		row := a.X[r*a.LD : r*a.LD+a.Cols]
		for j, v := range row {
			row[j] = expNeg32(v + beta)
		}
		sum += sumFloats(row)
	}
	a.Sum = sum
}

// actGoKernels are the pure-Go activation kernels by kind (nil for the
// clamps).
var actGoKernels = [actKinds]func(*ActRows){
	ActSigmoid: actSigmoidGo, ActSiLU: actSiLUGo, ActHardSigmoid: actHardSigmoidGo, ActHardSwish: actHardSwishGo,
	actExpShift: actExpShiftGo,
}

// actKernels are the activation kernels in use by kind: the assembly ones
// an architecture file selected at init, else the pure-Go ones.
var actKernels = actGoKernels

// actTail is the elementwise part of an Act as a driver applies it: the
// kernel (nil for none or a clamp) and its parameters.
type actTail struct {
	kern        func(*ActRows)
	alpha, beta float32
}

// tail returns the elementwise part of a, with the kernel in use now.
func (a Act) tail() actTail {
	if a.Kind >= actKinds {
		return actTail{}
	}
	return actTail{kern: actKernels[a.Kind], alpha: a.Alpha, beta: a.Beta}
}

// apply runs the tail on rows x cols floats LD apart from x[0], through
// the argument block in w (a call through the kernel variable must not
// allocate).
func (t actTail) apply(w *workerState, x []float32, rows, cols, ld int) {
	if t.kern == nil || rows <= 0 || cols <= 0 {
		return
	}
	w.act = ActRows{X: x[:(rows-1)*ld+cols], Rows: rows, Cols: cols, LD: ld, Alpha: t.alpha, Beta: t.beta}
	t.kern(&w.act)
}

// applySegs runs the tail on the m rows of each column segment of a tile
// written to out at segs[i].c + off + row*ldc (see runTile).
func (t actTail) applySegs(w *workerState, out []float32, off, ldc, m int, segs []colSeg) {
	if t.kern == nil {
		return
	}
	for _, s := range segs {
		t.apply(w, out[s.c+off:], m, s.n, ldc)
	}
}
