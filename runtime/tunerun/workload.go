package tunerun

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tsmc-go/tsmc/runtime"
)

// Workload is the signature of a planned layer: what a plan is tuned for
// and looked up by. Two layers of one signature run the same way, so
// they share tuning records, across models too.
type Workload struct {
	// Op is the layer kind: OpConv, OpDepthwise, OpBlock or OpDense.
	Op string `json:"op"`
	// Shape is the convolution (OpConv, OpDepthwise) or the block's
	// depthwise stage (OpBlock), normalised (no zero strides, dilations
	// or group).
	Shape *runtime.ConvShape `json:"shape,omitempty"`
	// Expand and Project are a block's other stages (Expand nil when it
	// has none).
	Expand  *runtime.ConvShape `json:"expand,omitempty"`
	Project *runtime.ConvShape `json:"project,omitempty"`
	// Dense is a dense layer's batch, inputs and outputs.
	Dense *DenseShape `json:"dense,omitempty"`
	// Act is the fused activation (runtime.Act's String); a block lists
	// its stages', separated by semicolons.
	Act string `json:"act"`
	// Residual: the epilogue adds a residual.
	Residual bool `json:"residual,omitempty"`
	// Shift is the temporal shift the layer reads its input through (nil
	// for none); State says that frame -1 reads a state buffer (online).
	Shift *runtime.TemporalShift `json:"shift,omitempty"`
	State bool                   `json:"state,omitempty"`
	// Pool is the max pool fused into a convolution's output (OpConv;
	// nil for none): a stem pooled band by band runs unlike a bare one.
	Pool *runtime.PoolShape `json:"pool,omitempty"`
}

// DenseShape is the size of a dense layer.
type DenseShape struct {
	Batch int `json:"batch"`
	In    int `json:"in"`
	Out   int `json:"out"`
}

// Layer kinds of a Workload.
const (
	OpConv      = "conv"
	OpDepthwise = "depthwise"
	OpBlock     = "block"
	OpDense     = "dense"
)

// Key is the workload's canonical JSON: equal keys, equal signatures.
func (w Workload) Key() string {
	b, err := json.Marshal(w.normalized())
	if err != nil {
		panic(fmt.Sprintf("tunerun: workload %v: %v", w, err))
	}
	return string(b)
}

func (w Workload) normalized() Workload {
	norm := func(s *runtime.ConvShape) *runtime.ConvShape {
		if s == nil {
			return nil
		}
		n := s.Normalized()
		return &n
	}
	w.Shape, w.Expand, w.Project = norm(w.Shape), norm(w.Expand), norm(w.Project)
	return w
}

// String describes the workload in one line.
func (w Workload) String() string {
	var b strings.Builder
	switch w.Op {
	case OpConv, OpDepthwise:
		if w.Shape != nil {
			if w.Op == OpDepthwise {
				b.WriteString("depthwise ")
			}
			b.WriteString(w.Shape.String())
		}
	case OpBlock:
		b.WriteString("block")
		if w.Expand != nil {
			fmt.Fprintf(&b, " expand %dx[%d,%d,%d] -> %d", w.Expand.Frames, w.Expand.Cin, w.Expand.H, w.Expand.W, w.Expand.Cout)
		}
		if w.Shape != nil {
			fmt.Fprintf(&b, " dw s%d [%d,%d,%d]", w.Shape.Normalized().StrideH, w.Shape.Cin, w.Shape.H, w.Shape.W)
		}
		if w.Project != nil {
			fmt.Fprintf(&b, " -> %d", w.Project.Cout)
		}
	case OpDense:
		if w.Dense != nil {
			fmt.Fprintf(&b, "dense %dx%d -> %d", w.Dense.Batch, w.Dense.In, w.Dense.Out)
		}
	default:
		b.WriteString(w.Op)
	}
	if w.Act != "" && w.Act != "none" {
		b.WriteString(", " + w.Act)
	}
	if w.Residual {
		b.WriteString(", residual")
	}
	if w.Pool != nil {
		b.WriteString(", max pool fused")
	}
	if w.Shift != nil {
		b.WriteString(", shifted")
		if w.State {
			b.WriteString(" (state)")
		}
	}
	return b.String()
}

