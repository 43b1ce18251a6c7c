package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/ir"
)

func TestChannelAffine(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(16, 1))
	acts := []Act{{}, Relu, Clip(0, 6), Clip(-0.5, 0.5)}
	for i := range 80 {
		shape := append([]int{1 + rng.IntN(3), 1 + rng.IntN(9)}, randShape(rng, rng.IntN(4), 9, false)...)
		if i == 0 {
			shape = []int{2, 64, 56, 56}
		}
		c := shape[1]
		gamma, beta, mean, variance := randData(rng, c), randData(rng, c), randData(rng, c), randData(rng, c)
		for j := range variance {
			variance[j] = variance[j]*variance[j] + 0.01
		}
		eps := float32(1e-5)
		scale, shift := make([]float32, c), make([]float32, c)
		for j := range scale { // the compile-time fold
			k := float64(gamma[j]) / math.Sqrt(float64(variance[j])+float64(eps))
			scale[j], shift[j] = float32(k), float32(float64(beta[j])-float64(mean[j])*k)
		}
		act := acts[i%len(acts)]
		name := fmt.Sprintf("batchnorm %v %v", shape, act)
		ca, err := NewChannelAffine(shape[0], c, product(shape[2:]), scale, shift, act)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(shape))
		want := evalOp(t, "BatchNormalization", irtest.Attrs("epsilon", eps), 1, f32Tensor(shape, x),
			f32Tensor([]int{c}, gamma), f32Tensor([]int{c}, beta), f32Tensor([]int{c}, mean), f32Tensor([]int{c}, variance))[0]
		switch act.Kind {
		case ActRelu:
			want = evalOp(t, "Relu", nil, 1, want)[0]
		case ActClip:
			want = evalOp(t, "Clip", nil, 1, want, ir.Scalar(act.Min), ir.Scalar(act.Max))[0]
		}
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { ca.Run(p, x, o) })
		checkNear(t, name, shape, got, want, 1e-5)
	}
	_, err := NewChannelAffine(2, 3, 4, make([]float32, 2), nil, Act{})
	mustErr(t, "channel affine with 2 scales for 3 channels", err)
	_, err = NewChannelAffine(2, 3, 4, make([]float32, 3), make([]float32, 4), Act{})
	mustErr(t, "channel affine with 4 shifts for 3 channels", err)
	_, err = NewChannelAffine(2, 3, -4, make([]float32, 3), nil, Act{})
	mustErr(t, "channel affine with a negative size", err)
	_, err = NewChannelAffine(2, 3, 4, make([]float32, 3), nil, Clip(1, 0))
	mustErr(t, "channel affine with an empty clip", err)
}

// normComposite is the interpreter's result of normalising x over axes
// with ONNX ops (float32 between them): (x-mean)/√(var+ε)*scale + bias.
func normComposite(t *testing.T, x *ir.Tensor, axes []int, eps float32, scale, bias *ir.Tensor) *ir.Tensor {
	mean := evalOp(t, "ReduceMean", nil, 1, x, i64Vec(axes...))[0]
	d := evalOp(t, "Sub", nil, 1, x, mean)[0]
	v := evalOp(t, "ReduceMean", nil, 1, evalOp(t, "Mul", nil, 1, d, d)[0], i64Vec(axes...))[0]
	std := evalOp(t, "Sqrt", nil, 1, evalOp(t, "Add", nil, 1, v, ir.Scalar(eps))[0])[0]
	y := evalOp(t, "Div", nil, 1, d, std)[0]
	if scale != nil {
		y = evalOp(t, "Mul", nil, 1, y, scale)[0]
	}
	if bias != nil {
		y = evalOp(t, "Add", nil, 1, y, bias)[0]
	}
	return y
}

