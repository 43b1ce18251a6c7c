package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// naiveConv2D is the textbook seven-loop convolution of x [N,C,H,W] with
// w [M,C/group,KH,KW], explicit pads (top, bottom, left, right).
func naiveConv2D(x, w, b *ir.Tensor, group int, strides, dilations [2]int, pads [4]int) *ir.Tensor {
	n, h, wd := x.Shape[0], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh := (h+pads[0]+pads[1]-(kh-1)*dilations[0]-1)/strides[0] + 1
	ow := (wd+pads[2]+pads[3]-(kw-1)*dilations[1]-1)/strides[1] + 1
	y, _ := ir.NewTensor(ir.Float32, ir.Shape{n, m, oh, ow})
	mg := m / group
	for img := 0; img < n; img++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc := 0.0
					if b != nil {
						acc = float64(b.F32[oc])
					}
					for ic := 0; ic < cg; ic++ {
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy := oy*strides[0] - pads[0] + ky*dilations[0]
								ix := ox*strides[1] - pads[2] + kx*dilations[1]
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xv := x.F32[((img*x.Shape[1]+g*cg+ic)*h+iy)*wd+ix]
								wv := w.F32[((oc*cg+ic)*kh+ky)*kw+kx]
								acc += float64(xv) * float64(wv)
							}
						}
					}
					y.F32[((img*m+oc)*oh+oy)*ow+ox] = float32(acc)
				}
			}
		}
	}
	return y
}

// TestConvAgainstNaive compares Conv with the direct convolution over
// random shapes, groups (incl. depthwise), strides, dilations and
// asymmetric pads, in 2-D and (with height 1) 1-D.
func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ran := 0
	for trial := 0; trial < 300 && ran < 120; trial++ {
		group := 1 + r.IntN(3)
		cg, mg := 1+r.IntN(3), 1+r.IntN(3)
		if r.IntN(4) == 0 { // depthwise
			group, cg, mg = 2+r.IntN(4), 1, 1
		}
		oneD := r.IntN(4) == 0
		n := 1 + r.IntN(3)
		h, wd := 1+r.IntN(9), 1+r.IntN(9)
		kh, kw := 1+r.IntN(4), 1+r.IntN(4)
		strides := [2]int{1 + r.IntN(3), 1 + r.IntN(3)}
		dilations := [2]int{1 + r.IntN(2), 1 + r.IntN(2)}
		pads := [4]int{r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3)} // top, bottom, left, right
		if oneD {
			h, kh, strides[0], dilations[0], pads[0], pads[1] = 1, 1, 1, 1, 0, 0
		}
		x := randF32(r, ir.Shape{n, cg * group, h, wd})
		w := randF32(r, ir.Shape{mg * group, cg, kh, kw})
		var b *ir.Tensor
		if r.IntN(2) == 0 {
			b = randF32(r, ir.Shape{mg * group})
		}
		a := attrs{
			"group":     aInt(int64(group)),
			"strides":   aInts(int64(strides[0]), int64(strides[1])),
			"dilations": aInts(int64(dilations[0]), int64(dilations[1])),
			"pads":      aInts(int64(pads[0]), int64(pads[2]), int64(pads[1]), int64(pads[3])),
		}
		inputs := []*ir.Tensor{x, w, b}
		if oneD {
			a["strides"] = aInts(int64(strides[1]))
			a["dilations"] = aInts(int64(dilations[1]))
			a["pads"] = aInts(int64(pads[2]), int64(pads[3]))
			inputs = []*ir.Tensor{reshaped(x, ir.Shape{n, cg * group, wd}), reshaped(w, ir.Shape{mg * group, cg, kw}), b}
		}
		fits := h+pads[0]+pads[1] >= (kh-1)*dilations[0]+1 && wd+pads[2]+pads[3] >= (kw-1)*dilations[1]+1
		name := fmt.Sprintf("trial%d_n%d_g%d_cg%d_mg%d_%dx%d_k%dx%d_s%v_d%v_p%v_1d=%v",
			trial, n, group, cg, mg, h, wd, kh, kw, strides, dilations, pads, oneD)
		node := opNode("Conv", a, inputs, 1)
		got, err := Eval(node, 11, inputs)
		if !fits {
			if err == nil {
				t.Errorf("%s: window larger than the padded input, want an error", name)
			} else {
				checkErrorNamesNode(t, err, node)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := naiveConv2D(x, w, b, group, strides, dilations, pads)
		if oneD {
			want = reshaped(want, ir.Shape{want.Shape[0], want.Shape[1], want.Shape[3]})
		}
		expectTensorTol(t, name, got[0], want, 1e-5)
		ran++
	}
	if ran < 100 {
		t.Fatalf("only %d random convolutions were valid", ran)
	}
}

