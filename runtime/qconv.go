package runtime

import (
	"encoding/binary"
	"fmt"
)

// QConv is a quantised convolution (ONNX QLinearConv, or the QDQ pattern
// DQ -> Conv -> Q) planned for a fixed shape: uint8 input with a
// per-tensor zero point, int8 weights symmetric per output channel,
// int32 bias, and the requantisation of QRequant fused into the GEMM's
// epilogue, residual add included. It runs as an int8 GEMM per group
// (see QTile), as Conv does for float32. Run may be called any number of
// times, not concurrently. The result does not depend on the CPU, the
// kernel or the number of threads.
type QConv struct {
	s      ConvShape
	kern   *QGemmKernel
	packMR int
	w      []int8
	inZero uint8
	res    bool // a fused residual add
	// offset and scale are per packed row (group, panel, row): the bias
	// with the input zero-point correction (and 128*Σw for a kernel with
	// SignedB), and the requantisation scale
	offset []int32
	scale  []float32
	ep     QTile // the epilogue fields of every tile

	k, k4, cinG, coutG, panels int
	ow, ohw, pixels            int
	pointwise                  bool
	nc, nJB, nCB, cbPanels     int      // pixel block, pixel blocks, channel blocks and their panels
	epoch                      uint64   // Run count: a packed block is reused within one run only
	zero                       []uint8  // H*W (at least OW) zero points: padding rows
	padded                     *qPadded // the padded input (usePadded), made by the first Run
	inPlace                    *qInPlace
}

// Blocking of QConv: a pixel block's packed activations (all of K) stay
// in L2 while the weight panels stream past each of its panels.
const qBBudget = 256 << 10

// NewQConv plans a quantised convolution. packed and sums come from
// PackQConvWeights with panel height packMR; bias has Cout values or is
// nil; inZero is the input's zero point; rq says how accumulators become
// output bytes.
func NewQConv(s ConvShape, packed []int8, sums []int32, packMR int, bias []int32, inZero uint8, rq QRequant) (*QConv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	if err := rq.validate(s.Cout); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	c := &QConv{s: s, packMR: packMR, w: packed, inZero: inZero, res: rq.Add != nil}
	c.cinG, c.coutG = s.Cin/s.Group, s.Cout/s.Group
	c.k = qconvK(c.cinG, s.KH, s.KW)
	c.k4 = c.k / 4
	if packMR <= 0 {
		return nil, fmt.Errorf("%v: int8 weight panels of %d rows", s, packMR)
	}
	c.panels = ceilDiv(c.coutG, packMR)
	if want := PackedQConvWeightsLen(s.Cout, c.cinG, s.KH, s.KW, s.Group, packMR); len(packed) != want {
		return nil, fmt.Errorf("%v: packed int8 weights have %d values, want %d", s, len(packed), want)
	}
	if len(sums) != s.Cout {
		return nil, fmt.Errorf("%v: %d weight sums, want %d", s, len(sums), s.Cout)
	}
	if bias != nil && len(bias) != s.Cout {
		return nil, fmt.Errorf("%v: bias has %d values, want %d", s, len(bias), s.Cout)
	}
	c.kern = qgemmFor(packMR, weights7Bit(packed))
	rows := s.Group * c.panels * packMR
	c.offset, c.scale = make([]int32, rows), make([]float32, rows)
	for i := range c.scale {
		c.scale[i] = rq.scale(0)
	}
	for co := range s.Cout {
		g, o := co/c.coutG, co%c.coutG
		row := (g*c.panels+o/packMR)*packMR + o%packMR
		var b int32
		if bias != nil {
			b = bias[co]
		}
		// int32 arithmetic wraps, as the kernels' does: the offset is
		// exact modulo 2^32, and so is every accumulator
		off := b - int32(inZero)*sums[co]
		if c.kern.SignedB {
			off += 128 * sums[co]
		}
		c.offset[row] = off
		c.scale[row] = rq.scale(co)
	}
	rq.setEpilogue(&c.ep)
	c.ow = s.OutW()
	c.ohw = s.OutH() * c.ow
	c.pixels = s.Frames * c.ohw
	c.zero = constRow(max(s.H*s.W, c.ow), inZero)
	c.pointwise = s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 &&
		s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	c.blocks()
	if c.useInPlace() {
		c.inPlace = c.newInPlace()
	}
	return c, nil
}

