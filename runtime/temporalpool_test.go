package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// TestTemporalMaxPool checks the kernel against the interpreter's 1-D
// MaxPool over time: the frames transposed to [clip][position][frame].
func TestTemporalMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	shapes := []TemporalPoolShape{
		{Clips: 1, Frames: 8, FrameSize: 8 * 4 * 4, Kernel: 3, Stride: 2, PadBegin: 1, PadEnd: 1}, // the official temporal_pool
		{Clips: 2, Frames: 16, FrameSize: 3, Kernel: 3, Stride: 2, PadBegin: 1, PadEnd: 1},
		{Clips: 3, Frames: 5, FrameSize: ewChunk + 17, Kernel: 2, Stride: 2},
		{Clips: 1, Frames: 4, FrameSize: 7, Kernel: 4, Stride: 1, PadBegin: 3, PadEnd: 0},
		{Clips: 2, Frames: 1, FrameSize: 5, Kernel: 1, Stride: 1},
		{Clips: 0, Frames: 4, FrameSize: 5, Kernel: 2, Stride: 2},
	}
	for range 20 {
		k := 1 + rng.IntN(4)
		shapes = append(shapes, TemporalPoolShape{Clips: 1 + rng.IntN(3), Frames: k + rng.IntN(9), FrameSize: 1 + rng.IntN(40),
			Kernel: k, Stride: 1 + rng.IntN(3), PadBegin: rng.IntN(k), PadEnd: rng.IntN(k)})
	}
	for _, s := range shapes {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		x := randFloats(rng, s.Clips*s.Frames*s.FrameSize)
		// [clip][position][frame] for the interpreter's MaxPool.
		xt := make([]float32, len(x))
		for c := range s.Clips {
			for f := range s.Frames {
				for i := range s.FrameSize {
					xt[(c*s.FrameSize+i)*s.Frames+f] = x[(c*s.Frames+f)*s.FrameSize+i]
				}
			}
		}
		want := interpEval(t, "MaxPool", map[string]ir.Attr{"kernel_shape": attrInts(s.Kernel), "strides": attrInts(s.Stride),
			"pads": attrInts(s.PadBegin, s.PadEnd)}, tensorF32([]int{s.Clips, s.FrameSize, s.Frames}, xt))
		tOut := s.Out()
		if want.Shape[2] != tOut {
			t.Fatalf("%v: the interpreter gives %d frames, Out %d", s, want.Shape[2], tOut)
		}
		for _, threads := range []int{1, 2, 3} {
			p := NewPool(threads)
			out := nanFloats(rng, s.Clips*tOut*s.FrameSize)
			TemporalMaxPool(p, s, x, out)
			p.Close()
			for c := range s.Clips {
				for u := range tOut {
					for i := range s.FrameSize {
						got, w := out[(c*tOut+u)*s.FrameSize+i], want.F32[(c*s.FrameSize+i)*tOut+u]
						if got != w {
							t.Fatalf("%v, %d threads: clip %d frame %d element %d is %v, want %v", s, threads, c, u, i, got, w)
						}
					}
				}
			}
		}
	}
	for _, bad := range []TemporalPoolShape{
		{Clips: 1, Frames: 8, FrameSize: 4, Kernel: 3, Stride: 2, PadBegin: 3},
		{Clips: 1, Frames: 2, FrameSize: 4, Kernel: 3, Stride: 1},
		{Clips: 1, Frames: 8, FrameSize: 4, Kernel: 0, Stride: 1},
		{Clips: 1, Frames: 8, FrameSize: 4, Kernel: 2, Stride: 0},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// BenchmarkTemporalMaxPool pools ResNet50's layer1 output (8 frames of
// 256x56x56) to 4 frames, as the official code's temporal pool does.
func BenchmarkTemporalMaxPool(b *testing.B) {
	s := TemporalPoolShape{Clips: 1, Frames: 8, FrameSize: 256 * 56 * 56, Kernel: 3, Stride: 2, PadBegin: 1, PadEnd: 1}
	rng := rand.New(rand.NewPCG(5, 8))
	x, out := randFloats(rng, s.Frames*s.FrameSize), make([]float32, s.Out()*s.FrameSize)
	benchRun(b, 1, temporalPoolOp(s).profileFLOPs(), func(p *Pool) { TemporalMaxPool(p, s, x, out) })
}