func expectTensorTol(t *testing.T, what string, got, want *ir.Tensor, tol float64) {
	t.Helper()
	if !got.Shape.Equal(want.Shape) {
		t.Fatalf("%s: got shape %v, want %v", what, got.Shape, want.Shape)
	}
	if e := tensorcmp.RelErr(got, want); e > tol {
		t.Fatalf("%s: relative error %.3g > %g", what, e, tol)
	}
}

// TestConvAutoPad checks SAME_UPPER, SAME_LOWER and VALID against explicit
// pads worked out from the spec: out = ceil(in/stride), the total padding
// split with the extra cell at the end (UPPER) or the start (LOWER).
func TestConvAutoPad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := randF32(r, ir.Shape{1, 2, 7, 6})
	w := randF32(r, ir.Shape{3, 2, 4, 3})
	// H: in 7, stride 2, k 4 -> out 4, total pad (4-1)*2+4-7 = 3.
	// W: in 6, stride 2, k 3 -> out 3, total pad (3-1)*2+3-6 = 1.
	strides := aInts(2, 2)
	cases := []struct {
		autoPad string
		pads    []int64 // top, left, bottom, right
	}{
		{"SAME_UPPER", []int64{1, 0, 2, 1}},
		{"SAME_LOWER", []int64{2, 1, 1, 0}},
		{"VALID", []int64{0, 0, 0, 0}},
	}
	for _, c := range cases {
		got := eval1(t, "Conv", 11, attrs{"auto_pad": aString(c.autoPad), "strides": strides}, x, w)
		want := eval1(t, "Conv", 11, attrs{"pads": aInts(c.pads...), "strides": strides}, x, w)
		expectTensor(t, c.autoPad, got, want)
	}
	if got := eval1(t, "Conv", 11, attrs{"auto_pad": aString("SAME_UPPER"), "strides": strides}, x, w); !got.Shape.Equal(ir.Shape{1, 3, 4, 3}) {
		t.Errorf("SAME_UPPER output shape %v, want [1 3 4 3]", got.Shape)
	}
}

func TestConvCases(t *testing.T) {
	x := seqF32(ir.Shape{1, 1, 5, 5}, 0)
	ones := f32s(ir.Shape{1, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	runCases(t, []opCase{
		{name: "spec_basic_with_padding", op: "Conv", opset: 11,
			attrs: attrs{"kernel_shape": aInts(3, 3), "pads": aInts(1, 1, 1, 1)}, inputs: []*ir.Tensor{x, ones},
			want: []*ir.Tensor{f32s(ir.Shape{1, 1, 5, 5},
				12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84)}},
		{name: "spec_strides_asymmetric_padding", op: "Conv", opset: 11,
			attrs:  attrs{"pads": aInts(1, 0, 1, 0), "strides": aInts(2, 2)},
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 1, 7, 5}, 0), ones},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 4, 2}, 21, 33, 99, 117, 189, 207, 171, 183)}},
		{name: "bias_wrong_shape", op: "Conv", opset: 11,
			inputs:  []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 2}, 1, 2, 3, 4), f32s(ir.Shape{1, 2, 1, 1}, 10, 1), ir.Scalar(0.5)},
			wantErr: "B has shape"},
		{name: "pointwise_bias", op: "Conv", opset: 11,
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 2}, 1, 2, 3, 4), f32s(ir.Shape{1, 2, 1, 1}, 10, 1), f32s(ir.Shape{1}, 0.5)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 1, 2}, 13.5, 24.5)}},
		{name: "3d", op: "Conv", opset: 11,
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 1, 2, 2, 2}, 1), f32s(ir.Shape{1, 1, 2, 1, 1}, 1, 10)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 1, 2, 2}, 51, 62, 73, 84)}},
		{name: "x_rank2", op: "Conv", opset: 11, inputs: []*ir.Tensor{f32s(ir.Shape{1, 1}, 1), ones},
			wantErr: "N x C x"},
		{name: "w_rank", op: "Conv", opset: 11, inputs: []*ir.Tensor{x, f32s(ir.Shape{1, 1, 1}, 1)},
			wantErr: "rank 4"},
		{name: "channels", op: "Conv", opset: 11, attrs: attrs{"group": aInt(2)}, inputs: []*ir.Tensor{x, ones},
			wantErr: "does not fit group 2"},
		{name: "kernel_shape_mismatch", op: "Conv", opset: 11, attrs: attrs{"kernel_shape": aInts(2, 2)},
			inputs: []*ir.Tensor{x, ones}, wantErr: "kernel_shape"},
		{name: "missing_w", op: "Conv", opset: 11, inputs: []*ir.Tensor{x, nil}, wantErr: "missing required input 1 (W)"},
		{name: "int_input", op: "Conv", opset: 11, inputs: []*ir.Tensor{vec(1), ones}, wantErr: "must be f32"},
		{name: "bad_auto_pad", op: "Conv", opset: 11, attrs: attrs{"auto_pad": aString("SAME")},
			inputs: []*ir.Tensor{x, ones}, wantErr: "unsupported auto_pad"},
		{name: "zero_stride", op: "Conv", opset: 11, attrs: attrs{"strides": aInts(0, 1)},
			inputs: []*ir.Tensor{x, ones}, wantErr: "invalid window"},
	})
}

