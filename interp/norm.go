package interp

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// moments returns, for each of the blocks consecutive runs of size
// elements of x, the mean and 1/sqrt(variance + eps), the variance being
// the population variance (divided by size), computed in two passes in
// float64.
func moments(x []float32, blocks, size int, eps float64) (mean, invStd []float64) {
	mean, invStd = make([]float64, blocks), make([]float64, blocks)
	for b := range blocks {
		run := x[b*size : (b+1)*size]
		s := 0.0
		for _, v := range run {
			s += float64(v)
		}
		m := s / float64(size)
		ss := 0.0
		for _, v := range run {
			d := float64(v) - m
			ss += d * d
		}
		mean[b], invStd[b] = m, 1/math.Sqrt(ss/float64(size)+eps)
	}
	return mean, invStd
}

// instanceNormKernel is InstanceNormalization: each (image, channel) plane
// is standardised over its spatial axes, then scaled and shifted per
// channel: Y = scale[c] * (X - mean) / sqrt(var + epsilon) + B[c].
func instanceNormKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	names := []string{"input", "scale", "B"}
	if err := required(inputs, names...); err != nil {
		return nil, err
	}
	x := inputs[0]
	for i, name := range names {
		if err := requireFloat32(inputs[i], name); err != nil {
			return nil, err
		}
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input must be N x C x (one or more spatial axes), got shape %v", x.Shape)
	}
	channels := x.Shape[1]
	for i := 1; i < 3; i++ {
		if !inputs[i].Shape.Equal(ir.Shape{channels}) {
			return nil, fmt.Errorf("%s has shape %v, want [%d]", names[i], inputs[i].Shape, channels)
		}
	}
	scale, bias := inputs[1].F32, inputs[2].F32
	y, err := alloc(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	planes, size := x.Shape[0]*channels, product(x.Shape[2:])
	mean, invStd := moments(x.F32, planes, size, float64(n.AttrFloat("epsilon", 1e-5)))
	for p := range planes {
		c := p % channels
		k := invStd[p] * float64(scale[c])
		for j := p * size; j < (p+1)*size; j++ {
			y.F32[j] = float32((float64(x.F32[j])-mean[p])*k + float64(bias[c]))
		}
	}
	return []*ir.Tensor{y}, nil
}

// layerNormKernel is LayerNormalization (opset 17): X is standardised over
// the axes from axis to the last, then multiplied by Scale and shifted by
// the optional B, both broadcast to X. The optional outputs Mean and
// InvStdDev keep X's rank, with size 1 on the normalised axes, and have
// the dtype of stash_type (float32, the only one supported).
func layerNormKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := sinceOpset(17, opset); err != nil {
		return nil, err
	}
	if err := required(inputs, "X", "Scale"); err != nil {
		return nil, err
	}
	x, scale, bias := inputs[0], inputs[1], optional(inputs, 2)
	if err := requireFloat32(x, "X"); err != nil {
		return nil, err
	}
	if stash := n.AttrInt("stash_type", 1); stash != 1 {
		return nil, fmt.Errorf("stash_type %d is not supported (only 1, float32)", stash)
	}
	axis, err := normAxis(int(n.AttrInt("axis", -1)), len(x.Shape))
	if err != nil {
		return nil, err
	}
	params := []*ir.Tensor{scale, bias}
	strides := make([][]int, len(params)) // all zero for an absent B
	for i, name := range []string{"Scale", "B"} {
		p := params[i]
		if p == nil {
			strides[i] = make([]int, len(x.Shape))
			continue
		}
		if err := requireFloat32(p, name); err != nil {
			return nil, err
		}
		if s, err := broadcastShape(p.Shape, x.Shape); err != nil || !s.Equal(x.Shape) {
			return nil, fmt.Errorf("%s of shape %v does not broadcast to X's shape %v", name, p.Shape, x.Shape)
		}
		strides[i] = broadcastStrides(p.Shape, x.Shape)
	}
	blocks, size := product(x.Shape[:axis]), product(x.Shape[axis:])
	mean, invStd := moments(x.F32, blocks, size, float64(n.AttrFloat("epsilon", 1e-5)))
	y, err := alloc(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	forEachBroadcast(x.Shape, strides, func(i int, o []int) {
		b := i / size
		v := (float64(x.F32[i]) - mean[b]) * invStd[b] * float64(scale.F32[o[0]])
		if bias != nil {
			v += float64(bias.F32[o[1]])
		}
		y.F32[i] = float32(v)
	})
	statShape := x.Shape[:axis].Clone()
	for range x.Shape[axis:] {
		statShape = append(statShape, 1)
	}
	outs := []*ir.Tensor{y}
	for _, stat := range [][]float64{mean, invStd} {
		t, err := alloc(ir.Float32, statShape)
		if err != nil {
			return nil, err
		}
		for i, v := range stat {
			t.F32[i] = float32(v)
		}
		outs = append(outs, t)
	}
	return outs, nil
}
