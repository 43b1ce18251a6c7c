package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
)

// The 3x3 depthwise kernels of depthwise_amd64.s: the row kernels
// (dwrow.go) and the plane kernels (dwplane.go, dwcolumn.go), with the
// static data they share.

// Static data: the AVX2 mask table (maskTableOnes lanes of -1, then 16 of
// 0: the 8 lanes at maskTableOnes-n are the mask of the first n lanes,
// -8 <= n <= maskTableOnes) and the AVX-512 even/odd permutation indices.
const maskTableOnes = 24

var (
	dwMaskTable = operand.NewStaticSymbol("dwMaskTable")
	dwPermIdx   = operand.NewStaticSymbol("dwPermIdx")
)

// buildDepthwise emits the shared data, the row kernels and the plane
// kernels.
func buildDepthwise(g *gen) {
	g.StaticGlobal(dwMaskTable.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range maskTableOnes + 16 {
		v := uint32(0)
		if i < maskTableOnes {
			v = 0xffffffff
		}
		g.AppendDatum(operand.U32(v))
	}
	g.StaticGlobal(dwPermIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 32 { // even indices 0..30, then odd 1..31
		g.AppendDatum(operand.U32(2*(i%16) + i/16))
	}
	for _, k := range dwRowKernels {
		k.emit(g)
	}
	for _, k := range dwPlaneKernels {
		k.emit(g)
	}
}
