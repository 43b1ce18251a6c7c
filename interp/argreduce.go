package interp

import (
	"errors"

	"github.com/tsmc-go/tsmc/ir"
)

// argReduceKernel is ArgMax (max) or ArgMin: the int64 index of the first
// (or, with select_last_index, the last) extreme value along axis, the
// axis kept as 1 with keepdims (default) or dropped. NaN never wins.
func argReduceKernel(max bool) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "data"); err != nil {
			return nil, err
		}
		x := inputs[0]
		if x.DType.IsInt() || x.DType == ir.Bool {
			return nil, errors.New("data must be a float tensor")
		}
		rank := len(x.Shape)
		if rank == 0 {
			return nil, errors.New("data must have rank >= 1")
		}
		axis := int(n.AttrInt("axis", 0))
		if axis < 0 {
			axis += rank
		}
		if axis < 0 || axis >= rank {
			return nil, errors.New("axis out of range")
		}
		last := n.AttrInt("select_last_index", 0) != 0
		outer, d, inner := x.Shape[:axis].Size(), x.Shape[axis], x.Shape[axis+1:].Size()
		if d == 0 {
			return nil, errors.New("the reduced axis is empty")
		}
		shape := x.Shape.Clone()
		shape[axis] = 1
		if n.AttrInt("keepdims", 1) == 0 {
			shape = append(shape[:axis:axis], shape[axis+1:]...)
		}
		out, err := alloc(ir.Int64, shape)
		if err != nil {
			return nil, err
		}
		for o := range outer {
			for i := range inner {
				best := -1
				var bv float64
				for k := range d {
					v := x.Float((o*d+k)*inner + i)
					better := best < 0 || (max && v > bv) || (!max && v < bv) || (last && v == bv)
					if v == v && better {
						best, bv = k, v
					}
				}
				out.I64[o*inner+i] = int64(max0(best))
			}
		}
		return []*ir.Tensor{out}, nil
	}
}

func max0(v int) int {
	if v < 0 {
		return 0
	}
	return v
}
