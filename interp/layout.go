package interp

import (
	"fmt"

	"github.com/tsmc-go/tsmc/ir"
)

// This file holds the two primitives behind every data-movement kernel:
// numpy broadcasting, and gatherOffsets, which builds a tensor whose element
// at (o0, o1, ...) is read from the source at offset offs[0][o0] +
// offs[1][o1] + ... (Slice, Transpose, Pad, Tile, Expand and Gather are
// all a choice of per-axis offset tables).

// broadcastShape returns the numpy broadcast of shapes.
func broadcastShape(shapes ...ir.Shape) (ir.Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(ir.Shape, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		lead := rank - len(s)
		for i, d := range s {
			switch o := out[lead+i]; {
			case d == o || d == 1:
			case o == 1:
				out[lead+i] = d
			default:
				return nil, fmt.Errorf("shapes %v cannot be broadcast together", shapes)
			}
		}
	}
	return out, nil
}

// broadcastStrides returns the strides that read a tensor of shape in as if
// it had the (broadcast) shape out: 0 along broadcast axes.
func broadcastStrides(in, out ir.Shape) []int {
	strides := make([]int, len(out))
	inStrides := in.Strides()
	lead := len(out) - len(in)
	for i, d := range in {
		if d != 1 {
			strides[lead+i] = inStrides[i]
		}
	}
	return strides
}

// forEachBroadcast walks shape in row-major order and calls fn with the flat
// index of each element and the matching flat offsets into each operand,
// whose strides (from broadcastStrides) are given.
func forEachBroadcast(shape ir.Shape, strides [][]int, fn func(i int, offs []int)) {
	n := shape.Size()
	offs := make([]int, len(strides))
	if n <= 0 {
		return
	}
	contiguous := shape.Strides()
	same := true
	for _, s := range strides {
		for d := range s {
			if shape[d] != 1 && s[d] != contiguous[d] {
				same = false
			}
		}
	}
	if same { // no broadcasting: every operand is read at i
		for i := 0; i < n; i++ {
			for k := range offs {
				offs[k] = i
			}
			fn(i, offs)
		}
		return
	}
	idx := make([]int, len(shape))
	for i := 0; i < n; i++ {
		fn(i, offs)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += strides[k][d]
			}
			if idx[d] < shape[d] {
				break
			}
			for k := range offs {
				offs[k] -= strides[k][d] * shape[d]
			}
			idx[d] = 0
		}
	}
}

// axisOffsets turns source indices along one axis into offsets (index times
// stride); a negative index stays -1, meaning "padding".
func axisOffsets(indices []int, stride int) []int {
	offs := make([]int, len(indices))
	for i, j := range indices {
		if j < 0 {
			offs[i] = -1
		} else {
			offs[i] = j * stride
		}
	}
	return offs
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i
	}
	return v
}

// gatherOffsets builds a tensor of shape [len(offs[0]), len(offs[1]), ...]
// whose element (o0, o1, ...) is src's element at offs[0][o0] + offs[1][o1]
// + ..., or pad when any of those offsets is negative.
func gatherOffsets(src *ir.Tensor, offs [][]int, pad float64) (*ir.Tensor, error) {
	shape := make(ir.Shape, len(offs))
	for d := range offs {
		shape[d] = len(offs[d])
	}
	out, err := alloc(src.DType, shape)
	if err != nil {
		return nil, err
	}
	switch {
	case src.DType == ir.Float32:
		gatherOffsetsOf(out.F32, src.F32, offs, float32(pad))
	case src.DType == ir.Float64:
		gatherOffsetsOf(out.F64, src.F64, offs, pad)
	case src.DType.IsInt():
		gatherOffsetsOf(out.I64, src.I64, offs, wrapInt(src.DType, truncToInt(pad)))
	case src.DType == ir.Bool:
		gatherOffsetsOf(out.B, src.B, offs, pad != 0)
	}
	return out, nil
}

func gatherOffsetsOf[T any](dst, src []T, offs [][]int, pad T) {
	if len(dst) == 0 {
		return
	}
	rank := len(offs)
	if rank == 0 {
		dst[0] = src[0]
		return
	}
	inner := offs[rank-1]
	outer := make([]int, rank-1) // index over all axes but the last
	for p := 0; p < len(dst); p += len(inner) {
		base, inside := 0, true
		for d, i := range outer {
			if offs[d][i] < 0 {
				inside = false
			}
			base += offs[d][i]
		}
		row := dst[p : p+len(inner)]
		for j, o := range inner {
			if inside && o >= 0 {
				row[j] = src[base+o]
			} else {
				row[j] = pad
			}
		}
		for d := rank - 2; d >= 0; d-- {
			outer[d]++
			if outer[d] < len(offs[d]) {
				break
			}
			outer[d] = 0
		}
	}
}

// copyElems copies n elements from src at sOff to dst at dOff; both
// tensors have the same dtype.
func copyElems(dst *ir.Tensor, dOff int, src *ir.Tensor, sOff, n int) {
	switch {
	case src.DType == ir.Float32:
		copy(dst.F32[dOff:dOff+n], src.F32[sOff:sOff+n])
	case src.DType == ir.Float64:
		copy(dst.F64[dOff:dOff+n], src.F64[sOff:sOff+n])
	case src.DType.IsInt():
		copy(dst.I64[dOff:dOff+n], src.I64[sOff:sOff+n])
	case src.DType == ir.Bool:
		copy(dst.B[dOff:dOff+n], src.B[sOff:sOff+n])
	}
}

// naturalOffsets returns the offset tables that read t unchanged.
func naturalOffsets(shape ir.Shape) [][]int {
	strides := shape.Strides()
	offs := make([][]int, len(shape))
	for d := range shape {
		offs[d] = axisOffsets(seq(shape[d]), strides[d])
	}
	return offs
}

// broadcastTo returns t broadcast to shape (which must be a broadcast of
// t's shape).
func broadcastTo(t *ir.Tensor, shape ir.Shape) (*ir.Tensor, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	strides := broadcastStrides(t.Shape, shape)
	offs := make([][]int, len(shape))
	for d := range shape {
		offs[d] = axisOffsets(seq(shape[d]), strides[d])
	}
	return gatherOffsets(t, offs, 0)
}