// refNormalize normalises the groups of n values of x in float64 (one
// scale and bias value per group position j, or per group with perGroup).
func refNormalize(x []float32, n int, eps float64, scale, bias func(g, j int) float64) []float64 {
	out := make([]float64, len(x))
	for g := 0; g*n < len(x); g++ {
		xs := x[g*n : (g+1)*n]
		var mean, v float64
		for _, a := range xs {
			mean += float64(a) / float64(n)
		}
		for _, a := range xs {
			v += (float64(a) - mean) * (float64(a) - mean) / float64(n)
		}
		for j, a := range xs {
			out[g*n+j] = (float64(a)-mean)/math.Sqrt(v+eps)*scale(g, j) + bias(g, j)
		}
	}
	return out
}

func TestLayerNorm(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(17, 1))
	for i := range 100 {
		rank := 1 + rng.IntN(5)
		shape := randShape(rng, rank, 9, false)
		axis := rng.IntN(rank) - rng.IntN(2)*rank
		if i == 0 {
			shape, axis, rank = []int{4, 197, 768}, -1, 3
		}
		a := (axis + len(shape)) % len(shape)
		n := product(shape[a:])
		eps := float32(1e-5)
		x, scale, bias := randData(rng, product(shape)), randData(rng, n), randData(rng, n)
		if i%3 == 1 {
			bias = nil
		}
		if i%3 == 2 {
			scale = nil
		}
		name := fmt.Sprintf("layernorm %v axis %d scale %t bias %t", shape, axis, scale != nil, bias != nil)
		ln, err := NewLayerNorm(shape, axis, eps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		axes := make([]int, 0, rank)
		for d := a; d < rank; d++ {
			axes = append(axes, d)
		}
		var st, bt *ir.Tensor
		if scale != nil {
			st = f32Tensor(shape[a:], scale)
		}
		if bias != nil {
			bt = f32Tensor(shape[a:], bias)
		}
		want := normComposite(t, f32Tensor(shape, x), axes, eps, st, bt)
		got := runPools(t, name, ps, len(x), func(p *Pool, o []float32) { ln.Run(p, x, scale, bias, o) })
		checkNear(t, name, shape, got, want, 1e-5)

		// far from zero, where float32 mean and variance lose digits
		for j := range x {
			x[j] = 1000 + x[j]
		}
		at := func(v []float32, dflt float64) func(g, j int) float64 {
			return func(g, j int) float64 {
				if v == nil {
					return dflt
				}
				return float64(v[j])
			}
		}
		ref := refNormalize(x, n, float64(eps), at(scale, 1), at(bias, 0))
		ln.Run(ps[1], x, scale, bias, got)
		if e := floatcmp.Slices(got, ref); e > 1e-6 {
			t.Errorf("%s offset by 1000: relative error %.3g", name, e)
		}
	}
	_, err := NewLayerNorm([]int{2, 3}, 2, 1e-5)
	mustErr(t, "layernorm on axis 2 of rank 2", err)
	_, err = NewLayerNorm([]int{2, 3}, 1, -1)
	mustErr(t, "layernorm with a negative epsilon", err)
	_, err = NewLayerNorm([]int{2, 3}, 1, float32(math.NaN()))
	mustErr(t, "layernorm with a NaN epsilon", err)
}

