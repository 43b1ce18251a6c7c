package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The float32 transposes of runtime.packLaneMajor (a lane-major matrix
// into GEMM panels, as the attention packs its probabilities): blocks of
// n x n floats, n the vector's lanes, transposed in registers by a
// network of unpacks and 128-bit lane shuffles.

// transposeKernel is a transpose of n x n blocks on one ISA.
type transposeKernel struct {
	name string
	vec  *vecISA
}

var transposeKernels = []transposeKernel{
	{"transposeF32x16AVX512", avx512},
	{"transposeF32x8AVX2", avx2},
}

// Name returns the kernel's Go name, for the registry template.
func (k transposeKernel) Name() string { return k.name }

// Level returns the runtime's level constant of the kernel's ISA.
func (k transposeKernel) Level() string { return k.vec.Level }

// Lanes returns the block's side.
func (k transposeKernel) Lanes() int { return k.vec.lanes }

// shuffle is one instruction of a transpose network: dst = op(a, b) in
// Intel's operand order.
type shuffle struct {
	op        string // "lops", "hps", "lpd", "hpd", "lane": unpack low/high floats/pairs, 128-bit lane select
	imm       uint8  // lane selector of "lane"
	a, b, dst int    // registers by index
}

// transposeNetwork is the shuffle network of an n x n transpose (n 8 or
// 16) on rows in registers 0..n-1 and temporaries n..2n-1, and the
// register that ends up holding each column.
func transposeNetwork(n int) (net []shuffle, cols []int) {
	lo, hi := 0, n // the rows' registers, the free ones
	var cur []int
	for i := range n {
		cur = append(cur, lo+i)
	}
	next := func(base int) []int {
		r := make([]int, n)
		for i := range r {
			r[i] = base + i
		}
		return r
	}
	// floats of row pairs, then pairs of floats of pairs of those
	t := next(hi)
	for i := 0; i < n; i += 2 {
		net = append(net, shuffle{op: "lps", a: cur[i], b: cur[i+1], dst: t[i]}, shuffle{op: "hps", a: cur[i], b: cur[i+1], dst: t[i+1]})
	}
	u := next(lo)
	for i := 0; i < n; i += 4 {
		net = append(net,
			shuffle{op: "lpd", a: t[i], b: t[i+2], dst: u[i]}, shuffle{op: "hpd", a: t[i], b: t[i+2], dst: u[i+1]},
			shuffle{op: "lpd", a: t[i+1], b: t[i+3], dst: u[i+2]}, shuffle{op: "hpd", a: t[i+1], b: t[i+3], dst: u[i+3]})
	}
	cur = u
	// 128-bit lanes: rows 4 apart, then (16 lanes) 8 apart
	dst := hi
	for stride := 4; stride < n; stride *= 2 {
		v := next(dst)
		for i := 0; i < n; i++ {
			if i/stride%2 == 1 {
				continue
			}
			a, b := cur[i], cur[i+stride]
			if n == 8 {
				net = append(net, shuffle{op: "lane", imm: 0x20, a: a, b: b, dst: v[i]}, shuffle{op: "lane", imm: 0x31, a: a, b: b, dst: v[i+stride]})
			} else {
				net = append(net, shuffle{op: "lane", imm: 0x88, a: a, b: b, dst: v[i]}, shuffle{op: "lane", imm: 0xdd, a: a, b: b, dst: v[i+stride]})
			}
		}
		cur = v
		if dst == hi {
			dst = lo
		} else {
			dst = hi
		}
	}
	// which register holds which column: simulate the network on labels
	regs := make([][]int, 2*n)
	for i := range regs {
		regs[i] = make([]int, n)
	}
	for r := range n {
		for c := range n {
			regs[r][c] = r*n + c
		}
	}
	for _, s := range net {
		a, b := regs[s.a], regs[s.b]
		out := make([]int, n)
		for l := 0; l < n/4; l++ { // 128-bit lanes
			x, y := a[4*l:4*l+4], b[4*l:4*l+4]
			var o []int
			switch s.op {
			case "lps":
				o = []int{x[0], y[0], x[1], y[1]}
			case "hps":
				o = []int{x[2], y[2], x[3], y[3]}
			case "lpd":
				o = []int{x[0], x[1], y[0], y[1]}
			case "hpd":
				o = []int{x[2], x[3], y[2], y[3]}
			case "lane":
				o = laneSelect(s.imm, n, a, b, l)
			}
			copy(out[4*l:], o)
		}
		regs[s.dst] = out
	}
	cols = make([]int, n)
	for c := range n {
		cols[c] = -1
		for r, v := range regs {
			col := true
			for i := range n {
				if v[i] != i*n+c {
					col = false
					break
				}
			}
			if col {
				cols[c] = r
			}
		}
		if cols[c] < 0 {
			panic(fmt.Sprintf("transpose network of %d: no register holds column %d", n, c))
		}
	}
	return net, cols
}

// laneSelect is 128-bit lane l of a lane shuffle: VPERM2F128 (8 lanes:
// imm selects lanes of a then b by its nibbles) or VSHUFF32X4 (16 lanes:
// two lanes of a, then two of b, two bits each).
func laneSelect(imm uint8, n int, a, b []int, l int) []int {
	lane := func(v []int, i int) []int { return v[4*i : 4*i+4] }
	if n == 8 {
		sel := int(imm>>(4*l)) & 3
		return lane(append(append([]int{}, a...), b...), sel)
	}
	sel := int(imm>>(2*l)) & 3
	if l < 2 {
		return lane(a, sel)
	}
	return lane(b, sel)
}

// buildTranspose emits the transpose kernels.
func buildTranspose(g *gen) {
	for _, k := range transposeKernels {
		k.emit(g)
	}
}

// emit writes func(dst, src *float32, ld, ldd, blocks int): for blocks
// blocks b of n x n floats, dst[b*n*ldd + c*ldd + r] = src[r*ld + b*n + c].
func (k transposeKernel) emit(g *gen) {
	n := k.vec.lanes
	s, err := gotypes.ParseSignature("func(dst, src *float32, ld, ldd, blocks int)")
	if err != nil {
		panic(err)
	}
	g.Function(k.name)
	g.Attributes(attr.NOSPLIT)
	g.Pragma("noescape")
	g.Doc(fmt.Sprintf("%s transposes blocks blocks of %d x %d floats: dst[b*%d*ldd + c*ldd + r] = src[r*ld + b*%d + c]", k.name, n, n, n, n),
		"for r, c < "+fmt.Sprint(n)+" (ld and ldd in floats, blocks >= 1).")
	g.Signature(s)
	g.labels = 0
	dst, src, ld, ldd, blocks, row := reg.RDI, reg.RSI, reg.R8, reg.R9, reg.RCX, reg.RAX
	g.Load(g.Param("dst"), dst)
	g.Load(g.Param("src"), src)
	g.Load(g.Param("ld"), ld)
	g.Load(g.Param("ldd"), ldd)
	g.Load(g.Param("blocks"), blocks)
	g.SHLQ(operand.U8(2), ld)
	g.SHLQ(operand.U8(2), ldd)
	net, cols := transposeNetwork(n)
	r := k.vec.regs
	loop := g.label("block")
	g.Label(loop)
	g.MOVQ(src, row)
	for i := range n {
		g.VMOVUPS(operand.Mem{Base: row}, r[i])
		if i < n-1 {
			g.ADDQ(ld, row)
		}
	}
	for _, s := range net {
		a, b, d := r[s.a], r[s.b], r[s.dst]
		switch s.op {
		case "lps":
			g.VUNPCKLPS(b, a, d)
		case "hps":
			g.VUNPCKHPS(b, a, d)
		case "lpd":
			g.VUNPCKLPD(b, a, d)
		case "hpd":
			g.VUNPCKHPD(b, a, d)
		case "lane":
			if n == 8 {
				g.VPERM2F128(operand.U8(s.imm), b, a, d)
			} else {
				g.VSHUFF32X4(operand.U8(s.imm), b, a, d)
			}
		}
	}
	g.MOVQ(dst, row)
	for c := range n {
		g.VMOVUPS(r[cols[c]], operand.Mem{Base: row})
		if c < n-1 {
			g.ADDQ(ldd, row)
		}
	}
	g.ADDQ(operand.U32(4*n), src)
	g.ADDQ(ldd, row)
	g.MOVQ(row, dst)
	g.DECQ(blocks)
	g.JNZ(operand.LabelRef(loop))
	g.VZEROUPPER()
	g.RET()
}