// blocks splits the pixels into blocks whose packed activations fit
// qBBudget, smaller when that leaves too few work items, then the output
// channels into as many blocks as Rules.TargetItems wants beside them.
func (c *QConv) blocks() {
	nr := c.kern.NR
	nc := min(max(nr, qBBudget/(4*c.k4)/nr*nr), maxNC)
	if want := ceilDiv(rules.TargetItems, c.s.Group); ceilDiv(c.pixels, nc) < want {
		nc = max(min(nc, rules.MinNCPanels*nr), ceilDiv(ceilDiv(c.pixels, want), nr)*nr)
	}
	c.nJB = ceilDiv(c.pixels, nc)
	c.nc = ceilDiv(ceilDiv(c.pixels, c.nJB), nr) * nr
	c.nJB = ceilDiv(c.pixels, c.nc)
	c.nCB = min(c.panels, max(1, ceilDiv(rules.TargetItems, c.s.Group*c.nJB)))
	c.cbPanels = ceilDiv(c.panels, c.nCB)
	c.nCB = ceilDiv(c.panels, c.cbPanels)
}

// Shape returns the planned shape.
func (c *QConv) Shape() ConvShape { return c.s }

// Kernel returns the name of the int8 micro-kernel in use.
func (c *QConv) Kernel() string { return c.kern.Name }

func (c *QConv) profileName() string   { return "q" + c.s.String() }
func (c *QConv) profileFLOPs() float64 { return c.s.FLOPs() }

// Run computes the convolution of in (Frames x Cin rows of H*W bytes) into
// out [Frames][Cout][OH*OW]. residual, shaped like out and not aliasing
// it, is the residual input when the QRequant had an Add, else nil.
// Mismatched lengths are a code-generator bug and panic.
func (c *QConv) Run(p *Pool, in QRows, out, residual []uint8) {
	defer profileDone(c, profileStart())
	s := c.s
	checkQIn(in, s.Frames*s.Cin, s.H*s.W, "qconv")
	if len(out) != s.Frames*s.Cout*c.ohw || (residual != nil) != c.res || (residual != nil && len(residual) != len(out)) {
		panic(fmt.Sprintf("runtime: qconv output has %d bytes (residual %d, expected: %v), want %d",
			len(out), len(residual), c.res, s.Frames*s.Cout*c.ohw))
	}
	c.epoch++
	if c.usePadded() {
		c.pad(p, in, c.flip())
	}
	if ip := c.inPlace; ip != nil {
		p.For(s.Frames*ip.bands*ip.nCB, func(worker, item int) {
			c.runInPlace(p, worker, item, out, residual)
		})
		return
	}
	p.For(s.Group*c.nJB*c.nCB, func(worker, item int) {
		c.item(p, worker, item, in, out, residual)
	})
}

// flip is the byte the kernel's B operand is XORed with: 0x80 for a
// kernel that takes signed activations.
func (c *QConv) flip() uint8 {
	if c.kern.SignedB {
		return 0x80
	}
	return 0
}

func checkQIn(in QRows, rows, n int, op string) {
	if len(in) != rows {
		panic(fmt.Sprintf("runtime: %s input has %d rows, want %d", op, len(in), rows))
	}
	for i, r := range in {
		if len(r) != n {
			panic(fmt.Sprintf("runtime: %s input row %d has %d bytes, want %d", op, i, len(r), n))
		}
	}
}

