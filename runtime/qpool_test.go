package runtime

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// qmaxPoolRef is MaxPool over uint8 planes written from the ONNX
// definition: the largest input under the dilated window, padding left
// out.
func qmaxPoolRef(s PoolShape, x []uint8) []uint8 {
	s = s.normalized()
	oh, ow := s.OutH(), s.OutW()
	out := make([]uint8, s.Planes*oh*ow)
	for c := range s.Planes {
		for oy := range oh {
			for ox := range ow {
				v := -1
				for ky := range s.KH {
					for kx := range s.KW {
						y, xx := oy*s.StrideH-s.PadTop+ky*s.DilationH, ox*s.StrideW-s.PadLeft+kx*s.DilationW
						if y >= 0 && y < s.H && xx >= 0 && xx < s.W {
							v = max(v, int(x[(c*s.H+y)*s.W+xx]))
						}
					}
				}
				out[(c*oh+oy)*ow+ox] = uint8(v)
			}
		}
	}
	return out
}

// qavgPoolRef is onnxruntime's QLinearAveragePool on x86 written out:
// the global path (the window is the plane, no padding) in integers, the
// others in float32.
func qavgPoolRef(s PoolShape, include bool, x []uint8, inScale float32, inZero uint8, outScale float32, outZero uint8) []uint8 {
	s = s.normalized()
	oh, ow := s.OutH(), s.OutW()
	out := make([]uint8, s.Planes*oh*ow)
	global := s.KH == s.H && s.KW == s.W && s.PadTop+s.PadLeft+s.PadBottom+s.PadRight == 0
	for c := range s.Planes {
		plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
		if global {
			n := int32(len(plane))
			acc := -int32(inZero) * n
			for _, v := range plane {
				acc += int32(v)
			}
			scale := inScale / float32(outScale*float32(n))
			q := int32(math.RoundToEven(float64(float32(acc)*scale))) + int32(outZero)
			out[c] = uint8(min(max(q, 0), 255))
			continue
		}
		for oy := range oh {
			hs := oy*s.StrideH - s.PadTop
			he := min(hs+s.KH, s.H)
			hs = max(hs, 0)
			for ox := range ow {
				ws := ox*s.StrideW - s.PadLeft
				we := min(ws+s.KW, s.W)
				ws = max(ws, 0)
				var sum float32
				for h := hs; h < he; h++ {
					for w := ws; w < we; w++ {
						sum += float32(inScale * float32(int32(plane[h*s.W+w])-int32(inZero)))
					}
				}
				n := (he - hs) * (we - ws)
				if include {
					n = s.KH * s.KW
				}
				y := sum / float32(n)
				q := math.RoundToEven(float64(float32(y/outScale) + float32(outZero)))
				out[(c*oh+oy)*ow+ox] = uint8(min(max(q, 0), 255))
			}
		}
	}
	return out
}