func TestPools(t *testing.T) {
	x4 := seqF32(ir.Shape{1, 1, 4, 4}, 1)
	x5 := seqF32(ir.Shape{1, 1, 5, 5}, 1)
	runCases(t, []opCase{
		{name: "max_spec_ceil", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(3, 3), "strides": aInts(2, 2), "ceil_mode": aInt(1)},
			inputs: []*ir.Tensor{x4}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 2}, 11, 12, 15, 16)}},
		{name: "max_floor", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(3, 3), "strides": aInts(2, 2)},
			inputs: []*ir.Tensor{x4}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 1, 1}, 11)}},
		{name: "max_ceil_last_window_starts_in_padding", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2), "strides": aInts(2), "pads": aInts(1, 1), "ceil_mode": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 3}, 1, 2, 3)}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 2}, 1, 3)}},
		{name: "max_ceil_ignored_before_10", op: "MaxPool", opset: 8,
			attrs:  attrs{"kernel_shape": aInts(3, 3), "strides": aInts(2, 2), "ceil_mode": aInt(1)},
			inputs: []*ir.Tensor{x4}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 1, 1}, 11)}},
		{name: "max_spec_pads", op: "MaxPool", opset: 12,
			attrs: attrs{"kernel_shape": aInts(5, 5), "pads": aInts(2, 2, 2, 2)}, inputs: []*ir.Tensor{x5},
			want: []*ir.Tensor{f32s(ir.Shape{1, 1, 5, 5},
				13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25)}},
		{name: "max_padding_never_wins", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2, 2), "pads": aInts(1, 1, 1, 1), "strides": aInts(2, 2)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 2}, -1, -2, -3, -4)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 2}, -1, -2, -3, -4)}},
		{name: "max_spec_dilations", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2, 2), "dilations": aInts(2, 2)},
			inputs: []*ir.Tensor{x4}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 2}, 11, 12, 15, 16)}},
		{name: "max_same_upper", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2, 2), "strides": aInts(2, 2), "auto_pad": aString("SAME_UPPER")},
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 1, 3, 3}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 2}, 5, 6, 8, 9)}},
		{name: "max_indices", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2, 2), "strides": aInts(2, 2)},
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 2, 2, 2}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 1}, 4, 8), i64s(ir.Shape{1, 2, 1, 1}, 3, 7)}},
		{name: "max_indices_column_major", op: "MaxPool", opset: 12,
			attrs:  attrs{"kernel_shape": aInts(2, 3), "storage_order": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 3}, 1, 2, 9, 3, 4, 5)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 1, 1}, 9), i64s(ir.Shape{1, 1, 1, 1}, 4)}},
		{name: "avg_exclude_pad", op: "AveragePool", opset: 11,
			attrs:  attrs{"kernel_shape": aInts(2), "pads": aInts(1, 1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 3}, 1, 2, 3)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 4}, 1, 1.5, 2.5, 3)}},
		{name: "avg_include_pad", op: "AveragePool", opset: 11,
			attrs:  attrs{"kernel_shape": aInts(2), "pads": aInts(1, 1), "count_include_pad": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 3}, 1, 2, 3)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 4}, 0.5, 1.5, 2.5, 1.5)}},
		{name: "avg_ceil_beyond_padding_not_counted", op: "AveragePool", opset: 11,
			attrs:  attrs{"kernel_shape": aInts(2), "strides": aInts(2), "ceil_mode": aInt(1), "count_include_pad": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 1, 5}, 1, 2, 3, 4, 5)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 1, 3}, 1.5, 3.5, 5)}},
		{name: "avg_2d", op: "AveragePool", opset: 11, attrs: attrs{"kernel_shape": aInts(2, 2)},
			inputs: []*ir.Tensor{x4}, want: []*ir.Tensor{f32s(ir.Shape{1, 1, 3, 3}, 3.5, 4.5, 5.5, 7.5, 8.5, 9.5, 11.5, 12.5, 13.5)}},
		{name: "global_average", op: "GlobalAveragePool", opset: 1,
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 2, 2, 2}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 1}, 2.5, 6.5)}},
		{name: "global_max", op: "GlobalMaxPool", opset: 1,
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 2, 3}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 1}, 3, 6)}},
		{name: "no_kernel_shape", op: "MaxPool", opset: 12, inputs: []*ir.Tensor{x4}, wantErr: "kernel_shape"},
		{name: "kernel_too_big", op: "MaxPool", opset: 12, attrs: attrs{"kernel_shape": aInts(5, 5)},
			inputs: []*ir.Tensor{x4}, wantErr: "smaller than the window"},
		{name: "kernel_rank", op: "AveragePool", opset: 11, attrs: attrs{"kernel_shape": aInts(2)},
			inputs: []*ir.Tensor{x4}, wantErr: "do not fit 2 spatial axes"},
	})
}