// qWorkerState is what a pool worker reuses across int8 kernel calls.
// Like workerState it is padded so that no two workers' states share a
// cache line: the argument blocks are written for every tile.
type qWorkerState struct {
	_          [128]byte
	buf        []uint8 // packed activations
	tile       QTile
	tmpC, tmpR []uint8 // scratch tiles
	segs       []colSeg
	rows       [][]uint8 // the packer's row table
	pack       QPack     // the packing kernels' argument block
	copy       CopyRows  // the row copies' argument block (packing from the padded input)
	dw         QDWConv   // the depthwise kernels' argument block
	// QInvertedResidual: expanded rows, depthwise outputs, their row
	// tables
	blockE, blockD []uint8
	blockRows      QRows
	quads          []uint8 // QConv.pad: a frame's planes interleaved by quads
	// packed identifies the block buf holds: the channel blocks of a
	// pixel block, consecutive items, share one packing
	packed qPackKey
	_      [128]byte
}

// qPackKey identifies a packed pixel block: convolution, run, group and
// block.
type qPackKey struct {
	c     *QConv
	epoch uint64
	g, jb int
}

// qstate returns worker's int8 state with a packing buffer of at least n
// bytes and scratch tiles of mr x nr.
func (p *Pool) qstate(worker, n, mr, nr int) *qWorkerState {
	ws := p.state(worker, 0, 0, 0)
	if ws.q == nil {
		ws.q = &qWorkerState{segs: make([]colSeg, 0, 64)}
	}
	w := ws.q
	if len(w.buf) < n {
		w.buf = alignedBytes(n + 63)
		w.packed = qPackKey{}
	}
	if len(w.tmpC) < mr*nr {
		w.tmpC, w.tmpR = alignedBytes(mr*nr), alignedBytes(mr*nr)
	}
	return w
}

func (c *QConv) item(p *Pool, worker, item int, in QRows, out, res []uint8) {
	kern := c.kern
	nr := kern.NR
	g, r := item/(c.nJB*c.nCB), item%(c.nJB*c.nCB)
	jb, cb := r/c.nCB, r%c.nCB
	p0 := jb * c.nc
	np := min(c.nc, c.pixels-p0)
	nPan := ceilDiv(np, nr)
	panelBytes := c.k4 * 4 * nr
	w := p.qstate(worker, nPan*panelBytes, kern.MR, nr)
	if key := (qPackKey{c, c.epoch, g, jb}); w.packed != key {
		if c.padded != nil {
			c.packPadded(w, w.buf[:nPan*panelBytes], p0, np)
		} else {
			c.packB(w, w.buf[:nPan*panelBytes], in, g, p0, np, c.flip())
		}
		w.packed = key
	}
	t := &w.tile
	*t = c.ep
	t.K4, t.LDA = c.k4, 4*c.packMR
	pi0 := cb * c.cbPanels
	pi1 := min(c.panels, pi0+c.cbPanels)
	for jp := range nPan {
		t.B = w.buf[jp*panelBytes:][:panelBytes]
		// the output segments of the panel's pixels, one per frame
		w.segs = w.segs[:0]
		for j := jp * nr; j < min(np, (jp+1)*nr); {
			f, q := (p0+j)/c.ohw, (p0+j)%c.ohw
			n := min(c.ohw-q, (jp+1)*nr-j, np-j)
			off := f*c.s.Cout*c.ohw + g*c.coutG*c.ohw + q
			w.segs = append(w.segs, colSeg{j: j % nr, n: n, c: off, r: off})
			j += n
		}
		c.tiles(w, g, pi0, pi1, out, c.ohw, res, c.ohw)
	}
}

