package runtime

import "fmt"

// TemporalPoolShape is max pooling over time of clips of Frames frames of
// FrameSize floats each (tsmc.TemporalPool): output frame u of a clip is
// the elementwise maximum of the input frames in [u*Stride-PadBegin,
// u*Stride-PadBegin+Kernel) that exist.
type TemporalPoolShape struct {
	Clips, Frames, FrameSize int
	Kernel, Stride           int
	PadBegin, PadEnd         int
}

// Out is the number of output frames per clip.
func (s TemporalPoolShape) Out() int {
	return (s.Frames+s.PadBegin+s.PadEnd-s.Kernel)/s.Stride + 1
}

func (s TemporalPoolShape) String() string {
	return fmt.Sprintf("temporal max pool %dx%d frames of %d, kernel %d, stride %d, pads %d,%d",
		s.Clips, s.Frames, s.FrameSize, s.Kernel, s.Stride, s.PadBegin, s.PadEnd)
}

// Validate reports shapes TemporalMaxPool cannot run: every window must
// hold at least one frame, so pads are smaller than the kernel.
func (s TemporalPoolShape) Validate() error {
	if s.Clips < 0 || s.Frames <= 0 || s.FrameSize < 0 || s.Kernel <= 0 || s.Stride <= 0 ||
		s.PadBegin < 0 || s.PadEnd < 0 || s.PadBegin >= s.Kernel || s.PadEnd >= s.Kernel || s.Frames+s.PadBegin+s.PadEnd < s.Kernel {
		return fmt.Errorf("%v: want positive sizes and pads smaller than the kernel", s)
	}
	if _, err := shapeSize([]int{s.Clips, s.Frames, s.FrameSize}); err != nil {
		return fmt.Errorf("%v: %w", s, err)
	}
	return nil
}

// temporalPoolOp names the kernel in profiles.
type temporalPoolOp TemporalPoolShape

func (s temporalPoolOp) profileName() string { return TemporalPoolShape(s).String() }
func (s temporalPoolOp) profileFLOPs() float64 {
	return float64(s.Clips * TemporalPoolShape(s).Out() * s.Kernel * s.FrameSize)
}

// TemporalMaxPool pools x [Clips*Frames][FrameSize] into out
// [Clips*Out()][FrameSize]. s must be valid.
func TemporalMaxPool(p *Pool, s TemporalPoolShape, x, out []float32) {
	defer profileDone(temporalPoolOp(s), profileStart())
	tOut := s.Out()
	checkLen("temporal max pool", "x", len(x), s.Clips*s.Frames*s.FrameSize)
	checkLen("temporal max pool", "out", len(out), s.Clips*tOut*s.FrameSize)
	if s.FrameSize == 0 {
		return
	}
	chunks := ceilDiv(s.FrameSize, ewChunk)
	p.For(s.Clips*tOut*chunks, func(_, item int) {
		frame, chunk := item/chunks, item%chunks
		c, u := frame/tOut, frame%tOut
		i0, i1 := chunk*ewChunk, min(s.FrameSize, (chunk+1)*ewChunk)
		dst := out[frame*s.FrameSize+i0 : frame*s.FrameSize+i1]
		first := max(0, u*s.Stride-s.PadBegin)
		last := min(s.Frames, u*s.Stride-s.PadBegin+s.Kernel)
		copy(dst, x[(c*s.Frames+first)*s.FrameSize+i0:])
		for t := first + 1; t < last; t++ {
			src := x[(c*s.Frames+t)*s.FrameSize+i0:][:len(dst)]
			for i, v := range src {
				dst[i] = max(dst[i], v)
			}
		}
	})
}
