package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// buildQuant emits quantizeU8x8AVX2, requantizeU8x8AVX2 and
// dequantizeU8x16AVX2.
func buildQuant(g *gen) {
	buildToBytes(g, "quantizeU8x8AVX2", g.VDIVPS,
		"quantizeU8x8AVX2 sets dst[i] = uint8(round(min(max(src[i]/scale, lo), hi)) + zero)",
		"for i < n, n a positive multiple of 8 (NaN quotients take lo): runtime.Quantize's rule.")
	buildToBytes(g, "requantizeU8x8AVX2", g.VMULPS,
		"requantizeU8x8AVX2 sets dst[i] = uint8(round(min(max(src[i]*scale, lo), hi)) + zero)",
		"for i < n, n a positive multiple of 8: the int8 kernels' requantisation (QTile) of",
		"sums held as floats.")
	buildDequantize(g)
}

// buildToBytes emits name, a conversion of float32 values to uint8 8
// values a step: op (the division of runtime.Quantize, the ONNX
// QuantizeLinear, or the multiplication of a requantisation) by the
// scale, MAXPS against lo (which returns lo for NaN, as the Go rule
// does), MINPS against hi, CVTPS2DQ (rounding half to even), the zero
// point added, the int32 lanes packed to bytes.
func buildToBytes(g *gen, name string, op func(ops ...operand.Op), doc ...string) {
	dst, src, n := beginConversion(g, name, "func(dst *uint8, src *float32, n int, scale, lo, hi float32, zero int32)", doc...)
	scale, lo, hi, zero := reg.Y8, reg.Y9, reg.Y10, reg.Y11
	g.VBROADCASTSS(paramAddr(g, "scale"), scale)
	g.VBROADCASTSS(paramAddr(g, "lo"), lo)
	g.VBROADCASTSS(paramAddr(g, "hi"), hi)
	broadcastZero(g, zero)
	loop := g.label("loop")
	g.Label(loop)
	g.VMOVUPS(operand.Mem{Base: src}, reg.Y0)
	op(scale, reg.Y0, reg.Y0)
	// Go operand order: VMAXPS b, a, dst is Intel's MAXPS dst, a, b, which
	// returns b when either is NaN
	g.VMAXPS(lo, reg.Y0, reg.Y0)
	g.VMINPS(hi, reg.Y0, reg.Y0)
	g.VCVTPS2DQ(reg.Y0, reg.Y0)
	g.VPADDD(zero, reg.Y0, reg.Y0)
	g.VEXTRACTI128(operand.U8(1), reg.Y0, reg.X1)
	g.VPACKSSDW(reg.X1, reg.X0, reg.X0)
	g.VPACKUSWB(reg.X0, reg.X0, reg.X0)
	g.VMOVQ(reg.X0, operand.Mem{Base: dst})
	g.ADDQ(operand.U32(32), src)
	g.ADDQ(operand.U32(8), dst)
	g.SUBQ(operand.U32(8), n)
	g.JNZ(operand.LabelRef(loop))
	g.VZEROUPPER()
	g.RET()
}

// beginConversion declares the conversion kernel name of signature sig
// (dst, src and n first) with its doc lines and loads dst, src and n.
func beginConversion(g *gen, name, sig string, doc ...string) (dst, src, n reg.GPPhysical) {
	s, err := gotypes.ParseSignature(sig)
	if err != nil {
		panic(err)
	}
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.Doc(doc...)
	g.Signature(s)
	g.labels = 0
	dst, src, n = reg.RDI, reg.RSI, reg.RCX
	g.Load(g.Param("dst"), dst)
	g.Load(g.Param("src"), src)
	g.Load(g.Param("n"), n)
	return dst, src, n
}

// broadcastZero loads the int32 argument zero into every lane of y (by
// way of R8: vet's asmdecl takes a VPBROADCASTD from the frame for a
// vector-sized load).
func broadcastZero(g *gen, y reg.VecPhysical) {
	g.Load(g.Param("zero"), reg.R8)
	g.VMOVD(reg.R8.As32(), y.AsX())
	g.VPBROADCASTD(y.AsX(), y)
}

// paramAddr is the stack address of the current function's parameter.
func paramAddr(g *gen, name string) operand.Mem {
	b, err := g.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// buildDequantize emits dequantizeU8x16AVX2, runtime.Dequantize's kernel
// (the ONNX DequantizeLinear of uint8 values to float32) 16 values a
// step: the bytes widened to int32, the zero point subtracted, the
// differences converted (exactly) and multiplied by the scale, one
// rounding as in DequantizeU8.
func buildDequantize(g *gen) {
	dst, src, n := beginConversion(g, "dequantizeU8x16AVX2", "func(dst *float32, src *uint8, n int, scale float32, zero int32)",
		"dequantizeU8x16AVX2 sets dst[i] = float32(int32(src[i])-zero) * scale for i < n,",
		"n a positive multiple of 16: runtime.Dequantize's rule.")
	scale, zero := reg.Y8, reg.Y9
	g.VBROADCASTSS(paramAddr(g, "scale"), scale)
	broadcastZero(g, zero)
	loop := g.label("loop")
	g.Label(loop)
	for i, y := range []reg.VecPhysical{reg.Y0, reg.Y1} {
		g.VPMOVZXBD(operand.Mem{Base: src, Disp: 8 * i}, y)
		g.VPSUBD(zero, y, y)
		g.VCVTDQ2PS(y, y)
		g.VMULPS(scale, y, y)
		g.VMOVUPS(y, operand.Mem{Base: dst, Disp: 32 * i})
	}
	g.ADDQ(operand.U32(16), src)
	g.ADDQ(operand.U32(64), dst)
	g.SUBQ(operand.U32(16), n)
	g.JNZ(operand.LabelRef(loop))
	g.VZEROUPPER()
	g.RET()
}
