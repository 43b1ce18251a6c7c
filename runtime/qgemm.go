package runtime

import (
	"fmt"
	"sync"
)

// The int8 GEMM: uint8 activations (per-tensor zero point) times int8
// weights (symmetric, per output channel), int32 accumulation, and a
// fused requantisation epilogue (QRequant). As for float32, a
// convolution is a GEMM per group with output channels as the rows and
// pixels as the columns: C[co][p] = Σ_k W[co][k] · X[k][p].
//
// Both operands are packed in groups of four consecutive k ("quads"), the
// operand shape of the dot-product instructions (VPDPBUSD on x86: four
// u8 x s8 products summed into each int32 lane; SDOT on arm64): the
// weights at compile time (PackQConvWeights), the activations at run time
// per pixel panel. K is padded to a multiple of 4 with zero weights.

// PackQMR is the weight-panel height codegen packs int8 convolution
// weights for: a multiple of every int8 kernel's row count (AVX-512 VNNI
// 12, AVX-VNNI 6, AVX2 4, NEON 12 and 6, pure Go 4).
const PackQMR = 12

// QTile is the argument block of an int8 GEMM micro-kernel. For i < MR,
// j < NR, with NR the kernel's:
//
//	acc = Offset[i] + Σ_{q < K4} Σ_{t < 4} A[q*LDA + 4*i + t] * B[q*4*NR + 4*j + t]
//	v = float32(acc) * Scale[i]
//	if R != nil {                     // fused residual add (QRequant.Add)
//		y = round(clamp(v, Lo1, Hi1)) + ZeroC  // the convolution's output, int32
//		r = int32(R[i*LDR+j])
//		x = (r - y) & Swap                     // Swap 0 or -1: (p, q) = (y, r) or (r, y)
//		v = fma(float32(y + x), S1, fma(float32(r - x), SR, F))
//	}
//	C[i*LDC+j] = round(clamp(v, Lo, Hi)) + Zero
//
// A holds int8 weights, LDA bytes per quad (4*MR or more: a 4-row kernel
// runs a 12-row panel as three thirds); B uint8 activations, 4*NR bytes
// per quad, except for kernels with SignedB, whose B holds the
// activations XOR 0x80 read as int8 (the driver packs it so and adds
// 128*Σw to Offset: SDOT multiplies signed by signed). acc is int32 with
// wrap-around; every float32 operation is rounded on its own, fma (a
// fused multiply-add) once, round is half to even, and Lo, Hi, Lo1 and Hi1 are
// integers, so clamping before rounding equals saturating after it. The
// result is therefore exact and the same on every CPU, and it is
// onnxruntime's (QRequant). The kernel computes and stores the full MR x NR
// tile: drivers route partial tiles through a scratch tile.
//
// The field layout is part of the assembly contract (asm/layout.go and
// asm/cmd/neongen read it; TestAsmLayout checks the offsets).
type QTile struct {
	A                 []int8
	B                 []uint8
	C                 []uint8
	R                 []uint8
	Offset            []int32
	Scale             []float32
	K4, LDA, LDC, LDR int
	Zero              int32   // output zero point
	Lo, Hi            float32 // output clamp minus Zero
	ZeroC             int32   // ConvZero
	Lo1, Hi1          float32 // -ConvZero, 255-ConvZero
	S1, SR, F         float32 // the operands' scales over OutScale, the fixed term
	Swap              int32   // -1: the residual is the first operand, else 0
	// BRows, when set (kernels with RowsB only), holds B in rows: quad
	// q's 4*NR bytes are BRows[q][BOff:BOff+4*NR], and B is not read.
	BRows [][]uint8
	BOff  int
}

// QGemmKernel describes an int8 GEMM micro-kernel. Names follow XNNPACK:
// qu8_qc8w_gemm_minmax_fp32_<MR>x<NR>c4__<isa> (uint8 activations,
// per-channel int8 weights, float32 requantisation, K in quads).
type QGemmKernel struct {
	Name   string
	MR, NR int
	// SignedB: B holds int8 (activations XOR 0x80), see QTile.
	SignedB bool
	// RowsB: the kernel implements QTile.BRows.
	RowsB bool
	// Weights7Bit: the kernel is exact only for weights in [-64, 64]
	// (VPMADDUBSW's int16 pair sums); drivers pick it only for such
	// weights.
	Weights7Bit bool
	// Short lists kernels of the same contract and NR with fewer rows, in
	// increasing MR (for the last, partial row panel).
	Short []*QGemmKernel
	// Tile computes one tile; see QTile.
	Tile func(t *QTile)
}

