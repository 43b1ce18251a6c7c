package main

import (
	"fmt"

	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// The corpus: TSM networks of many shapes, each as the planned layers the
// compiler makes of it (convolutions with their fused activation,
// residual and shift; MobileNetV2's chains, which the compiler fuses into
// blocks or not; the classifier), in widths, resolutions, frame counts,
// batches and strides the shared models do not cover.

// model is a network of the corpus.
type model struct {
	name   string
	groups []group
}

// group is a planned layer, or a chain of expansion, depthwise and
// projection that the compiler fuses into a block when its expanded
// tensor reaches Rules.BlockMinBytes and its frames Rules.BlockMinPixels
// output pixels, and runs as its stages otherwise.
type group struct {
	layer tunerun.Workload
	chain *chain
}

type chain struct {
	block    tunerun.Workload
	stages   []tunerun.Workload
	expanded int // bytes of the depthwise input
	pixels   int // output pixels of a frame
}

// builder collects a model's groups.
type builder struct {
	m        model
	frames   int
	segments int
	online   bool // shifts read a state buffer (one frame per call)
}

// shift returns the TSM shift of c channels: the first c/8 read the next
// frame and the next c/8 the previous one (mmaction2's), or online the
// first c/8 the previous frame's, from the state.
func (b *builder) shift(c int) *runtime.TemporalShift {
	fold := max(1, c/8)
	if b.online {
		return &runtime.TemporalShift{Segments: 1, Ranges: []runtime.ShiftRange{{Begin: 0, End: fold, Offset: -1}}}
	}
	return &runtime.TemporalShift{Segments: b.segments, Ranges: []runtime.ShiftRange{{Begin: 0, End: fold, Offset: 1}, {Begin: fold, End: 2 * fold, Offset: -1}}}
}

// conv adds a convolution of a k x k kernel over an h x w input and
// returns its output size.
func (b *builder) conv(cin, cout, h, w, k, stride int, act runtime.Act, residual, shifted bool) (int, int) {
	s := runtime.ConvShape{Frames: b.frames, Cin: cin, H: h, W: w, Cout: cout, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadTop: k / 2, PadLeft: k / 2, PadBottom: k / 2, PadRight: k / 2}.Normalized()
	wl := tunerun.Workload{Op: tunerun.OpConv, Shape: &s, Act: act.String(), Residual: residual}
	if shifted {
		wl.Shift, wl.State = b.shift(cin), b.online
	}
	b.m.groups = append(b.m.groups, group{layer: wl})
	return s.OutH(), s.OutW()
}

// dense adds the classifier.
func (b *builder) dense(in, out int) {
	b.m.groups = append(b.m.groups, group{layer: tunerun.Workload{Op: tunerun.OpDense,
		Dense: &tunerun.DenseShape{Batch: b.frames, In: in, Out: out}, Act: runtime.Act{}.String()}})
}

// chain adds MobileNetV2's chain: expand (a 1x1, or k x k of stride es
// for the stem; none when ce == 0), 3x3 depthwise of stride s, 1x1
// projection; it returns the output size.
func (b *builder) chain(cin, ce, cout, h, w, ek, es, s int, residual, shifted bool) (int, int) {
	relu6 := runtime.Clip(0, 6)
	c := &chain{}
	var expand *runtime.ConvShape
	dwIn, dh, dw := cin, h, w
	if ce > 0 {
		e := runtime.ConvShape{Frames: b.frames, Cin: cin, H: h, W: w, Cout: ce, KH: ek, KW: ek, StrideH: es, StrideW: es,
			PadTop: ek / 2, PadLeft: ek / 2, PadBottom: ek / 2, PadRight: ek / 2}.Normalized()
		expand = &e
		ew := tunerun.Workload{Op: tunerun.OpConv, Shape: &e, Act: relu6.String()}
		if shifted {
			ew.Shift, ew.State = b.shift(cin), b.online
		}
		c.stages = append(c.stages, ew)
		dwIn, dh, dw = ce, e.OutH(), e.OutW()
	}
	d := runtime.ConvShape{Frames: b.frames, Cin: dwIn, H: dh, W: dw, Cout: dwIn, Group: dwIn, KH: 3, KW: 3, StrideH: s, StrideW: s,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}.Normalized()
	dwl := tunerun.Workload{Op: tunerun.OpDepthwise, Shape: &d, Act: relu6.String()}
	if shifted && ce == 0 {
		dwl.Shift, dwl.State = b.shift(dwIn), b.online
	}
	c.stages = append(c.stages, dwl)
	p := runtime.ConvShape{Frames: b.frames, Cin: dwIn, H: d.OutH(), W: d.OutW(), Cout: cout, KH: 1, KW: 1}.Normalized()
	c.stages = append(c.stages, tunerun.Workload{Op: tunerun.OpConv, Shape: &p, Act: runtime.Act{}.String(), Residual: residual})
	c.expanded = 4 * d.InLen()
	c.pixels = d.OutH() * d.OutW()
	acts := runtime.Act{}.String()
	if expand != nil {
		acts = relu6.String()
	}
	c.block = tunerun.Workload{Op: tunerun.OpBlock, Expand: expand, Shape: &d, Project: &p,
		Act: acts + ";" + relu6.String() + ";" + runtime.Act{}.String(), Residual: residual}
	if shifted {
		c.block.Shift, c.block.State = b.shift(cin), b.online
	}
	if runtime.CheckInvertedResidual(expand, d, &p) != nil {
		// not a block the runtime fuses: its stages
		for _, st := range c.stages {
			b.m.groups = append(b.m.groups, group{layer: st})
		}
	} else {
		b.m.groups = append(b.m.groups, group{chain: c})
	}
	return p.OutH(), p.OutW()
}

// resnet is a TSM ResNet (BasicBlock when basic, else Bottleneck) with
// the shift in each block's first convolution (TSM's blockres).
func resnet(name string, basic bool, depths, widths []int, clips, segments, size int) model {
	b := &builder{m: model{name: name}, frames: clips * segments, segments: segments}
	h, w := b.conv(3, widths[0], size, size, 7, 2, runtime.Relu, false, false)
	h, w = (h-1)/2+1, (w-1)/2+1 // the 3x3 stride-2 max pool
	cin := widths[0]
	for i, planes := range widths {
		for j := range depths[i] {
			stride := 1
			if i > 0 && j == 0 {
				stride = 2
			}
			cout := planes
			if !basic {
				cout = 4 * planes
			}
			if stride != 1 || cin != cout {
				b.conv(cin, cout, h, w, 1, stride, runtime.Act{}, false, false)
			}
			if basic {
				oh, ow := b.conv(cin, planes, h, w, 3, stride, runtime.Relu, false, true)
				h, w = b.conv(planes, planes, oh, ow, 3, 1, runtime.Relu, true, false)
			} else {
				b.conv(cin, planes, h, w, 1, 1, runtime.Relu, false, true)
				oh, ow := b.conv(planes, planes, h, w, 3, stride, runtime.Relu, false, false)
				h, w = b.conv(planes, cout, oh, ow, 1, 1, runtime.Relu, true, false)
			}
			cin = cout
		}
	}
	b.dense(cin, 400)
	return b.m
}

// mobilenetV2 is a TSM MobileNetV2 (the shift in the expansion of every
// residual block); online, one frame per call with the online demo's
// shifts and states.
func mobilenetV2(name string, clips, segments, size int, online bool) model {
	b := &builder{m: model{name: name}, frames: clips * segments, segments: segments, online: online}
	settings := [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}
	onlineShifts := map[int]bool{2: true, 4: true, 5: true, 7: true, 8: true, 9: true, 11: true, 12: true, 14: true, 15: true}
	// the stem (3x3 stride 2) is the first chain's expansion
	h, w := b.chain(3, 32, 16, size, size, 3, 2, 1, false, false)
	cin, k := 16, 1
	for _, st := range settings[1:] {
		t, c, n, s := st[0], st[1], st[2], st[3]
		for i := range n {
			stride := 1
			if i == 0 {
				stride = s
			}
			residual := stride == 1 && cin == c
			shifted := residual
			if online {
				shifted = onlineShifts[k]
			}
			h, w = b.chain(cin, cin*t, c, h, w, 1, 1, stride, residual, shifted)
			cin, k = c, k+1
		}
	}
	b.conv(cin, 1280, h, w, 1, 1, runtime.Clip(0, 6), false, false)
	b.dense(1280, 400)
	return b.m
}

// corpus returns the corpus; quick keeps one configuration per family.
func corpus(quick bool) []model {
	var ms []model
	type clip struct{ clips, segments int }
	resnet18 := []struct {
		widths []int
		sizes  []int
		clips  []clip
	}{
		{[]int{64, 128, 256, 512}, []int{96, 112, 160, 224}, []clip{{1, 8}, {2, 8}, {1, 16}}},
		{[]int{32, 64, 128, 256}, []int{96, 112, 160}, []clip{{1, 8}, {1, 16}}},
	}
	for _, r := range resnet18 {
		for _, size := range r.sizes {
			for _, c := range r.clips {
				ms = append(ms, resnet(fmt.Sprintf("resnet18-w%d-%d-%dx%d", r.widths[0], size, c.clips, c.segments), true,
					[]int{2, 2, 2, 2}, r.widths, c.clips, c.segments, size))
				if quick {
					break
				}
			}
			if quick {
				break
			}
		}
	}
	for _, size := range []int{160, 224} {
		ms = append(ms, resnet(fmt.Sprintf("resnet50-%d-1x8", size), false, []int{3, 4, 6, 3}, []int{64, 128, 256, 512}, 1, 8, size))
		if quick {
			break
		}
	}
	for _, size := range []int{112, 160, 224} {
		for _, c := range []clip{{1, 8}, {4, 8}} {
			ms = append(ms, mobilenetV2(fmt.Sprintf("mobilenetv2-%d-%dx%d", size, c.clips, c.segments), c.clips, c.segments, size, false))
			if quick {
				break
			}
		}
		if quick {
			break
		}
	}
	for _, size := range []int{160, 224} {
		ms = append(ms, mobilenetV2(fmt.Sprintf("mobilenetv2-online-%d", size), 1, 1, size, true))
		if quick {
			break
		}
	}
	return ms
}
