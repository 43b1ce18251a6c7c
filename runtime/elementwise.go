package runtime

import (
	"fmt"
	"math"
)

// elementwise loops split into items of this many floats.
const ewChunk = 1 << 14

// Add computes out = act(a + b) elementwise; out may alias a or b.
func Add(p *Pool, a, b, out []float32, act Act) {
	if len(a) != len(out) || len(b) != len(out) {
		panic(fmt.Sprintf("runtime: add of %d and %d floats into %d", len(a), len(b), len(out)))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("add [%d] %v", len(out), act), t0)
	}
	lo, hi := act.Bounds()
	tail := act.tail()
	p.For(ceilDiv(len(out), ewChunk), func(worker, item int) {
		i0, i1 := item*ewChunk, min(len(out), (item+1)*ewChunk)
		a, b, o := a[i0:i1], b[i0:i1], out[i0:i1]
		for i := range o {
			o[i] = clamp(a[i]+b[i], lo, hi)
		}
		if tail.kern != nil {
			tail.apply(p.state(worker, 0, 0, 0), o, 1, len(o), 0)
		}
	})
}

// Activate computes out = act(x) elementwise (a standalone activation);
// out may alias x.
func Activate(p *Pool, x, out []float32, act Act) {
	if len(x) != len(out) {
		panic(fmt.Sprintf("runtime: activation of %d floats into %d", len(x), len(out)))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("activation [%d] %v", len(out), act), t0)
	}
	lo, hi := act.Bounds()
	tail := act.tail()
	p.For(ceilDiv(len(out), ewChunk), func(worker, item int) {
		i0, i1 := item*ewChunk, min(len(out), (item+1)*ewChunk)
		x, o := x[i0:i1], out[i0:i1]
		if tail.kern != nil {
			copy(o, x)
			tail.apply(p.state(worker, 0, 0, 0), o, 1, len(o), 0)
			return
		}
		for i := range o {
			o[i] = clamp(x[i], lo, hi)
		}
	})
}

// SegmentMean averages the segments of each clip: x is [clips][segments][n]
// and out [clips][n] (the ReduceMean over T of a TSM head). Sums run over
// the segments in order.
func SegmentMean(x, out []float32, clips, segments, n int) {
	if len(x) != clips*segments*n || len(out) != clips*n || segments <= 0 {
		panic(fmt.Sprintf("runtime: segment mean of %d floats into %d, want %d x %d x %d", len(x), len(out), clips, segments, n))
	}
	inv := 1 / float32(segments)
	for c := range clips {
		o := out[c*n : (c+1)*n]
		copy(o, x[c*segments*n:][:n])
		for t := 1; t < segments; t++ {
			for i, v := range x[(c*segments+t)*n:][:n] {
				o[i] += v
			}
		}
		for i := range o {
			o[i] *= inv
		}
	}
}

// Softmax computes the softmax of each of the rows of n values of x into
// out (which may alias x), subtracting the row maximum first.
func Softmax(x, out []float32, rows, n int) {
	if len(x) != rows*n || len(out) != rows*n {
		panic(fmt.Sprintf("runtime: softmax of %d floats into %d, want %d x %d", len(x), len(out), rows, n))
	}
	for r := range rows {
		xs, os := x[r*n:(r+1)*n], out[r*n:(r+1)*n]
		m := float32(math.Inf(-1))
		for _, v := range xs {
			m = max(m, v)
		}
		var sum float64
		for i, v := range xs {
			e := float32(math.Exp(float64(v - m)))
			os[i] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for i := range os {
			os[i] *= inv
		}
	}
}

// CopyChannels copies channels [srcBegin, srcBegin+n) of every frame of src
// ([frames][srcChannels][hw]) to channels [dstBegin, dstBegin+n) of dst
// ([frames][dstChannels][hw]): a channel Slice, one input of a Concat, or
// the next state of an online shift.
func CopyChannels[E float32 | uint8](dst []E, dstChannels, dstBegin int, src []E, srcChannels, srcBegin, n, frames, hw int) {
	if len(dst) != frames*dstChannels*hw || len(src) != frames*srcChannels*hw ||
		dstBegin < 0 || srcBegin < 0 || n < 0 || dstBegin+n > dstChannels || srcBegin+n > srcChannels {
		panic(fmt.Sprintf("runtime: copy of channels [%d,+%d) of %d floats to [%d,+%d) of %d floats does not fit %d frames of %d and %d channels x %d",
			srcBegin, n, len(src), dstBegin, n, len(dst), frames, srcChannels, dstChannels, hw))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("copy channels %dx[%d of %d -> %d,%d]", frames, n, srcChannels, dstChannels, hw), t0)
	}
	copyChannels(dst, dstChannels, dstBegin, src, srcChannels, srcBegin, n, frames, hw)
}

// copyChannels is CopyChannels without the checks and the profile, for
// the kernels built on it (Concat, Split).
func copyChannels[E float32 | uint8](dst []E, dstChannels, dstBegin int, src []E, srcChannels, srcBegin, n, frames, hw int) {
	for f := range frames {
		copy(dst[(f*dstChannels+dstBegin)*hw:][:n*hw], src[(f*srcChannels+srcBegin)*hw:][:n*hw])
	}
}