func TestBatchNormalization(t *testing.T) {
	x := f32s(ir.Shape{1, 2, 1, 2}, 1, 2, 3, 4)
	params := []*ir.Tensor{f32s(ir.Shape{2}, 1, 2), f32s(ir.Shape{2}, 0, 1), f32s(ir.Shape{2}, 1, 3), f32s(ir.Shape{2}, 3.5, 0.5)}
	runCases(t, []opCase{
		// channel 0: (x-1)/sqrt(3.5+0.5)*1+0; channel 1: (x-3)/sqrt(0.5+0.5)*2+1.
		{name: "epsilon", op: "BatchNormalization", opset: 15, attrs: attrs{"epsilon": aFloat(0.5)},
			inputs: append([]*ir.Tensor{x}, params...), want: []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 2}, 0, 0.5, 1, 3)}},
		{name: "param_size", op: "BatchNormalization", opset: 15,
			inputs:  []*ir.Tensor{x, params[0], params[1], params[2], f32s(ir.Shape{3}, 1, 1, 1)},
			wantErr: "input_var has shape [3]"},
		{name: "missing_var", op: "BatchNormalization", opset: 15,
			inputs: []*ir.Tensor{x, params[0], params[1], params[2]}, wantErr: "missing required input 4"},
		{name: "training", op: "BatchNormalization", opset: 15, attrs: attrs{"training_mode": aInt(1)},
			inputs: append([]*ir.Tensor{x}, params...), wantErr: "training_mode"},
	})
}

