package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Align is the alignment in bytes of arena slices and aligned allocations:
// one cache line, and one AVX-512 vector.
const Align = 64

// AlignFloats is Align in float32 elements.
const AlignFloats = Align / 4

// AlignUp rounds n floats up to a multiple of AlignFloats. Codegen uses it
// to place tensors at aligned arena offsets.
func AlignUp(n int) int {
	return (n + AlignFloats - 1) &^ (AlignFloats - 1)
}

// AlignedFloats returns a zeroed slice of n float32 whose first element is
// Align-byte aligned. The Go heap does not move objects, so the alignment
// holds for the slice's lifetime. The slice lies between two written
// guard zones of guardFloats (see guardFloats).
func AlignedFloats(n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	buf := make([]float32, n+2*guardFloats+AlignFloats-1)
	// Fresh pages from the OS are zero but not yet mapped in; writing
	// them maps them.
	clear(buf)
	addr := uintptr(unsafe.Pointer(&buf[0]))
	skip := guardFloats + int((Align-addr%Align)%Align)/4
	return buf[skip : skip+n : skip+n]
}

// alignedBytes returns n zeroed bytes aligned and guarded as
// AlignedFloats' floats: for the buffers the int8 kernels read.
func alignedBytes(n int) []uint8 {
	if n == 0 {
		return []uint8{}
	}
	return Bytes(AlignedFloats(ceilDiv(n, 4)))[:n:n]
}

// guardFloats is how far before and after a buffer of AlignedFloats the
// kernels' masked loads may reach with lanes masked off: the flat
// depthwise kernels read a padding row above or below a plane of up to
// 256 columns, plus a vector. A masked-off lane on a page that is not
// mapped in (a fresh heap page never written, or past the heap) makes
// the load take a microcode assist, up to 35 times its cost, every time:
// the guard zones are written, so those pages are mapped.
const guardFloats = 256 + 2*AlignFloats

// IsAligned reports whether the first element of s is Align-byte aligned.
func IsAligned(s []float32) bool {
	if cap(s) == 0 {
		return true
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(s)))%Align == 0
}

// Arena is the single activation buffer of a Model. Codegen assigns every
// intermediate tensor an offset at compile time (a static memory plan with
// buffer reuse) and slices the arena once, at construction.
type Arena struct {
	buf []float32
}

// NewArena returns an arena of n zeroed floats, Align-byte aligned.
func NewArena(n int) *Arena {
	return &Arena{buf: AlignedFloats(n)}
}

// Len returns the arena size in floats.
func (a *Arena) Len() int { return len(a.buf) }

// Slice returns the n floats at offset off, with capacity n so that an
// append can never spill into a neighbour. off must be a multiple of
// AlignFloats; a bad offset is a code-generator bug and panics.
func (a *Arena) Slice(off, n int) []float32 {
	if off%AlignFloats != 0 || off < 0 || n < 0 || off+n > len(a.buf) {
		panic(fmt.Sprintf("runtime: arena slice [%d:+%d] is unaligned or outside the arena of %d floats", off, n, len(a.buf)))
	}
	return a.buf[off : off+n : off+n]
}

// DecodeFloats decodes little-endian IEEE-754 float32 values (the format
// of weights.bin) into a fresh aligned slice.
func DecodeFloats(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("runtime: weight data has %d bytes, not a multiple of 4", len(b))
	}
	out := AlignedFloats(len(b) / 4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// EncodeFloats appends the little-endian bytes of v to dst (the inverse of
// DecodeFloats; codegen writes weights.bin with it).
func EncodeFloats(dst []byte, v []float32) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst
}
