package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// randPoolShape draws a pooling of 1 to 3 spatial axes: kernels 1 to 4,
// strides 1 to 3, dilations 1 or 2, pads up to the kernel (windows of
// padding only included), ceil mode, and 1 to 6 planes.
func randPoolShape(rng *rand.Rand) (PoolNdShape, int, int) {
	r := 1 + rng.IntN(3)
	n, c := 1+rng.IntN(2), 1+rng.IntN(3)
	s := PoolNdShape{Planes: n * c, CeilMode: rng.IntN(2) == 1}
	for {
		s.In, s.Kernel, s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd = nil, nil, nil, nil, nil, nil
		for range r {
			k := 1 + rng.IntN(4)
			s.Kernel = append(s.Kernel, k)
			s.In = append(s.In, 1+rng.IntN(12))
			s.Strides = append(s.Strides, 1+rng.IntN(3))
			s.Dilations = append(s.Dilations, 1+rng.IntN(2))
			s.PadsBegin = append(s.PadsBegin, rng.IntN(k+1))
			s.PadsEnd = append(s.PadsEnd, rng.IntN(k+1))
		}
		if rng.IntN(4) == 0 { // no lists: the defaults
			s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd = nil, nil, nil, nil
		}
		if s.Validate() == nil {
			return s, n, c
		}
	}
}

// poolAttrs are the interpreter's attributes of s.
func poolAttrs(s PoolNdShape) map[string]ir.Attr {
	r := len(s.In)
	get := func(v []int, def int) []int {
		if v == nil {
			v = make([]int, r)
			for i := range v {
				v[i] = def
			}
		}
		return v
	}
	return map[string]ir.Attr{
		"kernel_shape": attrInts(s.Kernel...),
		"strides":      attrInts(get(s.Strides, 1)...),
		"dilations":    attrInts(get(s.Dilations, 1)...),
		"pads":         attrInts(append(get(s.PadsBegin, 0), get(s.PadsEnd, 0)...)...),
		"ceil_mode":    attrBool(s.CeilMode),
	}
}

// poolCases are drawn shapes plus ones that must be covered: the temporal
// max pool of TSM (3,1,1) stride (2,1,1), 2-D shapes MaxPool takes, and
// large planes.
func poolCases() []PoolNdShape {
	rng := rand.New(rand.NewPCG(31, 5))
	cases := []PoolNdShape{
		{Planes: 2 * 64, In: []int{8, 14, 14}, Kernel: []int{3, 1, 1}, Strides: []int{2, 1, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{1, 0, 0}},
		{Planes: 3, In: []int{9, 10}, Kernel: []int{3, 3}, Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}},
		{Planes: 2, In: []int{11, 13}, Kernel: []int{2, 3}, Strides: []int{1, 2}, CeilMode: true},
		{Planes: 1, In: []int{200, 210}, Kernel: []int{3, 3}, Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}},
		{Planes: 5, In: []int{70}, Kernel: []int{4}, Strides: []int{3}, Dilations: []int{2}, PadsBegin: []int{2}, PadsEnd: []int{3}, CeilMode: true},
		{Planes: 2, In: []int{3}, Kernel: []int{2}, Dilations: []int{5}, PadsBegin: []int{2}, PadsEnd: []int{1}}, // a window of padding only
	}
	for range 150 {
		s, _, _ := randPoolShape(rng)
		cases = append(cases, s)
	}
	return cases
}

// poolInput returns the case's input as N x C x In with N = 1.
func poolInput(rng *rand.Rand, s PoolNdShape) ([]float32, *ir.Tensor) {
	x := randOffsetFloats(rng, s.Planes*shapeProduct(s.In))
	return x, tensorF32(append([]int{1, s.Planes}, s.In...), x)
}

func TestMaxPoolNd(t *testing.T) {
	paths := map[string]int{}
	for ci, s := range poolCases() {
		rng := rand.New(rand.NewPCG(uint64(ci), 17))
		x, xT := poolInput(rng, s)
		want := interpEval(t, "MaxPool", poolAttrs(s), xT)
		for _, fast := range []bool{true, false} {
			m, err := newMaxPoolNd(s, fast)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			if m.mp != nil {
				paths["MaxPool"]++
			} else if len(s.In) == 2 {
				paths["2-D generic"]++
			}
			if slices := m.pl.axes; slices[0].emptyTaps || slices[len(slices)-1].emptyTaps {
				paths["empty windows"]++
			}
			// a max is exact: bit for bit the interpreter's
			for _, threads := range []int{1, 2} {
				p := NewPool(threads)
				out := nanFloats(rng, len(want.F32))
				m.Run(p, x, out)
				p.Close()
				if !floatcmp.SameBits(out, want.F32) {
					t.Errorf("%v fast=%v threads=%d: differs from the interpreter at %d", s, fast, threads, firstDiff(out, want.F32))
				}
			}
		}
	}
	for _, p := range []string{"MaxPool", "2-D generic", "empty windows"} {
		if paths[p] == 0 {
			t.Errorf("no case ran %s", p)
		}
	}
}

func TestAveragePoolNd(t *testing.T) {
	for ci, s := range poolCases() {
		for _, countPad := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(ci), 19))
			x, xT := poolInput(rng, s)
			attrs := poolAttrs(s)
			attrs["count_include_pad"] = attrBool(countPad)
			want := interpEval(t, "AveragePool", attrs, xT)
			a, err := NewAveragePoolNd(s, countPad)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			checkOracle(t, fmt.Sprintf("%v/count_include_pad=%v", s, countPad), want, func(p *Pool) []float32 {
				out := nanFloats(rng, len(want.F32))
				a.Run(p, x, out)
				return out
			})
		}
	}
}

