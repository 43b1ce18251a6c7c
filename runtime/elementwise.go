package runtime

import (
	"fmt"
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
// out (which may alias x): e^(x - max) and their sum by the exp kernel
// (actExpShift; a NaN in a row makes the row NaN), times the sum's
// reciprocal by the row-times-constant kernel. Rows are shared among the workers.
func Softmax(p *Pool, x, out []float32, rows, n int) {
	if len(x) != rows*n || len(out) != rows*n {
		panic(fmt.Sprintf("runtime: softmax of %d floats into %d, want %d x %d", len(x), len(out), rows, n))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("softmax %dx[%d]", rows, n), t0)
	}
	if rows == 0 || n == 0 {
		return
	}
	per := max(1, ewChunk/n)
	p.For(ceilDiv(rows, per), func(worker, item int) {
		r0, r1 := item*per, min(rows, (item+1)*per)
		softmaxRows(p.state(worker, 0, 0, 0), x[r0*n:r1*n], out[r0*n:r1*n], r1-r0, n, nil)
	})
}

// softmaxRows is Softmax of rows of x on one worker, w; maxes, when not
// nil, holds the rows' maxima (else they are found here).
func softmaxRows(w *workerState, x, out []float32, rows, n int, maxes []float32) {
	for r := range rows {
		xs, os := x[r*n:(r+1)*n], out[r*n:(r+1)*n]
		var m float32
		if maxes != nil {
			m = maxes[r]
		} else {
			m = maxFloats(xs)
		}
		copy(os, xs)
		w.act = ActRows{X: os, Rows: 1, Cols: n, LD: n, Beta: -m}
		actKernels[actExpShift](&w.act)
		w.scale[0] = 1 / w.act.Sum
		w.mul = MulRows{O: os, X: os, C: w.scale[:], Rows: 1, Cols: n, XRS: n, ORS: n}
		mulRows(&w.mul)
	}
}

// maxFloats is the largest of x (not empty), NaNs left out, over four
// partial maxima: the comparisons branch, rarely taken on data past its
// first values, where the max builtin's NaN handling makes a chain of
// dependent branches.
func maxFloats(x []float32) float32 {
	m0, m1, m2, m3 := x[0], x[0], x[0], x[0]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		if v[0] > m0 {
			m0 = v[0]
		}
		if v[1] > m1 {
			m1 = v[1]
		}
		if v[2] > m2 {
			m2 = v[2]
		}
		if v[3] > m3 {
			m3 = v[3]
		}
	}
	for _, v := range x[i:] {
		if v > m0 {
			m0 = v
		}
	}
	for _, v := range [3]float32{m1, m2, m3} {
		if v > m0 {
			m0 = v
		}
	}
	return m0
}

// sumFloats sums x in eight interleaved float32 partial sums, added
// pairwise at the end.
func sumFloats(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
	}
	for j, v := range x[i:] {
		s[j] += v
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
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
