package runtime

import (
	"slices"
	"unsafe"
)

// Transposed-C plan: a pointwise convolution with few pixels per frame
// runs with the frame's pixels as the GEMM's rows (broadcast from the
// input rows) and its output channels as the vectorised columns, through
// a kernel that stores the tile transposed (GemmKernel.TransC). Pixel
// panels of 32 waste a quarter of a 49-pixel 7x7 map (64 columns
// computed) and an eighth of a 14x14 one, and their partial panels go
// through a scratch tile; output channels come in multiples of 32 in
// these layers, and tiles of 13 and 12 pixels cover 25, 49, 100 and 196
// pixels exactly (tcTiles). The kernel transposes its tile in registers
// (16x16 unpack and lane-shuffle networks) and stores each output
// channel's MR pixels with one masked store; the cost model in newTCPlan
// charges that.

// gemmTC is the transposed-C kernel in use (its Short list covers partial
// pixel tiles), or nil: then no convolution runs transposed.
var gemmTC *GemmKernel

// tcPlan is the transposed-C plan of a Conv.
type tcPlan struct {
	kern   *GemmKernel
	w      []float32 // weights in panels of NR output channels: [panel][k][NR]
	bias   []float32 // bias padded to panels*NR
	panels int
	tiles  int   // pixel tiles per frame
	tileAt []int // per tile: its first pixel (a frame's tiles end to end)
	perQB  int   // panels per work item
	nQB    int   // panel blocks
	// residual: the plan still pays when a residual is added; else
	// runs with one take the pixel-major plan (both give the same bits:
	// each output is the same K-ordered chain of fused multiply-adds,
	// then bias, residual and clamp)
	residual bool
	// needsDirect: the plan pays only while it reads every frame's input rows
	// as one matrix; through a shift (rows from other frames) runs take
	// the pixel-major plan. Set for several frames of more than 8x8:
	// there each transposed tile packs its K input rows again, while the
	// pixel-major kernel reads shifted rows in place; on 7x7 maps, and
	// for single frames, the transposed plan stays ahead.
	needsDirect bool
	direct      []bool // per frame: its input rows form a matrix (set by takesTC)
	slot        []int  // per frame: its place among the frames runTC packs, or -1
	frames      []int  // the frames runTC packs
}

// tcStoreSteps is the cost of a tile's transposed store in K steps of
// the kernel (two 16x16 networks of 56 shuffles, 32 masked stores);
// tcResidualSteps that of adding its residual (32 masked loads).
const (
	tcStoreSteps    = 8
	tcResidualSteps = 3
)

// tcFits reports whether c can run transposed: a pointwise convolution
// of one group on a CPU with a transposed-C kernel.
func tcFits(c *Conv) bool {
	return gemmTC != nil && c.pointwise && c.s.Group == 1
}

// newTCPlan returns the transposed plan of c (tcFits) with panels output
// panels per work item (0: r's rule). Unless explicit, it returns nil
// where r's cost model prefers the pixel-major plan, and the plan then
// runs only the calls it pays for (takesTC). It repacks the weights
// (packed at compile time for the pixel-major kernels) into panels of the
// kernel's NR output channels.
func newTCPlan(c *Conv, panels int, explicit bool, r Rules) *tcPlan {
	k := gemmTC
	s := c.s
	if !tcFits(c) {
		return nil
	}
	nr := k.NR
	tileAt, tileRows := tcTiles(k, c.ohw)
	// rows times columns computed, times K steps: the pixel-major 12x32
	// and the transposed 13x32 and 12x32 kernels take the same time per
	// row and K step
	pixelMajor := ceilDiv(c.coutG, c.kern.MR) * c.kern.MR * ceilDiv(c.pixels, c.kern.NR) * c.kern.NR * c.k
	transposed := func(steps int) int {
		return ceilDiv(c.coutG, nr) * nr * s.Frames * tileRows * (c.k + steps)
	}
	// On small maps the pixel-major plan also pays for packing and
	// scratch tiles at every frame edge inside a panel: count 10% there.
	// With several frames of 14x14 or more, pixel-major blocks span whole
	// frames, while each transposed tile streams the weights again: the
	// transposed plan then wins only when the weights are at least twice
	// as deep as they are wide.
	severalLarge := s.Frames > 1 && c.ohw > 64
	manyFrames := severalLarge && c.k < 2*c.coutG
	wins := func(steps int) bool {
		return c.ohw <= r.TCMaxPixels && !manyFrames && 90*transposed(steps) < r.TCWeight*pixelMajor
	}
	if !explicit && !wins(tcStoreSteps) {
		return nil
	}
	t := &tcPlan{kern: k, panels: ceilDiv(c.coutG, nr), tileAt: tileAt,
		residual: explicit || wins(tcStoreSteps+tcResidualSteps), needsDirect: !explicit && severalLarge,
		direct: make([]bool, s.Frames), slot: make([]int, s.Frames)}
	t.tiles = len(t.tileAt)
	t.w = AlignedFloats(t.panels * c.k * nr)
	for co := range c.coutG {
		src := c.w[(co/c.packMR)*c.k*c.packMR+co%c.packMR:]
		dst := t.w[(co/nr)*c.k*nr+co%nr:]
		for kk := range c.k {
			dst[kk*nr] = src[kk*c.packMR]
		}
	}
	t.bias = make([]float32, t.panels*nr)
	for co := range c.coutG {
		t.bias[co] = c.bias[(co/c.packMR)*c.packMR+co%c.packMR]
	}
	// enough work items to balance a few workers, each a pixel tile
	// against a block of panels
	t.perQB = max(1, t.panels*s.Frames*t.tiles/r.TargetItems)
	if panels > 0 {
		t.perQB = panels
	}
	t.perQB = min(t.perQB, t.panels)
	t.nQB = ceilDiv(t.panels, t.perQB)
	return t
}

