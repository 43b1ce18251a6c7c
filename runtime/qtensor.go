package runtime

import (
	"fmt"
	"unsafe"

	"github.com/tsmc-go/tsmc/runtime/fma"
)

// Quantised tensors in generated code. A generated package keeps one
// float32 arena and one float32 weights.bin; its uint8 activations and its
// int8 and int32 weights live in them as bytes, seen through the views
// below (a tensor of n bytes takes n/4 floats, rounded up). weights.bin
// stores the bytes of such entries as they lie in memory on a
// little-endian CPU, which every GOARCH with the int8 kernels is.

// Bytes views the memory of f as bytes, 4 per float.
func Bytes(f []float32) []uint8 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*uint8)(unsafe.Pointer(&f[0])), 4*len(f))
}

// Int8s views the memory of f as int8 values, 4 per float.
func Int8s(f []float32) []int8 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&f[0])), 4*len(f))
}

// Int32s views the memory of f as int32 values, one per float.
func Int32s(f []float32) []int32 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&f[0])), len(f))
}

// quantChunk is the number of values one work item of Quantize and
// Dequantize converts.
const quantChunk = 1 << 14

// Quantize writes the ONNX QuantizeLinear of x with a per-tensor scale and
// zero point into out (QuantizeU8 of every value): the runtime's uint8
// form, so an int8 output passes U8Zero of its zero point and is stored
// with its sign bit flipped (see S8ToU8).
func Quantize(p *Pool, x []float32, out []uint8, scale float32, zero uint8) {
	if len(x) != len(out) {
		panic(fmt.Sprintf("runtime: quantize of %d floats into %d bytes", len(x), len(out)))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("quantize [%d]", len(x)), t0)
	}
	p.For(ceilDiv(len(x), quantChunk), func(_, item int) {
		i0 := item * quantChunk
		src := x[i0:min(len(x), i0+quantChunk)]
		quantizeU8s(out[i0:][:len(src)], src, scale, zero)
	})
}

// rneMagic is 1.5 * 2^23: for |v| <= 2^22, (v + rneMagic) - rneMagic in
// float32 is v rounded half to even.
const rneMagic = 0x1.8p23

// quantizeKernel is the contract of the quantisation kernels: dst[i] =
// uint8(round(min(max(src[i]/scale, lo), hi)) + zero) for i < n, n a
// positive multiple of 8, a NaN quotient taking lo.
type quantizeKernel func(dst *uint8, src *float32, n int, scale, lo, hi float32, zero int32)

// quantizeAsm is the kernel of the selected int8 level, or nil
// (selectQKernels); requantizeAsm is its twin that multiplies by the
// scale (requantizeU8s).
var quantizeAsm, requantizeAsm quantizeKernel

// quantizeU8s is QuantizeU8 of every value of src: the level's kernel
// over whole steps of 8, Go for the rest.
func quantizeU8s(dst []uint8, src []float32, scale float32, zero uint8) {
	lo, hi := float32(-int32(zero)), float32(255-int32(zero))
	z := int32(zero)
	dst = dst[:len(src)]
	if n := len(src) &^ 7; quantizeAsm != nil && n > 0 {
		quantizeAsm(&dst[0], &src[0], n, scale, lo, hi, z)
		dst, src = dst[n:], src[n:]
	}
	for i, v := range src {
		q := v / scale
		if !(q >= lo) { // NaN too, as QuantizeU8
			q = lo
		}
		if q > hi {
			q = hi
		}
		q = float32(q+rneMagic) - rneMagic
		dst[i] = uint8(int32(q) + z)
	}
}

// requantizeU8s sets dst[i] = round(clamp(src[i]*scale, lo, hi)) + zero,
// the int8 kernels' requantisation (QTile, without a residual) of sums
// held exactly as floats: the level's kernel over whole steps of 8, Go
// for the rest. lo and hi are integers, the clamp minus zero.
func requantizeU8s(dst []uint8, src []float32, scale, lo, hi float32, zero int32) {
	dst = dst[:len(src)]
	if n := len(src) &^ 7; requantizeAsm != nil && n > 0 {
		requantizeAsm(&dst[0], &src[0], n, scale, lo, hi, zero)
		dst, src = dst[n:], src[n:]
	}
	for i, v := range src {
		dst[i] = uint8(rne(clamp(v*scale, lo, hi)) + zero)
	}
}