// tiles runs the weight panels [pi0, pi1) of group g on the packed panel
// in w.tile.B, for the output segments w.segs: output channel co (of the
// group) of a segment's pixel j at out[seg.c + co*ldc + j], its residual
// at res[seg.r + co*ldr + j].
func (c *QConv) tiles(w *qWorkerState, g, pi0, pi1 int, out []uint8, ldc int, res []uint8, ldr int) {
	kern := c.kern
	t := &w.tile
	full := len(w.segs) == 1 && w.segs[0].n == kern.NR
	for pi := pi0; pi < pi1; pi++ {
		panel := g*c.panels + pi
		for sub := 0; sub < c.packMR; sub += kern.MR {
			co0 := pi*c.packMR + sub
			if co0 >= c.coutG {
				break
			}
			t.A = c.w[panel*c.k4*4*c.packMR+4*sub:]
			t.Offset = c.offset[panel*c.packMR+sub:]
			t.Scale = c.scale[panel*c.packMR+sub:]
			m := min(kern.MR, c.coutG-co0)
			k := kern
			if m < k.MR {
				k = shortQKernel(k, m)
			}
			if full && m == k.MR {
				s := w.segs[0]
				t.C, t.LDC = out[s.c+co0*ldc:], ldc
				t.R, t.LDR = nil, 0
				if res != nil {
					t.R, t.LDR = res[s.r+co0*ldr:], ldr
				}
				k.Tile(t)
				continue
			}
			c.partialTile(w, k, m, co0, out, ldc, res, ldr)
		}
	}
}

// shortQKernel returns the smallest of k and its short kernels that
// holds m rows.
func shortQKernel(k *QGemmKernel, m int) *QGemmKernel {
	for _, s := range k.Short {
		if s.MR >= m {
			return s
		}
	}
	return k
}

// partialTile runs kern on a tile of m valid rows (output channels from
// co0 of the group) and the columns of w.segs through the scratch tile.
func (c *QConv) partialTile(w *qWorkerState, kern *QGemmKernel, m, co0 int, out []uint8, ldc int, res []uint8, ldr int) {
	nr := kern.NR
	t := &w.tile
	tc := w.tmpC[:kern.MR*nr]
	t.C, t.LDC = tc, nr
	t.R, t.LDR = nil, 0
	if res != nil {
		tr := w.tmpR[:kern.MR*nr]
		for _, s := range w.segs {
			for i := range m {
				copy(tr[i*nr+s.j:][:s.n], res[s.r+(co0+i)*ldr:][:s.n])
			}
		}
		t.R, t.LDR = tr, nr
	}
	kern.Tile(t)
	for _, s := range w.segs {
		for i := range m {
			copy(out[s.c+(co0+i)*ldc:][:s.n], tc[i*nr+s.j:][:s.n])
		}
	}
}

// packB packs the activations of the np pixels from p0 (group g) into
// buf: panel jp at jp*K4*4*NR, for each quad q of k the 4 bytes of each
// of the NR pixels (B[q*4*NR + 4*j + t] = X[4q+t][pixel j]), XOR flip.
// The padding channels of a quad read the input zero point (their weights
// are zero), so do the padding pixels of an im2col (x - zero = 0); pixel
// columns past np are left as they are (their outputs are never stored).
func (c *QConv) packB(w *qWorkerState, buf []uint8, in QRows, g, p0, np int, flip uint8) {
	s := c.s
	panelBytes := c.k4 * 4 * c.kern.NR
	for j := 0; j < np; {
		p := p0 + j
		f, q := p/c.ohw, p%c.ohw
		rows := in[f*s.Cin+g*c.cinG:][:c.cinG]
		if c.pointwise {
			// one run per frame, across panels
			n := min(c.ohw-q, np-j)
			c.packQuads(w, buf, panelBytes, c.quadRows(w, rows, 0, s.H*s.W), q, 1, j, n, flip)
			j += n
			continue
		}
		oy, ox := q/c.ow, q%c.ow
		n := min(c.ow-ox, np-j) // a run along an output row, across panels
		c.packIm2col(w, buf, panelBytes, rows, j, oy, ox, n, flip)
		j += n
	}
}

// quadRows returns the cin4 row slices of one tap, bytes [start, end) of
// the input channels and zero-point rows for the padding channels, in
// w's table.
func (c *QConv) quadRows(w *qWorkerState, rows [][]uint8, start, end int) [][]uint8 {
	s := c.s
	cin4 := c.k / (s.KH * s.KW)
	w.rows = w.rows[:0]
	for ci := range cin4 {
		if ci < len(rows) {
			w.rows = append(w.rows, rows[ci][start:end])
		} else {
			w.rows = append(w.rows, c.zero[:end-start])
		}
	}
	return w.rows
}