func TestInstanceNorm(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(18, 1))
	for i := range 80 {
		shape := append([]int{1 + rng.IntN(3), 1 + rng.IntN(6)}, randShape(rng, rng.IntN(4), 9, false)...)
		if i == 0 {
			shape = []int{2, 32, 56, 56}
		}
		c := shape[1]
		eps := float32(1e-3)
		x, scale, bias := randData(rng, product(shape)), randData(rng, c), randData(rng, c)
		name := fmt.Sprintf("instancenorm %v", shape)
		in, err := NewInstanceNorm(shape, eps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var axes []int
		perChannel := []int{c}
		for d := 2; d < len(shape); d++ {
			axes = append(axes, d)
			perChannel = append(perChannel, 1)
		}
		want := evalOp(t, "Identity", nil, 1, f32Tensor(shape, x))[0]
		if len(axes) > 0 {
			want = normComposite(t, want, axes, eps, f32Tensor(perChannel, scale), f32Tensor(perChannel, bias))
		} else { // a plane of one value: its deviation is 0
			want = evalOp(t, "Expand", nil, 1, f32Tensor([]int{c}, bias), i64Vec(shape...))[0]
		}
		got := runPools(t, name, ps, len(x), func(p *Pool, o []float32) { in.Run(p, x, scale, bias, o) })
		checkNear(t, name, shape, got, want, 1e-5)

		for j := range x {
			x[j] = 1000 + x[j]
		}
		plane := product(shape[2:])
		ref := refNormalize(x, plane, float64(eps),
			func(g, _ int) float64 { return float64(scale[g%c]) }, func(g, _ int) float64 { return float64(bias[g%c]) })
		in.Run(ps[1], x, scale, bias, got)
		if e := floatcmp.Slices(got, ref); e > 1e-6 {
			t.Errorf("%s offset by 1000: relative error %.3g", name, e)
		}
	}
	_, err := NewInstanceNorm([]int{3}, 1e-5)
	mustErr(t, "instancenorm of rank 1", err)
	_, err = NewInstanceNorm([]int{2, 3, 4}, -1)
	mustErr(t, "instancenorm with a negative epsilon", err)
}

func TestBatchNormRunTimeParameters(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(16, 2))
	for range 30 {
		shape := append([]int{1 + rng.IntN(3), 1 + rng.IntN(9)}, randShape(rng, rng.IntN(4), 9, false)...)
		c := shape[1]
		eps := float32(1e-3)
		bn, err := NewBatchNorm(shape[0], c, product(shape[2:]), eps)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("batchnorm %v", shape)
		// Two runs with different parameters: each run folds its own.
		for range 2 {
			gamma, beta, mean, variance := randData(rng, c), randData(rng, c), randData(rng, c), randData(rng, c)
			for j := range variance {
				variance[j] = variance[j]*variance[j] + 0.01
			}
			x := randData(rng, product(shape))
			want := evalOp(t, "BatchNormalization", irtest.Attrs("epsilon", eps), 1, f32Tensor(shape, x),
				f32Tensor([]int{c}, gamma), f32Tensor([]int{c}, beta), f32Tensor([]int{c}, mean), f32Tensor([]int{c}, variance))[0]
			got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { bn.Run(p, x, gamma, beta, mean, variance, o) })
			checkNear(t, name, shape, got, want, 1e-5)
		}
	}
	_, err := NewBatchNorm(2, 3, -4, 1e-5)
	mustErr(t, "batch norm with a negative size", err)
}

// TestLayerNormStats checks RunStats' Mean and InvStdDev against the
// interpreter's LayerNormalization outputs.
func TestLayerNormStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2))
	for range 30 {
		rank := 1 + rng.IntN(4)
		shape := randShape(rng, rank, 7, false)
		axis := rng.IntN(rank)
		n := product(shape[axis:])
		x, scale := randData(rng, product(shape)), randData(rng, n)
		ln, err := NewLayerNorm(shape, axis, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		outer := product(shape[:axis])
		out, mean, inv := make([]float32, len(x)), make([]float32, outer), make([]float32, outer)
		p := NewPool(2)
		ln.RunStats(p, x, scale, nil, out, mean, inv)
		p.Close()
		want := evalOp(t, "LayerNormalization", irtest.Attrs("axis", axis, "epsilon", float32(1e-5)), 3,
			f32Tensor(shape, x), f32Tensor(shape[axis:], scale))
		name := fmt.Sprintf("layernorm stats %v axis %d", shape, axis)
		checkNear(t, name, shape, out, want[0], 1e-5)
		checkNear(t, name+" mean", []int(want[1].Shape), mean, want[1], 1e-5)
		checkNear(t, name+" invstddev", []int(want[2].Shape), inv, want[2], 1e-5)
	}
}
