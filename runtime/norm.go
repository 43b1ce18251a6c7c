package runtime

import (
	"fmt"
	"math"
	"slices"
)

// ChannelAffine scales and shifts each channel of a tensor viewed as
// [outer][channels][inner]: out = act(x*scale[c] + shift[c]). A
// standalone BatchNormalization lowers to it, with scale =
// gamma/√(var+ε) and shift = beta - mean*scale folded at compile time.
//
//	NewChannelAffine(outer, channels, inner int, scale, shift []float32, act Act) (*ChannelAffine, error)
//	(*ChannelAffine).Run(p *Pool, x, out []float32)
//
// scale has channels values; shift too, or is nil for none. out may alias
// x.
type ChannelAffine struct {
	outer, channels, inner int
	scale, shift           []float32
	act                    Act
}

// NewChannelAffine plans a per-channel affine map.
func NewChannelAffine(outer, channels, inner int, scale, shift []float32, act Act) (*ChannelAffine, error) {
	if _, err := shapeSize([]int{outer, channels, inner}); err != nil {
		return nil, fmt.Errorf("channel affine: %w", err)
	}
	if len(scale) != channels || shift != nil && len(shift) != channels {
		return nil, fmt.Errorf("channel affine of %d channels: %d scales and %d shifts", channels, len(scale), len(shift))
	}
	if err := act.validateClamp(); err != nil {
		return nil, fmt.Errorf("channel affine: %w", err)
	}
	if shift == nil {
		shift = make([]float32, channels)
	}
	return &ChannelAffine{outer: outer, channels: channels, inner: inner,
		scale: slices.Clone(scale), shift: slices.Clone(shift), act: act}, nil
}

func (c *ChannelAffine) profileName() string {
	return fmt.Sprintf("channel affine [%d][%d][%d] %v", c.outer, c.channels, c.inner, c.act)
}
func (c *ChannelAffine) profileFLOPs() float64 { return 2 * float64(c.outer*c.channels*c.inner) }

// Run computes out = act(x*scale + shift) per channel.
func (c *ChannelAffine) Run(p *Pool, x, out []float32) {
	defer profileDone(c, profileStart())
	planes := c.outer * c.channels
	checkLen("channel affine", "x", len(x), planes*c.inner)
	checkLen("channel affine", "out", len(out), planes*c.inner)
	if c.inner == 0 {
		return
	}
	lo, hi := c.act.Bounds()
	perItem := max(1, ewChunk/c.inner)
	p.For(ceilDiv(planes, perItem), func(_, item int) {
		for pl := item * perItem; pl < min(planes, (item+1)*perItem); pl++ {
			s, b := c.scale[pl%c.channels], c.shift[pl%c.channels]
			xs, os := x[pl*c.inner:(pl+1)*c.inner], out[pl*c.inner:(pl+1)*c.inner]
			if c.act.Kind == ActNone {
				for i, v := range xs {
					os[i] = v*s + b
				}
				continue
			}
			for i, v := range xs {
				os[i] = clamp(v*s+b, lo, hi)
			}
		}
	})
}

// BatchNorm is an inference-mode BatchNormalization whose parameters are
// run-time tensors: every Run folds them into a per-channel affine.
//
//	NewBatchNorm(outer, channels, inner int, epsilon float32) (*BatchNorm, error)
//	(*BatchNorm).Run(p *Pool, x, scale, bias, mean, variance, out []float32)
//
// Run must not be called concurrently on one BatchNorm.
type BatchNorm struct {
	affine *ChannelAffine
	eps    float64
}

// NewBatchNorm plans a BatchNormalization of x viewed as
// [outer][channels][inner].
func NewBatchNorm(outer, channels, inner int, epsilon float32) (*BatchNorm, error) {
	zeros := make([]float32, max(channels, 0))
	a, err := NewChannelAffine(outer, channels, inner, zeros, zeros, Act{})
	if err != nil {
		return nil, fmt.Errorf("batch norm: %w", err)
	}
	return &BatchNorm{affine: a, eps: float64(epsilon)}, nil
}

// Run computes out = (x-mean)/√(variance+ε)*scale + bias per channel, each
// parameter holding one value per channel.
func (b *BatchNorm) Run(p *Pool, x, scale, bias, mean, variance, out []float32) {
	c := b.affine.channels
	for _, v := range [][]float32{scale, bias, mean, variance} {
		checkLen("batch norm", "parameter", len(v), c)
	}
	for i := range c {
		s := float64(scale[i]) / math.Sqrt(float64(variance[i])+b.eps)
		b.affine.scale[i], b.affine.shift[i] = float32(s), float32(float64(bias[i])-float64(mean[i])*s)
	}
	b.affine.Run(p, x, out)
}

// normalize writes (x-mean)/√(var+eps) * scale[i] + bias[i] over one
// group of values, mean and variance computed in float64 in two passes;
// scale and bias are nil for 1 and 0, else have len(x) values or one
// value (w), which applies to all. It returns the mean and 1/√(var+eps).
func normalize(x, out []float32, eps float64, scale, bias []float32, w int) (mean, invStdDev float64) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean = sum / float64(len(x))
	var sq float64
	for _, v := range x {
		d := float64(v) - mean
		sq += d * d
	}
	inv := 1 / math.Sqrt(sq/float64(len(x))+eps)
	for i, v := range x {
		y := (float64(v) - mean) * inv
		if scale != nil {
			y *= float64(scale[i*w])
		}
		if bias != nil {
			y += float64(bias[i*w])
		}
		out[i] = float32(y)
	}
	return mean, inv
}

