// Package passes rewrites the IR: constant folding, recognition of the
// temporal shift, and the folds and fusions that leave a graph of few, fat
// operations for code generation. The pipeline is one list of named passes;
// the IR verifier runs after each.
package passes

import (
	"fmt"

	"github.com/tsmc-go/tsmc/ir"
)

// Domain is the operator domain of tsmc's own operators.
const Domain = "tsmc"

// tsmc's own operators, produced by the passes. Their semantics are defined
// by the reference kernels registered with the interpreter (kernels.go).
const (
	// OpTemporalShift: inputs (X [N*T, C, ...], optional S_prev); output Y of
	// X's shape. Attributes: "segments" T and "shift", a flat list of
	// triples (c_begin, c_end, offset): channels [c_begin, c_end) of frame t
	// are read from frame t+offset of the same clip, or are zero where
	// t+offset falls outside [0, T). Channels in no range read frame t.
	// With the state input S_prev (online models, T frames per call, every
	// offset -1), frame -1 is S_prev instead of zeros: S_prev has the
	// shifted ranges' channels concatenated in range order.
	OpTemporalShift = "TemporalShift"
	// OpConv is a convolution with a fused epilogue: inputs (X, W, B,
	// optional residual R, optional shift state S_prev). It computes
	// act(conv(shift(X), W) + B + R). Attributes: those of ONNX Conv
	// (strides, pads, dilations, group, kernel_shape; pads explicit, no
	// auto_pad), "activation" ("" none, "relu", "clip" with "clip_min" and
	// "clip_max"), and when a shift is fused, "segments" and "shift" as for
	// TemporalShift.
	OpConv = "Conv"
	// OpDense is the classifier head: global average pooling followed by a
	// fully connected layer. Inputs (X [N, C, spatial...], W [K, C], B [K]);
	// output Y [N, K] with Y[n,k] = B[k] + sum_c W[k,c] * mean(X[n,c,...]),
	// the mean taken over every spatial position (X of rank 2 is used as
	// is). W is stored output-major, one row of C weights per class.
	OpDense = "Dense"
	// OpSegmentMean is the TSN consensus: input X [N*T, rest...], attribute
	// "segments" T; output Y [N, rest...] with Y[n,...] = (1/T) * sum over
	// t in [0, T) of X[n*T+t, ...], the average of each clip's T frames.
	OpSegmentMean = "SegmentMean"
)

// Activation names of a fused Conv's "activation" attribute.
const (
	ActNone = ""
	ActRelu = "relu" // max(x, 0)
	ActClip = "clip" // min(max(x, clip_min), clip_max)
)

// ShiftRange is one triple of a TemporalShift's "shift" attribute.
type ShiftRange struct {
	Begin, End int // channel range [Begin, End)
	Offset     int // frame t reads frame t+Offset
}

// Shift is the decoded temporal shift of a TemporalShift or fused Conv.
type Shift struct {
	Segments int
	Ranges   []ShiftRange
}

// Attrs encodes s as node attributes.
func (s Shift) Attrs(n *ir.Node) {
	flat := make([]int64, 0, 3*len(s.Ranges))
	for _, r := range s.Ranges {
		flat = append(flat, int64(r.Begin), int64(r.End), int64(r.Offset))
	}
	n.SetAttr("segments", ir.Attr{Kind: ir.AttrInt, Int: int64(s.Segments)})
	n.SetAttr("shift", ir.Attr{Kind: ir.AttrInts, Ints: flat})
}

// ShiftOf decodes the shift attributes of n; ok is false when n has none.
func ShiftOf(n *ir.Node) (s Shift, ok bool, err error) {
	flat, has := n.AttrInts("shift")
	if !has {
		return Shift{}, false, nil
	}
	if len(flat)%3 != 0 {
		return Shift{}, true, n.Errorf("attribute shift has %d values, want triples", len(flat))
	}
	s.Segments = int(n.AttrInt("segments", 0))
	if s.Segments <= 0 {
		return Shift{}, true, n.Errorf("attribute segments must be positive, got %d", s.Segments)
	}
	prevEnd := 0
	for i := 0; i < len(flat); i += 3 {
		r := ShiftRange{int(flat[i]), int(flat[i+1]), int(flat[i+2])}
		if r.Begin < prevEnd || r.End <= r.Begin {
			return Shift{}, true, n.Errorf("shift range [%d,%d) is empty or overlaps the previous one", r.Begin, r.End)
		}
		prevEnd = r.End
		s.Ranges = append(s.Ranges, r)
	}
	return s, true, nil
}

// Source returns the frame offset of channel c (0 when it is not shifted).
func (s Shift) Source(c int) int {
	for _, r := range s.Ranges {
		if c >= r.Begin && c < r.End {
			return r.Offset
		}
	}
	return 0
}

// StateChannels is the channel count of the state S_prev of a stateful shift.
func (s Shift) StateChannels() int {
	n := 0
	for _, r := range s.Ranges {
		n += r.End - r.Begin
	}
	return n
}

func (s Shift) String() string {
	str := fmt.Sprintf("T=%d", s.Segments)
	for _, r := range s.Ranges {
		str += fmt.Sprintf(" [%d,%d)%+d", r.Begin, r.End, r.Offset)
	}
	return str
}