func (k *QGemmKernel) String() string { return k.Name }

// qgemmKernels lists the int8 GEMM kernels of the selected level, best
// first (selectKernels); the pure-Go kernel comes after them.
var qgemmKernels []*QGemmKernel

// QGemmKernels returns the names of the int8 GEMM kernels usable at the
// selected level, best first, ending with the pure-Go one.
func QGemmKernels() []string {
	var names []string
	for _, k := range qgemmKernels {
		names = append(names, k.Name)
	}
	return append(names, qgemmGo.Name)
}

// qgemmFor returns the best kernel for weights packed in panels of
// packMR rows, w7 reporting whether every weight is in [-64, 64].
func qgemmFor(packMR int, w7 bool) *QGemmKernel {
	for _, k := range qgemmKernels {
		if packMR%k.MR == 0 && (w7 || !k.Weights7Bit) {
			return k
		}
	}
	if packMR%qgemmGo.MR == 0 {
		return qgemmGo
	}
	return qgemmGoKernel(largestDivisor(packMR, 3, 2, 1))
}

// qgemmGo is the pure-Go kernel: the twin of the assembly kernels and the
// kernel of CPUs without them.
var qgemmGo = qgemmGoKernel(4)

var qgemmGoKernels struct {
	sync.Mutex
	m map[int]*QGemmKernel
}

// qgemmGoKernel returns the pure-Go kernel of mr x 8 tiles.
func qgemmGoKernel(mr int) *QGemmKernel {
	qgemmGoKernels.Lock()
	defer qgemmGoKernels.Unlock()
	if k := qgemmGoKernels.m[mr]; k != nil {
		return k
	}
	if qgemmGoKernels.m == nil {
		qgemmGoKernels.m = map[int]*QGemmKernel{}
	}
	const nr = 8
	k := &QGemmKernel{Name: fmt.Sprintf("qu8_qc8w_gemm_minmax_fp32_%dx%dc4__go", mr, nr), MR: mr, NR: nr,
		Tile: func(t *QTile) { qgemmTileGo(t, mr, nr, false) }}
	qgemmGoKernels.m[mr] = k
	return k
}

// qgemmTileGo implements the QTile contract for an mr x nr tile, B read
// as int8 when signedB.
func qgemmTileGo(t *QTile, mr, nr int, signedB bool) {
	res := t.R != nil
	for i := range mr {
		for j := 0; j < nr; j += 4 {
			n := min(4, nr-j)
			var acc [4]int32
			for x := range acc {
				acc[x] = t.Offset[i]
			}
			for q := range t.K4 {
				a := t.A[q*t.LDA+4*i:][:4:4]
				a0, a1, a2, a3 := int32(a[0]), int32(a[1]), int32(a[2]), int32(a[3])
				b := t.B[(q*nr+j)*4:][: 4*n : 4*n]
				for x := range n {
					bx := b[4*x : 4*x+4 : 4*x+4]
					var b0, b1, b2, b3 int32
					if signedB {
						b0, b1, b2, b3 = int32(int8(bx[0])), int32(int8(bx[1])), int32(int8(bx[2])), int32(int8(bx[3]))
					} else {
						b0, b1, b2, b3 = int32(bx[0]), int32(bx[1]), int32(bx[2]), int32(bx[3])
					}
					acc[x] += a0*b0 + a1*b1 + a2*b2 + a3*b3
				}
			}
			for x := range n {
				var r uint8
				if res {
					r = t.R[i*t.LDR+j+x]
				}
				t.C[i*t.LDC+j+x] = t.requant(acc[x], t.Scale[i], res, r)
			}
		}
	}
}

// PackedQConvWeightsLen returns the length of PackQConvWeights' result.
func PackedQConvWeightsLen(cout, cinPerGroup, kh, kw, group, mr int) int {
	return group * ceilDiv(cout/group, mr) * mr * qconvK(cinPerGroup, kh, kw)
}

// qconvK returns the depth of the int8 convolution GEMM: the taps times
// the input channels padded to a multiple of 4.
func qconvK(cinPerGroup, kh, kw int) int { return kh * kw * ceilDiv(cinPerGroup, 4) * 4 }

