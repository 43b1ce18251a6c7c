package ops

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// The max pool a tsmc.Conv may carry (made by passes.FuseMaxPool): the
// attributes "pool_kernel" [KH, KW], "pool_strides" [SH, SW] and
// "pool_pads" [top, left, bottom, right] of a 2-D MaxPool without
// dilation or ceil mode, applied to act(conv(X, W) + B). A convolution
// with a pool has no residual.

// PoolAttrNames are the attributes of a tsmc.Conv's fused max pool.
var PoolAttrNames = []string{"pool_kernel", "pool_strides", "pool_pads"}

// FusedPool is the max pool fused into a tsmc.Conv.
type FusedPool struct {
	Kernel, Strides [2]int
	Pads            [4]int
}

// PoolOf reads the max pool fused into n: ok is false when n has none.
func PoolOf(n *ir.Node) (p FusedPool, ok bool, err error) {
	k, hasK := n.AttrInts("pool_kernel")
	s, hasS := n.AttrInts("pool_strides")
	pads, hasP := n.AttrInts("pool_pads")
	if !hasK && !hasS && !hasP {
		return FusedPool{}, false, nil
	}
	if len(k) != 2 || len(s) != 2 || len(pads) != 4 {
		return FusedPool{}, false, n.Errorf("fused max pool needs pool_kernel and pool_strides of 2 values and pool_pads of 4, got %v, %v, %v", k, s, pads)
	}
	for i := range 2 {
		p.Kernel[i], p.Strides[i] = int(k[i]), int(s[i])
		if k[i] < 1 || s[i] < 1 || k[i] > ir.MaxElements || s[i] > ir.MaxElements {
			return FusedPool{}, false, n.Errorf("fused max pool kernel %v and strides %v must be positive", k, s)
		}
	}
	for i := range 4 {
		p.Pads[i] = int(pads[i])
		if pads[i] < 0 || pads[i] >= k[i%2] {
			return FusedPool{}, false, n.Errorf("fused max pool pads %v must be non-negative and smaller than the kernel %v", pads, k)
		}
	}
	return p, true, nil
}

// Shape is the runtime shape of the pool over planes planes of h x w.
func (p FusedPool) Shape(planes, h, w int) runtime.PoolShape {
	return runtime.PoolShape{Planes: planes, H: h, W: w, KH: p.Kernel[0], KW: p.Kernel[1],
		StrideH: p.Strides[0], StrideW: p.Strides[1], PadTop: p.Pads[0], PadLeft: p.Pads[1], PadBottom: p.Pads[2], PadRight: p.Pads[3]}
}

// Out returns the pooled size of an h x w map, 0s when the window does
// not fit.
func (p FusedPool) Out(h, w int) (int, int) {
	return runtime.PoolOutSize(h, p.Kernel[0], p.Strides[0], 1, p.Pads[0], p.Pads[2], false),
		runtime.PoolOutSize(w, p.Kernel[1], p.Strides[1], 1, p.Pads[1], p.Pads[3], false)
}

// Attrs are the MaxPool attributes of the pool.
func (p FusedPool) Attrs() map[string]ir.Attr {
	ints := func(v ...int) ir.Attr {
		a := ir.Attr{Kind: ir.AttrInts}
		for _, x := range v {
			a.Ints = append(a.Ints, int64(x))
		}
		return a
	}
	return map[string]ir.Attr{
		"kernel_shape": ints(p.Kernel[:]...), "strides": ints(p.Strides[:]...), "pads": ints(p.Pads[:]...),
	}
}

// pooledShape returns the shape of a tsmc.Conv's output: conv, the
// convolution's, pooled when n has a fused pool.
func pooledShape(n *ir.Node, conv ir.Shape) (ir.Shape, error) {
	p, ok, err := PoolOf(n)
	if err != nil || !ok {
		return conv, err
	}
	if len(conv) != 4 {
		return nil, n.Errorf("a fused max pool needs a 2-D convolution, the output is %v", conv)
	}
	if n.Input(ConvResidual) != nil {
		return nil, n.Errorf("a convolution with a fused max pool takes no residual")
	}
	oh, ow := p.Out(conv[2], conv[3])
	if oh <= 0 || ow <= 0 {
		return nil, n.Errorf("fused max pool %+v does not fit the convolution's output %v", p, conv)
	}
	return ir.Shape{conv[0], conv[1], oh, ow}, nil
}