// tcTiles splits a frame of n pixels into the transposed plan's tiles
// and returns where each starts and the rows the kernels compute: whole
// tiles of kernel k and its short kernels end to end, then at most one
// partial tile, on the smallest kernel that holds it. Of the splits, it
// takes the one of fewest rows, then of fewest tiles: with 13- and
// 12-row kernels, 25, 49, 100 and 196 pixels are split exactly (12+13,
// 3*12+13, 4*12+4*13, 12*12+4*13), where 12-row tiles alone compute up
// to 12% more.
func tcTiles(k *GemmKernel, n int) (at []int, rows int) {
	sizes := []int{k.MR}
	for _, s := range k.Short {
		sizes = append(sizes, s.MR)
	}
	// fewest whole tiles covering exactly j pixels, and the last one's rows
	tiles, last := make([]int, n+1), make([]int, n+1)
	for j := 1; j <= n; j++ {
		tiles[j] = -1
		for _, sz := range sizes {
			if sz <= j && tiles[j-sz] >= 0 && (tiles[j] < 0 || tiles[j-sz]+1 < tiles[j]) {
				tiles[j], last[j] = tiles[j-sz]+1, sz
			}
		}
	}
	best, bestRows, bestTiles := -1, 0, 0
	for j := n; j >= 0; j-- {
		if tiles[j] < 0 || n-j > k.MR {
			continue
		}
		rows, nt := j, tiles[j]
		if j < n {
			rows, nt = j+shortFor(k, n-j).MR, nt+1
		}
		if best < 0 || rows < bestRows || rows == bestRows && nt < bestTiles {
			best, bestRows, bestTiles = j, rows, nt
		}
	}
	for j := best; j > 0; j -= last[j] {
		at = append(at, j-last[j])
	}
	slices.Reverse(at)
	if best < n {
		at = append(at, best)
	}
	return at, bestRows
}

// tile returns where tile i of a frame of n pixels starts and its pixels.
func (t *tcPlan) tile(i, n int) (p0, m int) {
	end := n
	if i+1 < t.tiles {
		end = t.tileAt[i+1]
	}
	return t.tileAt[i], end - t.tileAt[i]
}

// shortFor returns the smallest of k and its short kernels with at least m
// rows (k itself when none of them has).
func shortFor(k *GemmKernel, m int) *GemmKernel {
	for _, s := range k.Short {
		if s.MR >= m {
			return s
		}
	}
	return k
}

// contiguous reports whether rows are one after the other in memory, n
// floats apart: the kernel may then read them as a matrix.
func contiguous(rows Rows, n int) bool {
	if len(rows) == 0 {
		return false
	}
	base := unsafe.Pointer(unsafe.SliceData(rows[0]))
	for i, r := range rows {
		if unsafe.Pointer(unsafe.SliceData(r)) != unsafe.Add(base, 4*i*n) {
			return false
		}
	}
	return true
}

// takesTC reports whether a run on in with residual (nil for none) takes
// the transposed plan, noting in c.tc.direct for runTC which frames'
// input rows form a matrix.
func (c *Conv) takesTC(in Rows, residual []float32) bool {
	t, s := c.tc, c.s
	if t == nil || (residual != nil && !t.residual) {
		return false
	}
	for f := range s.Frames {
		t.direct[f] = contiguous(in[f*s.Cin:(f+1)*s.Cin], c.ohw)
		if t.needsDirect && !t.direct[f] {
			return false
		}
	}
	return true
}