// packIm2col packs output pixels ox..ox+n of output row oy into block
// columns j0.. of buf: tap (ky, kx) reads input row oy*SH - PadTop +
// ky*DH, columns ox*SW - PadLeft + kx*DW + x*SW of each channel, or the
// zero point outside the input. When a tap holds few channels (a stem's
// one quad), a call a tap would cost more than its bytes: the pixels
// whose every tap lies within the row's columns then take one packing
// call for all their taps, the others one call each. Taps of many
// channels take a call each (packIm2colTaps).
func (c *QConv) packIm2col(w *qWorkerState, buf []uint8, panelBytes int, rows [][]uint8, j0, oy, ox, n int, flip uint8) {
	s := c.s
	if c.k/(s.KH*s.KW) > mergedTapChannels {
		c.packIm2colTaps(w, buf, panelBytes, rows, j0, oy, ox, n, flip)
		return
	}
	lo, hi := 0, n // the interior pixels
	for kx := range s.KW {
		ix0 := ox*s.StrideW - s.PadLeft + kx*s.DilationW
		if ix0 < 0 {
			lo = max(lo, ceilDiv(-ix0, s.StrideW))
		}
		hi = min(hi, ceilDiv(s.W-ix0, s.StrideW))
	}
	lo = min(lo, n)
	hi = max(lo, hi)
	for x := range lo {
		c.packTaps(w, buf, panelBytes, rows, j0+x, oy, ox+x, 1, flip)
	}
	if hi > lo {
		c.packTaps(w, buf, panelBytes, rows, j0+lo, oy, ox+lo, hi-lo, flip)
	}
	for x := hi; x < n; x++ {
		c.packTaps(w, buf, panelBytes, rows, j0+x, oy, ox+x, 1, flip)
	}
}

// mergedTapChannels is the most (padded) channels a tap has for
// packIm2col to pack its taps together.
const mergedTapChannels = 8

// packTaps packs every tap of n output pixels from ox of output row oy
// into block columns j0.. of buf in one call: each tap of the first pixel
// must lie within its row's columns or outside the input, and so must
// the other pixels' alike (one pixel always qualifies). Taps outside read
// zero-point rows.
func (c *QConv) packTaps(w *qWorkerState, buf []uint8, panelBytes int, rows [][]uint8, j0, oy, ox, n int, flip uint8) {
	s := c.s
	cin4 := c.k / (s.KH * s.KW)
	zero := c.zero[:min(len(c.zero), s.StrideW*n)]
	w.rows = w.rows[:0]
	for ky := range s.KH {
		iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
		for kx := range s.KW {
			ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
			inside := iy >= 0 && iy < s.H && ix >= 0 && ix < s.W
			for ci := range cin4 {
				if inside && ci < len(rows) {
					w.rows = append(w.rows, rows[ci][iy*s.W+ix:(iy+1)*s.W])
				} else {
					w.rows = append(w.rows, zero)
				}
			}
		}
	}
	c.packQuads(w, buf, panelBytes, w.rows, 0, s.StrideW, j0, n, flip)
}

// packIm2colTaps is packIm2col one call a tap: each call streams a run
// of the tap's rows, which pays once a tap holds many channels.
func (c *QConv) packIm2colTaps(w *qWorkerState, buf []uint8, panelBytes int, rows [][]uint8, j0, oy, ox, n int, flip uint8) {
	s := c.s
	nr := c.kern.NR
	cq := c.k / (s.KH * s.KW) / 4 // channel quads per tap
	for ky := range s.KH {
		iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
		for kx := range s.KW {
			dst := buf[(ky*s.KW+kx)*cq*4*nr:]
			if iy < 0 || iy >= s.H {
				c.packQuads(w, dst, panelBytes, c.zeroRows(w, n), 0, 1, j0, n, flip)
				continue
			}
			// pixels lo..hi read inside the row: 0 <= ix0 + x*SW < W
			ix0 := ox*s.StrideW - s.PadLeft + kx*s.DilationW
			lo := 0
			if ix0 < 0 {
				lo = min(n, ceilDiv(-ix0, s.StrideW))
			}
			hi := max(lo, min(n, ceilDiv(s.W-ix0, s.StrideW)))
			if lo > 0 {
				c.packQuads(w, dst, panelBytes, c.zeroRows(w, lo), 0, 1, j0, lo, flip)
			}
			if hi > lo {
				c.packQuads(w, dst, panelBytes, c.quadRows(w, rows, iy*s.W, (iy+1)*s.W), ix0+lo*s.StrideW, s.StrideW, j0+lo, hi-lo, flip)
			}
			if hi < n {
				c.packQuads(w, dst, panelBytes, c.zeroRows(w, n-hi), 0, 1, j0+hi, n-hi, flip)
			}
		}
	}
}