// PackQConvWeights packs ONNX int8 convolution weights w
// [cout][cinPerGroup][kh][kw] (zero point 0) into the A operand of the int8
// convolution GEMM. Its k runs over the taps, and within a tap over the
// input channels padded to a multiple of 4 (k = (y*kw + x)*cin4 + ci), so
// that a quad of k is one tap of four channels: the packer then reads four
// input rows side by side, as for a pointwise convolution. Per group,
// panels of mr output channels; within a panel, for each quad q of k, the
// 4 weights of each of the mr channels, channel after channel
// (A[q*4*mr + 4*i + t] is channel i's weight for k = 4q+t); padding
// channels and the channels of a partial last panel are zero. It also
// returns each output channel's weight sum, which the zero-point
// correction needs (NewQConv). Codegen calls it at compile time with
// mr = PackQMR and embeds both.
func PackQConvWeights(w []int8, cout, cinPerGroup, kh, kw, group, mr int) (packed []int8, sums []int32, err error) {
	if cout <= 0 || cinPerGroup <= 0 || kh <= 0 || kw <= 0 || group <= 0 || mr <= 0 || cout%group != 0 {
		return nil, nil, fmt.Errorf("runtime: cannot pack int8 conv weights of %d outputs, %d inputs per group, %dx%d kernel, %d groups, panel %d",
			cout, cinPerGroup, kh, kw, group, mr)
	}
	khw := kh * kw
	if len(w) != cout*cinPerGroup*khw {
		return nil, nil, fmt.Errorf("runtime: int8 conv weights have %d values, want %d x %d x %d x %d", len(w), cout, cinPerGroup, kh, kw)
	}
	k := qconvK(cinPerGroup, kh, kw)
	cin4 := k / khw
	coutG := cout / group
	panels := ceilDiv(coutG, mr)
	packed = make([]int8, PackedQConvWeightsLen(cout, cinPerGroup, kh, kw, group, mr))
	sums = make([]int32, cout)
	for co := range cout {
		g, o := co/coutG, co%coutG
		panel := packed[(g*panels+o/mr)*k*mr:][:k*mr]
		i := o % mr
		var s int32
		for ci := range cinPerGroup {
			for tap := range khw {
				v := w[(co*cinPerGroup+ci)*khw+tap]
				kk := tap*cin4 + ci
				panel[(kk/4)*4*mr+4*i+kk%4] = v
				s += int32(v)
			}
		}
		sums[co] = s
	}
	return packed, sums, nil
}

// weights7Bit reports whether every weight is in [-64, 64].
func weights7Bit(w []int8) bool {
	for _, v := range w {
		if v < -64 || v > 64 {
			return false
		}
	}
	return true
}

// QRows is the row table of a quantised activation: QRows[f*C+c] is
// channel c of frame f, H*W bytes (see Rows).
type QRows [][]uint8

// PlainQRows returns a table over x [frames][channels][hw].
func PlainQRows(x []uint8, frames, channels, hw int) QRows {
	if len(x) != frames*channels*hw {
		panic(fmt.Sprintf("runtime: %d bytes do not hold %d frames x %d channels x %d", len(x), frames, channels, hw))
	}
	r := make(QRows, frames*channels)
	for i := range r {
		r[i] = x[i*hw : (i+1)*hw : (i+1)*hw]
	}
	return r
}

// SetShifted points r, a table for frames x channels, at x
// [frames][channels][hw] as seen through s (Rows.SetShifted): a frame
// outside the clip reads zero, the tensor's zero point, the int8 zero.
// state is nil or the state buffer of an online shift.
func (r QRows) SetShifted(x []uint8, frames, channels, hw int, s TemporalShift, state []uint8, zero uint8) error {
	if len(r) != frames*channels {
		return fmt.Errorf("row table has %d rows, want %d frames x %d channels", len(r), frames, channels)
	}
	return visitShift(s, x, frames, channels, hw, state, constRow(hw, zero), func(i int, row []uint8) { r[i] = row })
}

var qconst struct {
	sync.Mutex
	rows [256][]uint8
}

// constRow returns n bytes of value v shared by every caller, never to be
// written (padding rows of the packers).
func constRow(n int, v uint8) []uint8 {
	qconst.Lock()
	defer qconst.Unlock()
	if r := qconst.rows[v]; len(r) >= n {
		return r[:n:n]
	}
	// the old row stays valid for its holders
	r := alignedBytes(max(n, 4096))
	for i := range r {
		r[i] = v
	}
	qconst.rows[v] = r
	return r[:n:n]
}
