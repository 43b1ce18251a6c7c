package runtime

import (
	"fmt"
	"math"
)

// ActKind names a fused activation.
type ActKind uint8

// Activations a kernel epilogue can apply.
const (
	ActNone ActKind = iota // identity
	ActRelu                // max(x, 0)
	ActClip                // min(max(x, Min), Max), e.g. ReLU6
)

// Act is a fused activation; the zero value is none. Kernels apply every
// activation as a clamp to [Lo, Hi] (see Bounds), so the epilogue of an
// assembly kernel is always one max and one min.
type Act struct {
	Kind     ActKind
	Min, Max float32 // ActClip only
}

// Relu is the ReLU activation.
var Relu = Act{Kind: ActRelu}

// Clip returns the clip activation (ReLU6 is Clip(0, 6)).
func Clip(lo, hi float32) Act { return Act{Kind: ActClip, Min: lo, Max: hi} }

// Bounds returns the clamp interval that implements a.
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

func (a Act) validate() error {
	switch a.Kind {
	case ActNone, ActRelu:
		return nil
	case ActClip:
		if !(a.Min <= a.Max) {
			return fmt.Errorf("clip bounds [%g, %g] are empty or NaN", a.Min, a.Max)
		}
		return nil
	}
	return fmt.Errorf("unknown activation kind %d", a.Kind)
}

func (a Act) String() string {
	switch a.Kind {
	case ActNone:
		return "none"
	case ActRelu:
		return "relu"
	case ActClip:
		return fmt.Sprintf("clip(%g,%g)", a.Min, a.Max)
	}
	return fmt.Sprintf("act(%d)", a.Kind)
}

// clamp applies [lo, hi] the way the kernels do. The min and max builtins
// compile without branches, which matters: a ReLU over data of random sign
// mispredicts half of its branches.
func clamp(v, lo, hi float32) float32 {
	return min(max(v, lo), hi)
}