// Validate reports a workload that does not describe a layer the runtime
// plans.
func (w Workload) Validate() error {
	switch w.Op {
	case OpConv, OpDepthwise:
		if w.Shape == nil {
			return fmt.Errorf("%s workload without a shape", w.Op)
		}
		if err := w.Shape.Validate(); err != nil {
			return err
		}
	case OpBlock:
		if w.Shape == nil || (w.Project == nil && w.Expand == nil) {
			return fmt.Errorf("block workload without its depthwise stage, or with neither an expansion nor a projection")
		}
		if w.Residual && w.Project == nil {
			return fmt.Errorf("block workload with a residual but no projection")
		}
		if err := runtime.CheckInvertedResidual(w.Expand, *w.Shape, w.Project); err != nil {
			return err
		}
	case OpDense:
		if w.Dense == nil || w.Dense.Batch <= 0 || w.Dense.In <= 0 || w.Dense.Out <= 0 {
			return fmt.Errorf("dense workload without positive sizes")
		}
	default:
		return fmt.Errorf("unknown layer kind %q", w.Op)
	}
	if w.State && w.Shift == nil {
		return fmt.Errorf("%s workload with a state but no shift", w.Op)
	}
	if w.Pool != nil && (w.Op != OpConv || w.Residual) {
		return fmt.Errorf("%s workload with a fused max pool: only a convolution without a residual takes one", w.Op)
	}
	return nil
}

// Plans lists the candidate plans of the workload on this CPU (the zero
// plan first).
func (w Workload) Plans() []runtime.Plan {
	switch w.Op {
	case OpConv:
		return runtime.ConvPlans(*w.Shape, runtime.PackMR)
	case OpDepthwise:
		return runtime.DepthwisePlans(*w.Shape)
	case OpBlock:
		return runtime.BlockPlans(w.Shape.OutH())
	case OpDense:
		return runtime.DensePlans(w.Dense.Out, runtime.PackNR)
	}
	return nil
}

// FLOPs returns 2 x the multiply-adds of one run of the layer.
func (w Workload) FLOPs() float64 {
	switch w.Op {
	case OpConv, OpDepthwise:
		return w.Shape.FLOPs()
	case OpBlock:
		f := w.Shape.FLOPs()
		if w.Project != nil {
			f += w.Project.FLOPs()
		}
		if w.Expand != nil {
			f += w.Expand.FLOPs()
		}
		return f
	case OpDense:
		return 2 * float64(w.Dense.Batch*w.Dense.In*w.Dense.Out)
	}
	return 0
}

// acts parses the workload's activations (one per stage for a block).
func (w Workload) acts() ([]runtime.Act, error) {
	var acts []runtime.Act
	for _, s := range strings.Split(w.Act, ";") {
		a, err := ParseAct(s)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a)
	}
	return acts, nil
}

// ParseAct reads an activation as runtime.Act's String writes it ("" is
// none).
func ParseAct(s string) (runtime.Act, error) {
	switch s = strings.TrimSpace(s); s {
	case "", "none":
		return runtime.Act{}, nil
	case "relu":
		return runtime.Relu, nil
	case "sigmoid":
		return runtime.Sigmoid, nil
	case "silu":
		return runtime.SiLU, nil
	}
	var a, b float32
	for _, f := range []struct {
		format string
		act    func(a, b float32) runtime.Act
	}{
		{"clip(%g,%g)", runtime.Clip},
		{"hardsigmoid(%g,%g)", runtime.HardSigmoid},
		{"hardswish(%g,%g)", runtime.HardSwish},
	} {
		if _, err := fmt.Sscanf(s, f.format, &a, &b); err == nil {
			return f.act(a, b), nil
		}
	}
	return runtime.Act{}, fmt.Errorf("activation %q: want none, relu, sigmoid, silu, clip(LO,HI), hardsigmoid(A,B) or hardswish(A,B)", s)
}
