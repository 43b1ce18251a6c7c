package runtime

// Shared GEMM driver pieces: per-worker state and the routing of partial
// tiles through a scratch tile, so micro-kernels only ever see full tiles.

// workerState is what one pool worker reuses from kernel call to kernel
// call.
//
// Workers write their states all the time (tile arguments, plans), so a
// state must share no cache line with another's: the padding keeps the
// allocator's neighbours away, which would otherwise slow two workers'
// items side by side.
type workerState struct {
	_    [128]byte
	buf  []float32 // packing buffer
	tile Tile
	// tileSegs are the column runs of w.tile (TileSegs)
	tileSegs []colSeg
	tmpC     []float32 // scratch tile for partial tiles
	tmpR     []float32
	segs     []colSeg
	runs     []pixelRun
	segAt    []int // segs[segAt[jp]:segAt[jp+1]] are the segments of panel jp
	// direct[jp] is the index in runs of panel jp's single run when the
	// kernel reads that panel straight from the input rows, or -1
	direct []int
	packed packKey // the B block buf holds, when reusable
	sink   float32 // what readAhead read, so that its loads stay
	// acc holds, while a convolution's K blocks run, the partial tiles
	// of its B panels that do not go straight to the output, so that
	// they accumulate there instead of being copied out and back in for
	// every K block: the tile of weight panel pi (from accPi0) and row
	// sub of B panel jp (panels of packMR rows, tiles NR wide) is at
	// acc[((accSlot[jp]*accPanels+pi-accPi0)*packMR+sub)*NR:]; accCur is
	// B panel jp's slice of acc, nil for none (conv.go)
	acc               []float32
	accSlot           []int
	accCur            []float32
	accPi0, accPanels int
	// argument blocks of the depthwise, packing and max-pool kernels,
	// here so that calls through the kernel variables do not allocate
	dw       DWConv
	dwRow    DWRow
	pack     PackRun
	maxPool  MaxPoolRow
	qmaxPool QMaxPoolRow
	act      ActRows
	mul      MulRows
	scale    [1]float32 // mul's constant
	taps     DWTaps
	copy     CopyRows
	// Winograd: the transforms' argument blocks and the products M
	winoIn  WinoIn
	winoOut WinoOut
	wino    []float32
	// InvertedResidual: expanded rows, depthwise outputs, their row tables
	blockE, blockD []float32
	blockRows      Rows
	tab            Rows          // a phase plan's row table of B (conv_phase.go)
	dwPad          []float32     // padded rows of dwConvRows
	warm           float32       // warmRows' sum, kept so its loads are not dropped
	q              *qWorkerState // the int8 kernels' state (qconv.go)
	_              [128]byte
}

// state returns worker's state with a packing buffer of at least n floats
// and scratch tiles for tiles of up to mr x nr.
func (p *Pool) state(worker, n, mr, nr int) *workerState {
	w := p.ws[worker]
	if w == nil {
		// The small per-call slices start large enough (multiples of
		// 64 bytes) that no two workers' land on one cache line.
		w = &workerState{segs: make([]colSeg, 0, 256), runs: make([]pixelRun, 0, 256),
			segAt: make([]int, 0, 256), direct: make([]int, 0, 256)}
		p.ws[worker] = w
	}
	if len(w.buf) < n {
		w.buf = AlignedFloats(AlignUp(n))
	}
	if len(w.tmpC) < mr*nr {
		w.tmpC = AlignedFloats(AlignUp(mr * nr))
		w.tmpR = AlignedFloats(AlignUp(mr * nr))
	}
	return w
}

