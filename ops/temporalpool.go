package ops

import (
	"fmt"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// OpTemporalPool is max pooling over time, as the official TSM code's
// temporal_pool option does after its first stage: input X [N*T, rest...]
// with attributes "segments" T and "kernel", "stride", "pad_begin",
// "pad_end" (frames); output Y [N*T', rest...] with T' =
// floor((T+pad_begin+pad_end-kernel)/stride)+1 and Y[n*T'+u] the
// elementwise maximum of X[n*T+t] over the frames t in [u*stride-pad_begin,
// u*stride-pad_begin+kernel) ∩ [0, T).
const OpTemporalPool = "TemporalPool"

// TemporalPool is a decoded tsmc.TemporalPool.
type TemporalPool struct {
	Segments, Kernel, Stride, PadBegin, PadEnd int
}

// Out is the number of frames per clip it gives.
func (p TemporalPool) Out() int {
	return (p.Segments+p.PadBegin+p.PadEnd-p.Kernel)/p.Stride + 1
}

// Attrs encodes p as node attributes.
func (p TemporalPool) Attrs(n *ir.Node) {
	for name, v := range map[string]int{"segments": p.Segments, "kernel": p.Kernel, "stride": p.Stride, "pad_begin": p.PadBegin, "pad_end": p.PadEnd} {
		n.SetAttr(name, ir.Attr{Kind: ir.AttrInt, Int: int64(v)})
	}
}

// TemporalPoolOf decodes and checks the attributes of a tsmc.TemporalPool.
func TemporalPoolOf(n *ir.Node) (TemporalPool, error) {
	p := TemporalPool{
		Segments: int(n.AttrInt("segments", 0)), Kernel: int(n.AttrInt("kernel", 0)), Stride: int(n.AttrInt("stride", 0)),
		PadBegin: int(n.AttrInt("pad_begin", 0)), PadEnd: int(n.AttrInt("pad_end", 0)),
	}
	if p.Segments <= 0 || p.Kernel <= 0 || p.Stride <= 0 || p.PadBegin < 0 || p.PadEnd < 0 ||
		p.PadBegin >= p.Kernel || p.PadEnd >= p.Kernel || p.Segments+p.PadBegin+p.PadEnd < p.Kernel {
		return p, n.Errorf("temporal pool of segments %d, kernel %d, stride %d, pads %d,%d: want positive sizes and pads smaller than the kernel", p.Segments, p.Kernel, p.Stride, p.PadBegin, p.PadEnd)
	}
	return p, nil
}

func temporalPoolDefs() []*Def {
	return []*Def{{Domain: Domain, Op: OpTemporalPool, Infer: inferTemporalPool, Lower: lowerTemporalPool}}
}

// inferTemporalPool: [N*T, rest...] -> [N*T', rest...].
func inferTemporalPool(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	p, err := TemporalPoolOf(n)
	if err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 1 || x.Shape[0]%p.Segments != 0 {
		return n.Errorf("input %v does not hold clips of %d frames", x.Shape, p.Segments)
	}
	out := x.Shape.Clone()
	out[0] = x.Shape[0] / p.Segments * p.Out()
	setOutput(n, 0, x.DType, out)
	return nil
}

// lowerTemporalPool runs runtime.TemporalMaxPool.
func lowerTemporalPool(l Lowering, n *ir.Node) error {
	p, err := TemporalPoolOf(n)
	if err != nil {
		return err
	}
	x := n.Input(0).Shape
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	tp := runtime.TemporalPoolShape{Clips: x[0] / p.Segments, Frames: p.Segments, FrameSize: x[1:].Size(),
		Kernel: p.Kernel, Stride: p.Stride, PadBegin: p.PadBegin, PadEnd: p.PadEnd}
	if err := tp.Validate(); err != nil {
		return n.Errorf("%v", err)
	}
	l.Run(Fn("TemporalMaxPool", Pool, tp, ins[0], out))
	return nil
}

// temporalPoolKernel is the reference: the maximum over each window's
// frames, in frame order.
func temporalPoolKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 1 || in[0] == nil || in[0].DType != ir.Float32 {
		return nil, fmt.Errorf("needs one float32 input")
	}
	p, err := TemporalPoolOf(n)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) < 1 || x.Shape[0]%p.Segments != 0 {
		return nil, fmt.Errorf("input %v does not hold clips of %d frames", x.Shape, p.Segments)
	}
	clips, size, tOut := x.Shape[0]/p.Segments, x.Shape[1:].Size(), p.Out()
	shape := x.Shape.Clone()
	shape[0] = clips * tOut
	y, err := ir.NewTensor(ir.Float32, shape)
	if err != nil {
		return nil, err
	}
	for c := range clips {
		for u := range tOut {
			dst := y.F32[(c*tOut+u)*size:][:size]
			first := true
			for t := u*p.Stride - p.PadBegin; t < u*p.Stride-p.PadBegin+p.Kernel; t++ {
				if t < 0 || t >= p.Segments {
					continue
				}
				src := x.F32[(c*p.Segments+t)*size:][:size]
				for i, v := range src {
					if first || v > dst[i] {
						dst[i] = v
					}
				}
				first = false
			}
		}
	}
	return []*ir.Tensor{y}, nil
}