// Dequantize writes the ONNX DequantizeLinear of the uint8 tensor q,
// scale * (q - zero), into out.
func Dequantize(p *Pool, q []uint8, out []float32, scale float32, zero uint8) {
	if len(q) != len(out) {
		panic(fmt.Sprintf("runtime: dequantize of %d bytes into %d floats", len(q), len(out)))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("dequantize [%d]", len(q)), t0)
	}
	p.For(ceilDiv(len(q), quantChunk), func(_, item int) {
		i0 := item * quantChunk
		src := q[i0:min(len(q), i0+quantChunk)]
		dequantizeU8s(out[i0:][:len(src)], src, scale, zero)
	})
}

// dequantizeKernel is the contract of the dequantisation kernels: dst[i]
// = float32(int32(src[i])-zero) * scale for i < n, n a positive multiple
// of 16.
type dequantizeKernel func(dst *float32, src *uint8, n int, scale float32, zero int32)

// dequantizeAsm is the kernel of the selected int8 level, or nil
// (selectQKernels).
var dequantizeAsm dequantizeKernel

// dequantizeU8s is DequantizeU8 of every value of src: the level's
// kernel over whole steps of 16, Go for the rest.
func dequantizeU8s(dst []float32, src []uint8, scale float32, zero uint8) {
	dst = dst[:len(src)]
	if n := len(src) &^ 15; dequantizeAsm != nil && n > 0 {
		dequantizeAsm(&dst[0], &src[0], n, scale, int32(zero))
		dst, src = dst[n:], src[n:]
	}
	for i, v := range src {
		dst[i] = DequantizeU8(v, scale, zero)
	}
}

// NewQRows allocates a row table of frames x channels rows.
func NewQRows(frames, channels int) QRows { return make(QRows, frames*channels) }

// SetPlain points r, a table for frames x channels, at x
// [frames][channels][hw].
func (r QRows) SetPlain(x []uint8, frames, channels, hw int) {
	if len(r) != frames*channels || len(x) != frames*channels*hw {
		panic(fmt.Sprintf("runtime: %d rows over %d bytes do not fit %d frames x %d channels x %d", len(r), len(x), frames, channels, hw))
	}
	for i := range r {
		r[i] = x[i*hw : (i+1)*hw : (i+1)*hw]
	}
}

// QAddOp is a quantised elementwise sum of two uint8 tensors of one
// shape, each with its own scale and zero point, requantised to the
// output's as a convolution's fused residual add is (QRequant with Add,
// onnxruntime's QLinearAdd): with rA = AScale/OutScale, rB =
// BScale/OutScale and F = Zero - fma(rA, AZero, rB*BZero),
// out = clamp(round(fma(a, rA, fma(b, rB, F))), Lo, Hi).
type QAddOp struct {
	AScale, BScale, OutScale float32
	AZero, BZero, Zero       uint8
	Lo, Hi                   uint8
}

// Run adds a and b into out.
func (q QAddOp) Run(p *Pool, a, b, out []uint8) {
	if len(a) != len(out) || len(b) != len(out) {
		panic(fmt.Sprintf("runtime: quantised add of %d and %d bytes into %d", len(a), len(b), len(out)))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("quantised add [%d]", len(out)), t0)
	}
	lo, hi := float32(q.Lo), float32(q.Hi)
	ra, rb := q.AScale/q.OutScale, q.BScale/q.OutScale
	f := float32(q.Zero) - fma.F32(ra, float32(q.AZero), float32(rb*float32(q.BZero)))
	p.For(ceilDiv(len(out), quantChunk), func(_, item int) {
		i0 := item * quantChunk
		i1 := min(len(out), i0+quantChunk)
		for i := i0; i < i1; i++ {
			v := fma.F32(float32(a[i]), ra, fma.F32(float32(b[i]), rb, f))
			out[i] = uint8(rne(clamp(v, lo, hi)))
		}
	})
}

// QLookup is an elementwise function of a quantised tensor as a table
// (tsmc.QLookup): out[i] = Table[x[i]], in runtime bytes. Table has 256
// entries.
type QLookup struct {
	Table []uint8
}

func (q *QLookup) profileName() string   { return "qlookup" }
func (q *QLookup) profileFLOPs() float64 { return 0 }

// Run maps x through the table into out (which may be x).
func (q *QLookup) Run(p *Pool, x, out []uint8) {
	defer profileDone(q, profileStart())
	if len(x) != len(out) || len(q.Table) != 256 {
		panic(fmt.Sprintf("runtime: qlookup of %d bytes into %d through a table of %d", len(x), len(out), len(q.Table)))
	}
	t := (*[256]uint8)(q.Table)
	p.For(ceilDiv(len(x), quantChunk), func(_, item int) {
		i0 := item * quantChunk
		src := x[i0:min(len(x), i0+quantChunk)]
		dst := out[i0:][:len(src)]
		for i, b := range src {
			dst[i] = t[b]
		}
	})
}