// LayerNorm normalises a tensor over its trailing axes from axis on (ONNX
// LayerNormalization): each of the rows [outer][n] becomes
// (x-mean)/√(var+ε) * scale + bias, mean and (biased) variance computed in
// float64; RunStats also writes each row's mean and 1/√(var+ε), ONNX's
// optional Mean and InvStdDev outputs.
//
//	NewLayerNorm(shape []int, axis int, epsilon float32) (*LayerNorm, error)
//	(*LayerNorm).Run(p *Pool, x, scale, bias, out []float32)
//	(*LayerNorm).RunStats(p *Pool, x, scale, bias, out, mean, invStdDev []float32)
//
// axis may be negative. scale and bias have n values (the normalised
// shape's product; a broadcastable scale is expanded by the caller) or
// are nil for none. out may alias x.
type LayerNorm struct {
	shape    []int
	outer, n int
	eps      float64
}

// NewLayerNorm plans a layer normalisation of a tensor of the given
// shape from axis on.
func NewLayerNorm(shape []int, axis int, epsilon float32) (*LayerNorm, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("layernorm: %w", err)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("layernorm %v: %w", shape, err)
	}
	if !(epsilon >= 0) || math.IsInf(float64(epsilon), 1) {
		return nil, fmt.Errorf("layernorm %v: epsilon %g is not a finite non-negative number", shape, epsilon)
	}
	return &LayerNorm{shape: slices.Clone(shape), outer: product(shape[:a]), n: product(shape[a:]), eps: float64(epsilon)}, nil
}

func (l *LayerNorm) profileName() string {
	return fmt.Sprintf("layernorm [%d][%d]", l.outer, l.n)
}
func (l *LayerNorm) profileFLOPs() float64 { return 0 }

// Run normalises the rows of x into out.
func (l *LayerNorm) Run(p *Pool, x, scale, bias, out []float32) {
	l.RunStats(p, x, scale, bias, out, nil, nil)
}

// RunStats is Run that also writes each row's mean and inverse standard
// deviation into mean and invStdDev (outer values each; nil for none).
func (l *LayerNorm) RunStats(p *Pool, x, scale, bias, out, mean, invStdDev []float32) {
	defer profileDone(l, profileStart())
	for _, s := range [][]float32{mean, invStdDev} {
		if s != nil {
			checkLen("layernorm", "statistics", len(s), l.outer)
		}
	}
	checkLen("layernorm", "x", len(x), l.outer*l.n)
	checkLen("layernorm", "out", len(out), l.outer*l.n)
	if scale != nil {
		checkLen("layernorm", "scale", len(scale), l.n)
	}
	if bias != nil {
		checkLen("layernorm", "bias", len(bias), l.n)
	}
	if l.n == 0 {
		return
	}
	perItem := max(1, ewChunk/l.n)
	p.For(ceilDiv(l.outer, perItem), func(_, item int) {
		for r := item * perItem; r < min(l.outer, (item+1)*perItem); r++ {
			m, inv := normalize(x[r*l.n:(r+1)*l.n], out[r*l.n:(r+1)*l.n], l.eps, scale, bias, 1)
			if mean != nil {
				mean[r] = float32(m)
			}
			if invStdDev != nil {
				invStdDev[r] = float32(inv)
			}
		}
	})
}

// InstanceNorm normalises each (image, channel) plane of an [N][C][...]
// tensor over its spatial axes (ONNX InstanceNormalization): (x-mean)/
// √(var+ε) * scale[c] + bias[c], mean and (biased) variance in float64.
//
//	NewInstanceNorm(shape []int, epsilon float32) (*InstanceNorm, error)
//	(*InstanceNorm).Run(p *Pool, x, scale, bias, out []float32)
//
// shape has rank >= 2; scale and bias have C values. out may alias x.
type InstanceNorm struct {
	shape                   []int
	images, channels, plane int
	eps                     float64
}

// NewInstanceNorm plans an instance normalisation of a tensor of the
// given shape.
func NewInstanceNorm(shape []int, epsilon float32) (*InstanceNorm, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("instancenorm: %w", err)
	}
	if len(shape) < 2 {
		return nil, fmt.Errorf("instancenorm %v: want [N][C][spatial...]", shape)
	}
	if !(epsilon >= 0) || math.IsInf(float64(epsilon), 1) {
		return nil, fmt.Errorf("instancenorm %v: epsilon %g is not a finite non-negative number", shape, epsilon)
	}
	return &InstanceNorm{shape: slices.Clone(shape), images: shape[0], channels: shape[1], plane: product(shape[2:]), eps: float64(epsilon)}, nil
}

func (in *InstanceNorm) profileName() string {
	return fmt.Sprintf("instancenorm [%d][%d][%d]", in.images, in.channels, in.plane)
}
func (in *InstanceNorm) profileFLOPs() float64 { return 0 }

// Run normalises the planes of x into out.
func (in *InstanceNorm) Run(p *Pool, x, scale, bias, out []float32) {
	defer profileDone(in, profileStart())
	n := in.images * in.channels * in.plane
	checkLen("instancenorm", "x", len(x), n)
	checkLen("instancenorm", "out", len(out), n)
	checkLen("instancenorm", "scale", len(scale), in.channels)
	checkLen("instancenorm", "bias", len(bias), in.channels)
	if in.plane == 0 {
		return
	}
	planes := in.images * in.channels
	perItem := max(1, ewChunk/in.plane)
	p.For(ceilDiv(planes, perItem), func(_, item int) {
		for pl := item * perItem; pl < min(planes, (item+1)*perItem); pl++ {
			c := pl % in.channels
			normalize(x[pl*in.plane:(pl+1)*in.plane], out[pl*in.plane:(pl+1)*in.plane], in.eps, scale[c:c+1], bias[c:c+1], 0)
		}
	})
}