func TestSoftmax(t *testing.T) {
	zeros := f32s(ir.Shape{1, 2, 2}, 0, 0, 0, 0)
	ln3 := float32(math.Log(3))
	runCases(t, []opCase{
		{name: "opset11_coerces_2d", op: "Softmax", opset: 11, inputs: []*ir.Tensor{zeros},
			want: []*ir.Tensor{f32s(ir.Shape{1, 2, 2}, 0.25, 0.25, 0.25, 0.25)}},
		{name: "opset13_last_axis", op: "Softmax", opset: 13, inputs: []*ir.Tensor{zeros},
			want: []*ir.Tensor{f32s(ir.Shape{1, 2, 2}, 0.5, 0.5, 0.5, 0.5)}},
		{name: "opset13_axis1", op: "Softmax", opset: 13, attrs: attrs{"axis": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 2, 2}, 0, 0, ln3, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 2}, 0.25, 0.5, 0.75, 0.5)}},
		{name: "large_values", op: "Softmax", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1000, 1001)},
			want: []*ir.Tensor{f32s(ir.Shape{2}, float32(1/(1+math.E)), float32(math.E/(1+math.E)))}},
		{name: "log", op: "LogSoftmax", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 0, ln3)},
			want: []*ir.Tensor{f32s(ir.Shape{2}, float32(math.Log(0.25)), float32(math.Log(0.75)))}},
		{name: "bad_axis", op: "Softmax", opset: 13, attrs: attrs{"axis": aInt(3)},
			inputs: []*ir.Tensor{zeros}, wantErr: "out of range"},
	})
}

func TestReduce(t *testing.T) {
	x := f32s(ir.Shape{2, 2}, 1, 2, 3, 4)
	runCases(t, []opCase{
		{name: "mean_axis0", op: "ReduceMean", opset: 13, attrs: attrs{"axes": aInts(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{1, 2}, 2, 3)}},
		{name: "mean_all", op: "ReduceMean", opset: 13,
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{1, 1}, 2.5)}},
		{name: "mean_no_keepdims_negative", op: "ReduceMean", opset: 13,
			attrs:  attrs{"axes": aInts(-1), "keepdims": aInt(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{2}, 1.5, 3.5)}},
		{name: "mean_all_no_keepdims", op: "ReduceMean", opset: 13, attrs: attrs{"keepdims": aInt(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{ir.Scalar(2.5)}},
		{name: "mean_opset18_input", op: "ReduceMean", opset: 18,
			inputs: []*ir.Tensor{x, vec(1)}, want: []*ir.Tensor{f32s(ir.Shape{2, 1}, 1.5, 3.5)}},
		{name: "mean_opset18_attr_ignored", op: "ReduceMean", opset: 18, attrs: attrs{"axes": aInts(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{1, 1}, 2.5)}},
		{name: "mean_noop_empty_axes", op: "ReduceMean", opset: 18, attrs: attrs{"noop_with_empty_axes": aInt(1)},
			inputs: []*ir.Tensor{x, vec()}, want: []*ir.Tensor{x}},
		{name: "sum_opset13_input", op: "ReduceSum", opset: 13,
			inputs: []*ir.Tensor{x, vec(0)}, want: []*ir.Tensor{f32s(ir.Shape{1, 2}, 4, 6)}},
		{name: "max", op: "ReduceMax", opset: 13, attrs: attrs{"axes": aInts(1), "keepdims": aInt(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{2}, 2, 4)}},
		{name: "prod_int", op: "ReduceProd", opset: 13,
			inputs: []*ir.Tensor{vec(2, 3, 4)}, want: []*ir.Tensor{vec(24)}},
		{name: "mean_bad_axis", op: "ReduceMean", opset: 13, attrs: attrs{"axes": aInts(2)},
			inputs: []*ir.Tensor{x}, wantErr: "out of range"},
	})
}

// naiveMatMul multiplies a (m×k) by b (k×n), both row-major, in float64.
func naiveMatMul(a, b []float32, m, k, n int) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			acc := 0.0
			for p := 0; p < k; p++ {
				acc += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			c[i*n+j] = float32(acc)
		}
	}
	return c
}

func transposed(t *ir.Tensor) *ir.Tensor {
	rows, cols := t.Shape[0], t.Shape[1]
	out, _ := ir.NewTensor(ir.Float32, ir.Shape{cols, rows})
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out.F32[j*rows+i] = t.F32[i*cols+j]
		}
	}
	return out
}

