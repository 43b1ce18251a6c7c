package runtime

import (
	"fmt"
	"sync"
)

// Tile flags.
const (
	// TileAccumulate: C holds the partial sums of the earlier K blocks;
	// start from them instead of zero.
	TileAccumulate = 1 << iota
	// TileEpilogue: this is the last K block; add Bias[i] and, when R is
	// not nil, R[i*LDR+j], then clamp to [Lo, Hi] before storing.
	TileEpilogue
	// TileRowsB: read B from activation rows instead of a packed panel:
	// B[k][j] = BRows[k][BOff+j]. Only kernels with RowsB get it. It lets
	// a 1x1 stride-1 convolution skip packing: BRows is then a slice of
	// the input row table itself and BOff the tile's first pixel.
	TileRowsB
	// TileSegs: the tile's columns go to Segs' runs instead of C's rows:
	// for each run s, columns [s.j, s.j+s.n) of row i are element
	// C[s.c+i*LDC+j-s.j] (read under TileAccumulate, written) and have
	// the residual R[s.r+i*LDR+j-s.j]; columns in no run are neither read
	// nor written. C and R are then the whole output and residual. Only
	// kernels with SegsC get it: it spares a tile whose pixels cross a
	// frame's end (a small map) the round trip through a scratch tile.
	TileSegs
)

// Tile is the argument block of a GEMM micro-kernel. For i < MR, j < NR:
//
//	acc = Flags&TileAccumulate != 0 ? C[i*LDC+j] : 0
//	for k := 0; k < K; k++ { acc += A[k*LDA+i] * B[k*LDB+j] }   // k in increasing order
//	if Flags&TileEpilogue != 0 {
//		acc += Bias[i]
//		if R != nil { acc += R[i*LDR+j] }
//		acc = min(max(acc, Lo), Hi)
//	}
//	C[i*LDC+j] = acc
//
// with B[k*LDB+j] read as BRows[k][BOff+j] under TileRowsB. A is a packed
// weight panel (MR of every LDA floats per k, LDA >= MR: a 6-row kernel
// runs a 12-row panel as two halves); B a packed pixel panel (LDB >= NR).
// The kernel always computes and stores the full MR x NR tile: drivers
// route partial tiles through a scratch tile. LDR may be 0 (one row
// broadcast to all MR rows: the dense layer's bias). Each element is one
// float32 accumulator (fused multiply-add allowed), so K blocking never
// changes the result.
//
// The field layout is part of the assembly contract (offsets in bytes on
// 64-bit targets: A 0, B 24, C 48, Bias 72, R 96, K 120, LDA 128, LDB 136,
// LDC 144, LDR 152, Lo 160, Hi 164, Flags 168, BRows 176, BOff 200, Segs 208);
// TestTileLayout checks it. A slice is (pointer, len, cap).
type Tile struct {
	A, B, C, Bias, R      []float32
	K, LDA, LDB, LDC, LDR int
	Lo, Hi                float32
	Flags                 int
	BRows                 [][]float32
	BOff                  int
	Segs                  []colSeg
}

// colSeg is a run of tile columns [j, j+n) whose output elements (row 0)
// are contiguous at c in the output and at r in the residual (Tile.Segs).
type colSeg struct {
	j, n int
	c, r int
}

// GemmKernel describes a micro-kernel. Names state the contract in the
// XNNPACK way: f32_gemm_minmax_<MR>x<NR>__<isa>, f32_gemm_tc_minmax_...
// for the transposed-C kernels.
type GemmKernel struct {
	Name   string
	MR, NR int
	// KC is the K block the kernel is tuned for (its B panel stays in L1
	// across the A panels); 0 means the whole K.
	KC int
	// RowsB reports that the kernel implements TileRowsB.
	RowsB bool
	// SegsC reports that the kernel implements TileSegs.
	SegsC bool
	// TransC reports a transposed-C kernel: element (i, j) of the tile is
	// stored at C[j*LDC+i] and read from R[j*LDR+i], Bias is indexed by j,
	// TileAccumulate and TileRowsB are ignored and the epilogue always
	// runs (the convolutions' pixel-row plan, conv_tc.go).
	TransC bool
	// Short lists kernels of the same contract and NR with fewer rows, in
	// increasing MR: a partial row panel runs on the smallest that holds
	// it instead of computing padding rows.
	Short []*GemmKernel
	// Tile computes one tile; see Tile.
	Tile func(t *Tile)
}

func (k *GemmKernel) String() string { return k.Name }

// gemmKernels lists the micro-kernels usable on this CPU, best first.
// Architecture files add their assembly kernels at init after checking the
// CPU (golang.org/x/sys/cpu); the pure-Go kernels are always available.
var gemmKernels []*GemmKernel

var genericKernels struct {
	sync.Mutex
	m map[[2]int]*GemmKernel
}

// genericGemm returns the pure-Go kernel of an mr x nr tile.
func genericGemm(mr, nr int) *GemmKernel {
	genericKernels.Lock()
	defer genericKernels.Unlock()
	if genericKernels.m == nil {
		genericKernels.m = map[[2]int]*GemmKernel{}
	}
	key := [2]int{mr, nr}
	if k := genericKernels.m[key]; k != nil {
		return k
	}
	k := &GemmKernel{
		Name: fmt.Sprintf("f32_gemm_minmax_%dx%d__go", mr, nr),
		MR:   mr, NR: nr, KC: 256,
		Tile: func(t *Tile) { gemmTileGo(t, mr, nr) },
	}
	genericKernels.m[key] = k
	return k
}

// largestDivisor returns the first of candidates that divides n, or n.
func largestDivisor(n int, candidates ...int) int {
	for _, c := range candidates {
		if n%c == 0 {
			return c
		}
	}
	return n
}

// GemmKernelForA returns the best kernel for weights packed in panels of
// packMR rows: its MR divides packMR.
func GemmKernelForA(packMR int) *GemmKernel {
	for _, k := range gemmKernels {
		if packMR%k.MR == 0 {
			return k
		}
	}
	return genericGemm(largestDivisor(packMR, 6, 4, 2), 16)
}

// GemmKernelForB returns the best kernel for a B operand packed at compile
// time in panels of packNR columns (the dense layer): its NR divides packNR.
func GemmKernelForB(packNR int) *GemmKernel {
	for _, k := range gemmKernels {
		if packNR%k.NR == 0 {
			return k
		}
	}
	return genericGemm(6, largestDivisor(packNR, 16, 8, 4))
}