// zeroRows returns cin4 rows of n zero points, in w's table.
func (c *QConv) zeroRows(w *qWorkerState, n int) [][]uint8 {
	cin4 := c.k / (c.s.KH * c.s.KW)
	zero := c.zero[:n]
	w.rows = w.rows[:0]
	for range cin4 {
		w.rows = append(w.rows, zero)
	}
	return w.rows
}

// QPack is the argument block of the int8 packing kernels: they
// interleave activation rows four by four into the quads of the packed B
// operand, for Q quads of k and N pixels of one panel. For q < Q, x < N
// and t < 4:
//
//	Dst[q*4*NR + 4*x + t] = Rows[4q+t][Off + x*SW] ^ Flip
//
// N is at least qpackChunk (8): the kernels write whole steps (amd64:
// 16 pixels, or 8 for runs shorter than 16; arm64: 8), the last one
// overlapping the one before it where N is not a multiple (the bytes it
// writes again are the same).
// SW is 1 or 2 and the rows hold Off + SW*N bytes. The field layout is
// part of the assembly contract.
type QPack struct {
	Dst        []uint8
	Rows       [][]uint8
	Off, Q, SW int
	N, NR      int
	Flip       uint32 // the flip byte in all four bytes
}

// qpack is the packing kernel of the selected int8 level (selectQKernels).
var qpack = qpackGo

// runQPack runs the packing kernel on a, or the Go loop where a's run
// of pixels is shorter than the kernel's step (qpackChunk).
func runQPack(a *QPack) {
	if a.N >= qpackChunk {
		qpack(a)
	} else {
		qpackGo(a)
	}
}

// qpackGo implements QPack in Go, for any N and SW.
func qpackGo(a *QPack) {
	for q := range a.Q {
		r0, r1, r2, r3 := a.Rows[4*q][a.Off:], a.Rows[4*q+1][a.Off:], a.Rows[4*q+2][a.Off:], a.Rows[4*q+3][a.Off:]
		d := a.Dst[q*4*a.NR:][: 4*a.N : 4*a.N]
		for x := range a.N {
			o := x * a.SW
			v := uint32(r0[o]) | uint32(r1[o])<<8 | uint32(r2[o])<<16 | uint32(r3[o])<<24
			binary.LittleEndian.PutUint32(d[4*x:], v^a.Flip)
		}
	}
}

// packQuads packs pixels x < n of the quads of rows (Rows[4q+t][off +
// x*sw]) into block columns j0.. of buf (panels of panelBytes), a call a
// panel: the level's kernel where a panel gets at least its step, Go
// elsewhere.
func (c *QConv) packQuads(w *qWorkerState, buf []uint8, panelBytes int, rows [][]uint8, off, sw, j0, n int, flip uint8) {
	nr := c.kern.NR
	a := &w.pack
	*a = QPack{NR: nr, Flip: uint32(flip) * 0x01010101, Rows: rows, Q: len(rows) / 4, SW: sw}
	for x := 0; x < n; {
		col := j0 + x
		m := min(n-x, nr-col%nr) // to the panel's end
		a.Dst, a.Off, a.N = buf[(col/nr)*panelBytes+4*(col%nr):], off+x*sw, m
		if m >= qpackChunk && sw <= 2 {
			qpack(a)
		} else {
			qpackGo(a)
		}
		x += m
	}
}
