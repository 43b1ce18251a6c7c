package passes

import (
	"fmt"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// This file gives tsmc.TemporalShift its meaning: the reference kernel and
// the shape rule.

func init() {
	interp.Register(Domain, OpTemporalShift, temporalShiftKernel)
	ir.RegisterInfer(Domain, OpTemporalShift, inferTemporalShift)
}

// checkShiftOperands checks a shift against the shapes of its input x
// ([N*T, C, ...]) and optional state (nil, or [N, StateChannels, ...]).
func checkShiftOperands(s Shift, x, state ir.Shape) error {
	if len(x) < 2 {
		return fmt.Errorf("input has shape %v, want [N*T, C, ...]", x)
	}
	if x[0]%s.Segments != 0 {
		return fmt.Errorf("batch %d is not a multiple of %d segments", x[0], s.Segments)
	}
	if n := len(s.Ranges); n > 0 && s.Ranges[n-1].End > x[1] {
		return fmt.Errorf("shift range [%d,%d) exceeds the %d channels", s.Ranges[n-1].Begin, s.Ranges[n-1].End, x[1])
	}
	if state == nil {
		return nil
	}
	for _, r := range s.Ranges {
		if r.Offset != -1 {
			return fmt.Errorf("a shift with state must read the previous frame, range [%d,%d) has offset %+d", r.Begin, r.End, r.Offset)
		}
	}
	if want := append(ir.Shape{x[0] / s.Segments, s.StateChannels()}, x[2:]...); !state.Equal(want) {
		return fmt.Errorf("state has shape %v, want %v", state, want)
	}
	return nil
}

// inferTemporalShift gives the output X's type after checking the operands.
func inferTemporalShift(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) < 1 || len(n.Inputs) > 2 || n.Input(0) == nil || len(n.Outputs) != 1 {
		return n.Errorf("needs inputs (X, optional S_prev) and one output")
	}
	s, ok, err := ShiftOf(n)
	if err != nil {
		return err
	}
	if !ok {
		return n.Errorf("has no shift attribute")
	}
	x := n.Inputs[0]
	var state ir.Shape
	if sv := n.Input(1); sv != nil {
		if sv.DType != x.DType {
			return n.Errorf("state %v is %v, input %v is %v", sv, sv.DType, x, x.DType)
		}
		state = sv.Shape
	}
	if err := checkShiftOperands(s, x.Shape, state); err != nil {
		return n.Errorf("%v", err)
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, x.Shape.Clone()
	return nil
}

// temporalShiftKernel computes Y[n*T+t, c] = X[n*T+t+d(c), c] when
// 0 <= t+d(c) < T, else S_prev[n, state channel of c] when there is a
// state, else zeros.
func temporalShiftKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 1 || in[0] == nil {
		return nil, fmt.Errorf("needs input X")
	}
	s, ok, err := ShiftOf(n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("has no shift attribute")
	}
	x := in[0]
	var state *ir.Tensor
	var stateShape ir.Shape
	if len(in) > 1 && in[1] != nil {
		state, stateShape = in[1], in[1].Shape
	}
	if x.DType != ir.Float32 || state != nil && state.DType != ir.Float32 {
		return nil, fmt.Errorf("needs float32 tensors")
	}
	if err := checkShiftOperands(s, x.Shape, stateShape); err != nil {
		return nil, err
	}
	frames, channels := x.Shape[0], x.Shape[1]
	inner := x.Shape[2:].Size()
	offset := make([]int, channels)
	stateChannel := make([]int, channels)
	next := 0
	for _, r := range s.Ranges {
		for c := r.Begin; c < r.End; c++ {
			offset[c], stateChannel[c] = r.Offset, next
			next++
		}
	}
	y, err := ir.NewTensor(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	for f := 0; f < frames; f++ {
		t := f % s.Segments
		for c := 0; c < channels; c++ {
			dst := y.F32[(f*channels+c)*inner:][:inner]
			switch src := t + offset[c]; {
			case src >= 0 && src < s.Segments:
				copy(dst, x.F32[((f+offset[c])*channels+c)*inner:][:inner])
			case state != nil:
				clip := f / s.Segments
				copy(dst, state.F32[(clip*next+stateChannel[c])*inner:][:inner])
			}
		}
	}
	return []*ir.Tensor{y}, nil
}