// RunsTransposed reports whether a run on in with residual (nil for
// none) takes the transposed plan: a plan the rules chose takes it only
// where it pays (takesTC).
func (c *Conv) RunsTransposed(in Rows, residual []float32) bool {
	if c.sub != nil {
		return c.sub.takesTC(c.subRows, residual)
	}
	return c.takesTC(in, residual)
}

// runTC runs the convolution with the transposed plan, after takesTC.
// A pixel tile reads its A operand in place from its frame's input rows
// where they form a matrix [k][ohw], the last, partial tile the frame's
// last pixels its kernel has rows for (the rows before its m, computed
// again, are not stored). Other frames' tiles (rows through a shift) are
// packed first, each once for all panel blocks, into the pool's shared
// buffer.
func (c *Conv) runTC(p *Pool, in Rows, out, res []float32) {
	t, s := c.tc, c.s
	tileLen := c.k * t.kern.MR // a packed tile
	// the last tile's rows fit in the frame (a frame of fewer pixels than
	// its kernel's rows is packed)
	_, mLast := t.tile(t.tiles-1, c.ohw)
	fits := c.ohw >= shortFor(t.kern, mLast).MR
	t.frames = t.frames[:0]
	for f := range s.Frames {
		t.slot[f] = -1
		if !t.direct[f] || !fits {
			t.slot[f] = len(t.frames)
			t.frames = append(t.frames, f)
		}
	}
	var packed []float32
	if len(t.frames) > 0 {
		packed = p.Shared(len(t.frames) * t.tiles * tileLen)
		p.For(len(t.frames)*t.tiles, func(worker, item int) {
			f, tile := t.frames[item/t.tiles], item%t.tiles
			p0, m := t.tile(tile, c.ohw)
			mr := shortFor(t.kern, m).MR
			a := &p.state(worker, 0, mr, t.kern.NR).pack
			*a = PackRun{Dst: packed[item*tileLen:][:(c.k-1)*mr+m], Rows: in[f*s.Cin : (f+1)*s.Cin], K0: 0, KN: c.k, N: m,
				LDD: mr, IX: p0, KH: 1, KW: 1, DH: 1, DW: 1, H: 1, W: c.ohw, SW: 1}
			pack := c.im2col
			if pack == nil || m > c.im2colN {
				pack = packRunGo
			}
			pack(a)
		})
	}
	perFrame := t.tiles * t.nQB
	p.For(s.Frames*perFrame, func(worker, item int) {
		f, r := item/perFrame, item%perFrame
		// consecutive items share a panel block: it is read from memory
		// once and from L2 for the frame's other pixel tiles
		qb, tile := r/t.tiles, r%t.tiles
		p0, m := t.tile(tile, c.ohw)
		kern := shortFor(t.kern, m)
		mr, nr := kern.MR, kern.NR
		w := p.state(worker, 0, mr, nr)
		w.packed = packKey{} // buf no longer holds a packed B block
		tl := &w.tile
		lead := 0
		if n := t.slot[f]; n >= 0 {
			tl.A, tl.LDA = packed[(n*t.tiles+tile)*tileLen:], mr
		} else {
			lead = mr - m
			tl.A, tl.LDA = in[f*s.Cin][p0-lead:], c.ohw // verified contiguous
		}
		tl.K, tl.LDB, tl.Lo, tl.Hi, tl.Flags = c.k, nr, c.lo, c.hi, TileEpilogue
		tl.BRows, tl.BOff = nil, 0
		for q := qb * t.perQB; q < min(t.panels, (qb+1)*t.perQB); q++ {
			co0 := q * nr
			n := min(nr, c.coutG-co0)
			tl.B, tl.Bias = t.w[q*c.k*nr:], t.bias[co0:]
			at := (f*s.Cout+co0)*c.ohw + p0
			if m == mr && n == nr {
				tl.C, tl.LDC = out[at:], c.ohw
				tl.R, tl.LDR = nil, 0
				if res != nil {
					tl.R, tl.LDR = res[at:], c.ohw
				}
				kern.Tile(tl)
				c.tail.apply(w, out[at:], n, m, c.ohw)
				continue
			}
			// partial tile: through the scratch tile, [NR][MR]
			tc := w.tmpC[:nr*mr]
			tl.C, tl.LDC = tc, mr
			tl.R, tl.LDR = nil, 0
			if res != nil {
				tr := w.tmpR[:nr*mr]
				for j := range n {
					copy(tr[j*mr+lead:][:m], res[at+j*c.ohw:][:m])
				}
				tl.R, tl.LDR = tr, mr
			}
			kern.Tile(tl)
			for j := range n {
				copy(out[at+j*c.ohw:][:m], tc[j*mr+lead:][:m])
			}
			c.tail.apply(w, out[at:], n, m, c.ohw)
		}
	})
}