// runTile runs the kernel on the tile set up in w.tile (A, B, K, LDA, LDB,
// Bias, Lo, Hi) for the m valid rows and the column segments segs of the
// output: out at offset segs[i].c + cRow + row*ldc, the residual res
// (nil for none) at segs[i].r + rRow + row*ldr. Full tiles go straight to
// the output; others through w's scratch tile.
func (w *workerState) runTile(k *GemmKernel, m int, segs []colSeg, out []float32, cRow, ldc int, res []float32, rRow, ldr int, flags int) {
	if m < k.MR {
		k = shortFor(k, m)
	}
	t := &w.tile
	t.Flags = flags
	if m == k.MR && len(segs) == 1 && segs[0].n == k.NR {
		s := segs[0]
		t.C, t.LDC = out[s.c+cRow:], ldc
		t.R, t.LDR = nil, 0
		if res != nil && flags&TileEpilogue != 0 {
			t.R, t.LDR = res[s.r+rRow:], ldr
		}
		k.Tile(t)
		return
	}
	if k.SegsC && m == k.MR {
		w.runSegs(k, segs, out, cRow, ldc, res, rRow, ldr)
		return
	}
	nr := k.NR
	tc := w.tmpC[:k.MR*nr]
	if flags&TileAccumulate != 0 {
		gatherTile(tc, nr, m, segs, out, cRow, ldc, false)
	}
	t.C, t.LDC = tc, nr
	t.R, t.LDR = nil, 0
	if res != nil && flags&TileEpilogue != 0 {
		tr := w.tmpR[:k.MR*nr]
		gatherTile(tr, nr, m, segs, res, rRow, ldr, true)
		t.R, t.LDR = tr, nr
	}
	k.Tile(t)
	scatterTile(tc, nr, m, segs, out, cRow, ldc)
}

// runSegs runs a full-height tile whose columns are segs on a kernel that
// stores them in place (TileSegs), the flags set in w.tile.
func (w *workerState) runSegs(k *GemmKernel, segs []colSeg, out []float32, cRow, ldc int, res []float32, rRow, ldr int) {
	t := &w.tile
	w.tileSegs = w.tileSegs[:0]
	for _, s := range segs {
		w.tileSegs = append(w.tileSegs, colSeg{j: s.j, n: s.n, c: s.c + cRow, r: s.r + rRow})
	}
	t.C, t.LDC = out, ldc
	t.R, t.LDR = nil, 0
	if res != nil && t.Flags&TileEpilogue != 0 {
		t.R, t.LDR = res, ldr
	}
	t.Segs = w.tileSegs
	t.Flags |= TileSegs
	k.Tile(t)
	t.Segs = nil
}

// gatherTile copies the m rows of a tile's column segments from src into
// dst (rows nr apart): row i of segment s from src[s.c+row+i*ld:], or
// from src[s.r+row+i*ld:] for a residual.
func gatherTile(dst []float32, nr, m int, segs []colSeg, src []float32, row, ld int, residual bool) {
	for _, s := range segs {
		off := s.c
		if residual {
			off = s.r
		}
		for i := range m {
			copyFloats(dst[i*nr+s.j:][:s.n], src[off+row+i*ld:][:s.n])
		}
	}
}

// scatterTile copies the m rows (nr apart in tc) of a tile's column
// segments to the output: row i of segment s at out[s.c+cRow+i*ldc:].
func scatterTile(tc []float32, nr, m int, segs []colSeg, out []float32, cRow, ldc int) {
	for _, s := range segs {
		for i := range m {
			copyFloats(out[s.c+cRow+i*ldc:][:s.n], tc[i*nr+s.j:][:s.n])
		}
	}
}

// runTileAcc is runTile for a tile that takes part in a GEMM of several
// K blocks: a tile that does not go straight to the output accumulates
// in acc (MR x NR floats, the same for each K block of the tile) and is
// copied out only after the last K block, the one with the epilogue.
func (w *workerState) runTileAcc(k *GemmKernel, m int, acc []float32, segs []colSeg, out []float32, cRow, ldc int, res []float32, rRow, ldr int, flags int) {
	if m < k.MR {
		k = shortFor(k, m)
	}
	if m == k.MR && (len(segs) == 1 && segs[0].n == k.NR || k.SegsC) {
		// straight to the output, K block after K block
		w.runTile(k, m, segs, out, cRow, ldc, res, rRow, ldr, flags)
		return
	}
	nr := k.NR
	t := &w.tile
	t.Flags = flags
	t.C, t.LDC = acc[:k.MR*nr], nr
	t.R, t.LDR = nil, 0
	epilogue := flags&TileEpilogue != 0
	if res != nil && epilogue {
		tr := w.tmpR[:k.MR*nr]
		gatherTile(tr, nr, m, segs, res, rRow, ldr, true)
		t.R, t.LDR = tr, nr
	}
	k.Tile(t)
	if epilogue {
		scatterTile(acc, nr, m, segs, out, cRow, ldc)
	}
}