// TestAveragePoolCeilPadding pins the rule for windows reaching past the
// end padding in ceil mode, by hand: input 1..6, kernel 3, stride 2,
// pads 1 and 1, ceil mode. The last window covers index 5, the end pad
// (6) and the ceil-mode extension (7), which count_include_pad does not
// count: 6/2, not 6/3.
func TestAveragePoolCeilPadding(t *testing.T) {
	s := PoolNdShape{Planes: 1, In: []int{6}, Kernel: []int{3}, Strides: []int{2}, PadsBegin: []int{1}, PadsEnd: []int{1}, CeilMode: true}
	x := []float32{1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		countPad bool
		want     []float32
	}{
		{false, []float32{1.5, 3, 5, 6}},
		{true, []float32{1, 3, 5, 3}},
	} {
		a, err := NewAveragePoolNd(s, c.countPad)
		if err != nil {
			t.Fatal(err)
		}
		p := NewPool(1)
		out := make([]float32, 4)
		a.Run(p, x, out)
		p.Close()
		attrs := poolAttrs(s)
		attrs["count_include_pad"] = attrBool(c.countPad)
		interp := interpEval(t, "AveragePool", attrs, tensorF32([]int{1, 1, 6}, x))
		if !floatcmp.SameBits(out, c.want) || !floatcmp.SameBits(interp.F32, c.want) {
			t.Errorf("count_include_pad=%v: got %v, the interpreter %v, want %v", c.countPad, out, interp.F32, c.want)
		}
	}
}

func TestPoolNdErrors(t *testing.T) {
	for _, s := range []PoolNdShape{
		{Planes: 1},
		{Planes: 1, In: []int{4, 4}, Kernel: []int{2}},
		{Planes: 1, In: []int{4}, Kernel: []int{5}},
		{Planes: 1, In: []int{4}, Kernel: []int{2}, Strides: []int{-1}},
		{Planes: 1, In: []int{4}, Kernel: []int{2}, PadsBegin: []int{-1}},
		{Planes: 1, In: []int{4}, Kernel: []int{2}, PadsEnd: []int{1, 1}},
		{Planes: -1, In: []int{4}, Kernel: []int{2}},
		{Planes: 1, In: []int{0}, Kernel: []int{1}},
	} {
		if _, err := NewMaxPoolNd(s); err == nil {
			t.Errorf("max %v: no error", s)
		}
		if _, err := NewAveragePoolNd(s, false); err == nil {
			t.Errorf("average %v: no error", s)
		}
	}
}

func TestGlobalMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, shape := range [][]int{{1, 1, 1}, {2, 3, 7}, {2, 5, 4, 9}, {1, 300, 7, 7}, {1, 2, 3, 4, 5}, {1, 3, 40000}} {
		x := randOffsetFloats(rng, shapeProduct(shape))
		want := interpEval(t, "GlobalMaxPool", nil, tensorF32(shape, x))
		planes, size := shape[0]*shape[1], shapeProduct(shape[2:])
		for _, threads := range []int{1, 2} {
			p := NewPool(threads)
			out := nanFloats(rng, planes)
			GlobalMaxPool(p, x, out, planes, size)
			p.Close()
			if !floatcmp.SameBits(out, want.F32) {
				t.Errorf("%v threads=%d: got %v, want %v", shape, threads, out, want.F32)
			}
		}
	}
}

// BenchmarkPoolNd runs the temporal max pool of TSM's temporal_pool
// (ResNet50 after layer1: 256 channels, 8 -> 4 frames of 56x56), a 3-D
// average pool head (2048 x 4 x 7 x 7 -> 1), and ResNet's 2-D stem max
// pool both on MaxPool and on the generic passes.
func BenchmarkPoolNd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 4))
	stem := PoolNdShape{Planes: 64, In: []int{112, 112}, Kernel: []int{3, 3}, Strides: []int{2, 2}, PadsBegin: []int{1, 1}, PadsEnd: []int{1, 1}}
	for _, c := range []struct {
		name    string
		s       PoolNdShape
		average bool
		fast    bool
	}{
		{"temporal_max_3x1x1s2", PoolNdShape{Planes: 256, In: []int{8, 56, 56}, Kernel: []int{3, 1, 1}, Strides: []int{2, 1, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{1, 0, 0}}, false, true},
		{"average_head_4x7x7", PoolNdShape{Planes: 2048, In: []int{4, 7, 7}, Kernel: []int{4, 7, 7}}, true, false},
		{"stem_max_3x3s2/MaxPool", stem, false, true},
		{"stem_max_3x3s2/generic", stem, false, false},
	} {
		var run func(p *Pool, x, out []float32)
		if c.average {
			a, err := NewAveragePoolNd(c.s, false)
			if err != nil {
				b.Fatal(err)
			}
			run = a.Run
		} else {
			m, err := newMaxPoolNd(c.s, c.fast)
			if err != nil {
				b.Fatal(err)
			}
			run = m.Run
		}
		x, out := randFloats(rng, c.s.Planes*shapeProduct(c.s.In)), make([]float32, c.s.Planes*shapeProduct(c.s.Out()))
		b.Run(c.name, func(b *testing.B) {
			benchRun(b, 1, float64(len(x)), func(p *Pool) { run(p, x, out) })
		})
	}
}