// TestGemmAgainstNaive covers transA/transB, alpha, beta and C of every
// broadcastable shape, with sizes that cross the matmul's cache blocks.
func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 130, 600}, {33, 257, 65}, {8, 2048, 40}}
	for _, sz := range sizes {
		m, k, n := sz[0], sz[1], sz[2]
		a, b := randF32(r, ir.Shape{m, k}), randF32(r, ir.Shape{k, n})
		ab := naiveMatMul(a.F32, b.F32, m, k, n)
		cs := []*ir.Tensor{nil, ir.Scalar(2), randF32(r, ir.Shape{n}), randF32(r, ir.Shape{m, 1}), randF32(r, ir.Shape{m, n})}
		for ci, c := range cs {
			for _, trans := range [][2]int64{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				alpha, beta := float32(0.5+r.Float64()), float32(r.Float64()*2-1)
				ta, tb := a, b
				if trans[0] == 1 {
					ta = transposed(a)
				}
				if trans[1] == 1 {
					tb = transposed(b)
				}
				got := eval1(t, "Gemm", 13, attrs{"transA": aInt(trans[0]), "transB": aInt(trans[1]),
					"alpha": aFloat(alpha), "beta": aFloat(beta)}, ta, tb, c)
				want := f32s(ir.Shape{m, n}, make([]float32, m*n)...)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						v := float64(alpha) * float64(ab[i*n+j])
						if c != nil {
							v += float64(beta) * float64(c.F32[broadcastIndex(c.Shape, i, j)])
						}
						want.F32[i*n+j] = float32(v)
					}
				}
				expectTensorTol(t, fmt.Sprintf("m%d_k%d_n%d_c%d_trans%v", m, k, n, ci, trans), got, want, 1e-5)
			}
		}
	}
}

// broadcastIndex is the index of C (shape [], [n], [m,1] or [m,n]) read
// for output (i, j).
func broadcastIndex(c ir.Shape, i, j int) int {
	switch {
	case len(c) == 0:
		return 0
	case len(c) == 1:
		return j
	case c[1] == 1:
		return i
	}
	return i*c[1] + j
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := randF32(r, ir.Shape{2, 1, 2, 3})
	b := randF32(r, ir.Shape{4, 3, 5})
	got := eval1(t, "MatMul", 13, nil, a, b)
	if !got.Shape.Equal(ir.Shape{2, 4, 2, 5}) {
		t.Fatalf("batched shape %v, want [2 4 2 5]", got.Shape)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 4; j++ {
			want := naiveMatMul(a.F32[i*6:(i+1)*6], b.F32[j*15:(j+1)*15], 2, 3, 5)
			slice := got.F32[(i*4+j)*10 : (i*4+j+1)*10]
			for e := range want {
				if math.Abs(float64(slice[e]-want[e])) > 1e-5 {
					t.Fatalf("batch (%d,%d) element %d: %v, want %v", i, j, e, slice[e], want[e])
				}
			}
		}
	}
	runCases(t, []opCase{
		{name: "vector_vector", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 1, 2, 3), f32s(ir.Shape{3}, 4, 5, 6)}, want: []*ir.Tensor{ir.Scalar(32)}},
		{name: "matrix_vector", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{2, 3}, 1), f32s(ir.Shape{3}, 1, 0, -1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, -2, -2)}},
		{name: "vector_batched", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, 1), seqF32(ir.Shape{2, 2, 1}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 1}, 3, 7)}},
		{name: "inner_mismatch", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{2, 3}, 1), seqF32(ir.Shape{2, 3}, 1)}, wantErr: "inner dimensions"},
		{name: "batch_mismatch", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{2, 1, 1}, 1), seqF32(ir.Shape{3, 1, 1}, 1)}, wantErr: "cannot be broadcast"},
		{name: "scalar", op: "MatMul", opset: 13,
			inputs: []*ir.Tensor{ir.Scalar(1), ir.Scalar(1)}, wantErr: "rank >= 1"},
		{name: "gemm_rank", op: "Gemm", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{1, 2, 3}, 1), seqF32(ir.Shape{3, 1}, 1)}, wantErr: "rank 2"},
		{name: "gemm_c_shape", op: "Gemm", opset: 13,
			inputs:  []*ir.Tensor{seqF32(ir.Shape{2, 3}, 1), seqF32(ir.Shape{3, 4}, 1), seqF32(ir.Shape{3}, 1)},
			wantErr: "does not broadcast"},
	})
}
