package runtime

// The int8 GEMM with a float32 result: onnxruntime's MatMulIntegerToFloat
// (exact int32 dot products of two quantised operands, their zero points
// taken out, times the product of their scales), the scores of a
// quantised attention. Operands are packed in quads of k as for the
// requantising kernels (QTile): A int8 rows, B uint8 columns.

// QFTile is the argument block of an int8 GEMM micro-kernel with a
// float32 result. For i < MR, j < NR, with NR the kernel's:
//
//	acc = Offset[i] + Col[j] + Σ_{q < K4} Σ_{t < 4} A[q*LDA + 4*i + t] * B[q*4*NR + 4*j + t]
//	C[i*LDC+j] = float32(acc) * Scale
//	if Max != nil { Max[i] = max(Max[i], C[i*LDC+j]) }
//
// A holds int8, LDA bytes per quad (4*MR or more); B uint8, 4*NR bytes
// per quad; acc is int32 with wrap-around, its conversion rounded to
// nearest even and the product rounded once, so the result is exact and
// the same on every CPU. Max gathers each row's largest value (the
// softmax's shift) in any order: the values are never NaN (a finite int
// times a finite scale), and only a zero's sign may depend on the order.
// The kernel stores the full MR x NR tile: drivers route partial tiles
// through a scratch tile.
//
// The field layout is part of the assembly contract (asm/layout.go reads
// it; TestAsmLayout checks the offsets).
type QFTile struct {
	A            []int8
	B            []uint8
	C            []float32
	Offset       []int32
	Col          []int32
	Max          []float32
	K4, LDA, LDC int
	Scale        float32
}

// QFGemmKernel describes an int8 GEMM micro-kernel with a float32
// result (QFTile). Names follow XNNPACK: qs8_qu8_f32_gemm_<MR>x<NR>c4__<isa>.
type QFGemmKernel struct {
	Name   string
	MR, NR int
	Tile   func(t *QFTile)
}

func (k *QFGemmKernel) String() string { return k.Name }

// qfgemmKernel is the int8 GEMM kernel with a float32 result of the
// selected level: the assembly one, else the pure-Go twin.
var qfgemmKernel = qfgemmGo

// qfgemmGo is the pure-Go kernel of 4 x 8 tiles.
var qfgemmGo = &QFGemmKernel{Name: "qs8_qu8_f32_gemm_4x8c4__go", MR: 4, NR: 8,
	Tile: func(t *QFTile) { qfgemmTileGo(t, 4, 8) }}

// qfgemmTileGo implements the QFTile contract for an mr x nr tile.
func qfgemmTileGo(t *QFTile, mr, nr int) {
	for i := range mr {
		for j := range nr {
			acc := t.Offset[i] + t.Col[j]
			for q := range t.K4 {
				a := t.A[q*t.LDA+4*i:][:4:4]
				b := t.B[(q*nr+j)*4:][:4:4]
				acc += int32(a[0])*int32(b[0]) + int32(a[1])*int32(b[1]) + int32(a[2])*int32(b[2]) + int32(a[3])*int32(b[3])
			}
			v := float32(acc) * t.Scale
			t.C[i*t.LDC+j] = v
			if t.Max != nil && v > t.Max[i] {
				t.Max[i] = v
			}
		}
	}
}