func qpoolShapes() []PoolShape {
	return []PoolShape{
		{Planes: 3, H: 12, W: 11, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 8, W: 8, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{Planes: 2, H: 7, W: 9, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadTop: 1, PadRight: 1, CeilMode: true},
		{Planes: 4, H: 7, W: 7, KH: 7, KW: 7},
		{Planes: 3, H: 1, W: 1, KH: 1, KW: 1},
		{Planes: 2, H: 5, W: 6, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{Planes: 2, H: 10, W: 10, KH: 3, KW: 3, DilationH: 2, DilationW: 3, PadTop: 1, PadLeft: 2},
		{Planes: 5, H: 23, W: 29, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 9, W: 1100, KH: 2, KW: 3, StrideH: 1, StrideW: 1},
		// 2x2 stride 2 inside the plane (pool2x2): odd sizes drop the last
		// row and column, many planes per work item, a non-local block's
		{Planes: 7, H: 9, W: 11, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{Planes: 300, H: 14, W: 14, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{Planes: 3, H: 1, W: 6, KH: 1, KW: 2, StrideH: 1, StrideW: 2},
		// ceil mode with a partial last window: not pool2x2
		{Planes: 2, H: 9, W: 11, KH: 2, KW: 2, StrideH: 2, StrideW: 2, CeilMode: true},
	}
}

// maxU8x8 against the bytewise maximum, on random words and on words of
// the byte pairs that decide it (equal, top bits equal, differing by 1).
func TestMaxU8x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	edges := []uint8{0, 1, 0x7f, 0x80, 0x81, 0xfe, 0xff}
	for k := range 200000 {
		var a, b [8]uint8
		for i := range a {
			if k%2 == 0 {
				a[i], b[i] = edges[rng.IntN(len(edges))], edges[rng.IntN(len(edges))]
			} else {
				a[i], b[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
		}
		got := maxU8x8(binary.LittleEndian.Uint64(a[:]), binary.LittleEndian.Uint64(b[:]))
		for i := range a {
			if w := max(a[i], b[i]); uint8(got>>(8*i)) != w {
				t.Fatalf("max(%v, %v) byte %d = %d, want %d", a, b, i, uint8(got>>(8*i)), w)
			}
		}
	}
}

func TestQMaxPool(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for i, s := range qpoolShapes() {
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		x := make([]uint8, s.Planes*s.H*s.W)
		for j := range x {
			x[j] = uint8(rng.IntN(256))
		}
		m, err := NewQMaxPool(s)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]uint8, s.Planes*m.oh*m.ow)
		m.Run(p, x, got)
		if j := firstByteDiff(got, qmaxPoolRef(s, x)); j >= 0 {
			t.Errorf("%+v: output %d differs", s, j)
		}
	}
	if _, err := NewQMaxPool(PoolShape{Planes: 1, H: 2, W: 2, KH: 3, KW: 3}); err == nil {
		t.Error("a window larger than the input was accepted")
	}
}

func TestQAvgPool(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	n := 0
	for i, s := range qpoolShapes() {
		if s.DilationH > 1 {
			if _, err := NewQAvgPool(s, false, 0.1, 0, 0.1, 0); err == nil {
				t.Errorf("%+v: a dilated average pooling was accepted", s)
			}
			continue
		}
		for _, include := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			x := make([]uint8, s.Planes*s.H*s.W)
			for j := range x {
				x[j] = uint8(rng.IntN(256))
			}
			inScale, outScale := float32(0.01+0.1*rng.Float64()), float32(0.005+0.1*rng.Float64())
			inZero, outZero := uint8(rng.IntN(256)), uint8(rng.IntN(256))
			a, err := NewQAvgPool(s, include, inScale, inZero, outScale, outZero)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]uint8, s.Planes*a.oh*a.ow)
			a.Run(p, x, got)
			if j := firstByteDiff(got, qavgPoolRef(s, include, x, inScale, inZero, outScale, outZero)); j >= 0 {
				t.Errorf("%+v, include pad %v: output %d differs", s, include, j)
			}
			n++
		}
	}
	// ties: the average of 1 and 2 (1.5) at scale 1, zero 0, rounds to 2;
	// of 2 and 3 (2.5) to 2
	s := PoolShape{Planes: 2, H: 1, W: 2, KH: 1, KW: 2}
	a, err := NewQAvgPool(s, false, 1, 0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint8, 2)
	a.Run(p, []uint8{1, 2, 2, 3}, out)
	if out[0] != 2 || out[1] != 2 {
		t.Errorf("global averages of (1,2) and (2,3): %v, want [2 2]", out)
	}
	if _, err := NewQAvgPool(s, false, 0, 0, 1, 0); err == nil {
		t.Error("a zero input scale was accepted")
	}
	t.Logf("%d poolings", n)
}

// TestQMaxPoolRowKernel runs 3x3 stride-2 pools through the row kernel
// in use against the reference over widths across the kernel's 32-output
// and 64-input blocks, heights, the top, bottom and right padding, and
// bytes at both ends of the range.
func TestQMaxPoolRowKernel(t *testing.T) {
	if qmaxPoolRow == nil {
		t.Skipf("no uint8 max-pool row kernel at level %s", isa)
	}
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(6, 6))
	n := 0
	for w := 1; w <= 140; w++ {
		for _, h := range []int{1, 2, 3, 4, 7, 10, 23} {
			for _, pads := range [][3]int{{1, 1, 1}, {0, 0, 0}, {1, 0, 1}, {0, 1, 0}} {
				s := PoolShape{Planes: 2, H: h, W: w, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
					PadTop: pads[0], PadLeft: 1, PadBottom: pads[1], PadRight: pads[2]}
				if s.normalized().OutH() <= 0 || s.normalized().OutW() <= 0 {
					continue
				}
				m, err := NewQMaxPool(s)
				if err != nil {
					t.Fatal(err)
				}
				if !m.rows3x3s2 {
					t.Fatalf("%+v does not take the row kernel", s)
				}
				x := make([]uint8, s.Planes*h*w)
				for j := range x {
					x[j] = []uint8{0, 255, uint8(rng.IntN(256))}[rng.IntN(3)]
				}
				got := make([]uint8, s.Planes*m.oh*m.ow+7)
				m.Run(p, x, got[:s.Planes*m.oh*m.ow])
				if j := firstByteDiff(got[:s.Planes*m.oh*m.ow], qmaxPoolRef(s, x)); j >= 0 {
					t.Fatalf("%+v: output %d differs", s, j)
				}
				for _, b := range got[s.Planes*m.oh*m.ow:] {
					if b != 0 {
						t.Fatalf("%+v: wrote past the output", s)
					}
				}
				n++
			}
		}
	}
	t.Logf("%d shapes", n)
}
