package runtime

import "fmt"

// qscores are the scores of a quantised attention (NewQAttention): the
// integer product of uint8 queries and keys on the int8 GEMM kernel with
// a float32 result (QFTile). With q and k the bytes and zq and zk their
// zero points, the kernel's A holds q - 128 as int8 and its B the keys as
// they are, so
//
//	Σ_d (q-zq)(k-zk) = Σ_d (q-128)·k - zk·Σ_d (q-128) - (zq-128)·Σ_d (k-zk)
//
// the second term a row's Offset, the third a column's Col.
type qscores struct {
	kern   *QFGemmKernel
	zq, zk int32
	mult   float32
	k4     int // quads of d
	panels int // column panels of the keys
	// keys packed per member (panels x k4 x 4*NR bytes) and their
	// columns' offsets (panels*NR), made once per run
	keys []uint8
	cols []int32
	// per worker: a block's queries packed (row panels x k4 x 4*MR
	// bytes), their rows' offsets, a scratch tile
	queries [][]int8
	rowOff  [][]int32
	tiles   [][]float32
}

// NewQAttention plans the attention of batch members of d x m uint8
// queries (QT, scale qScale, zero point qZero), d x n uint8 keys (K) and
// e x n float32 values (VT): the scores are
// scale·(float32(Σ_d (QT[d][i]-qZero)(K[d][j]-kZero))·(qScale·kScale)),
// exact integer products as onnxruntime's MatMulIntegerToFloat makes
// them; the softmax and the product with VT are Attention's.
func NewQAttention(batch, d, m, n, e int, scale, qScale float32, qZero uint8, kScale float32, kZero uint8) (*Attention, error) {
	if !validScale(qScale) || !validScale(kScale) {
		return nil, fmt.Errorf("attention of quantised queries and keys: scales %g and %g must be positive and finite", qScale, kScale)
	}
	if d > maxQAttentionDepth {
		return nil, fmt.Errorf("attention of quantised queries and keys of %d channels: at most %d fit int32", d, maxQAttentionDepth)
	}
	kern := qfgemmKernel
	a, err := newAttention(batch, d, m, n, e, scale, kern.MR)
	if err != nil {
		return nil, err
	}
	a.qs = &qscores{kern: kern, zq: int32(qZero), zk: int32(kZero), mult: qScale * kScale,
		k4: ceilDiv(d, 4), panels: ceilDiv(n, kern.NR)}
	a.qs.keys = make([]uint8, batch*a.qs.panels*a.qs.k4*4*kern.NR)
	a.qs.cols = make([]int32, batch*a.qs.panels*kern.NR)
	return a, nil
}

// maxQAttentionDepth bounds the channels of quantised queries and keys:
// |Σ_d (q-zq)(k-zk)| <= d·255·255 must fit int32.
const maxQAttentionDepth = (1<<31 - 1) / (255 * 255)

func (s *qscores) prepare(threads, rows int) {
	rowPanels := ceilDiv(rows, s.kern.MR)
	for len(s.queries) < threads {
		s.queries = append(s.queries, make([]int8, rowPanels*s.k4*4*s.kern.MR))
		s.rowOff = append(s.rowOff, make([]int32, rowPanels*s.kern.MR))
		s.tiles = append(s.tiles, make([]float32, s.kern.MR*s.kern.NR))
	}
}

// packKeys packs column panel c of member b's keys k [d][n] into B
// quads (padding zero) and sets its columns' offsets.
func (s *qscores) packKeys(k []uint8, b, c, d, n int) {
	nr := s.kern.NR
	panel := b*s.panels + c
	dst := s.keys[panel*s.k4*4*nr:][:s.k4*4*nr]
	cols := s.cols[panel*nr:][:nr]
	clear(cols)
	j0, w := c*nr, min(nr, n-c*nr)
	k = k[b*d*n:]
	for q := range s.k4 {
		quad := dst[q*4*nr:][: 4*nr : 4*nr]
		for t := range 4 {
			ch := 4*q + t
			if ch >= d {
				for j := range nr {
					quad[4*j+t] = 0
				}
				continue
			}
			row := k[ch*n+j0:][:w:w]
			for j, v := range row {
				quad[4*j+t] = v
				cols[j] += int32(v)
			}
			for j := w; j < nr; j++ {
				quad[4*j+t] = 0
			}
		}
	}
	// Col[j] = -(zq-128)·Σ_d (k - zk)
	for j := range w {
		cols[j] = -(s.zq - 128) * (cols[j] - int32(d)*s.zk)
	}
}

// packQueries packs rows r0..r0+rows of member b's queries qt [d][m]
// into A panels of q - 128 (padding zero) for worker w, with the rows'
// offsets -zk·Σ_d (q - 128).
func (s *qscores) packQueries(w int, qt []uint8, b, r0, rows, d, m int) {
	mr := s.kern.MR
	qt = qt[b*d*m:]
	off := s.rowOff[w]
	clear(off)
	for p := range ceilDiv(rows, mr) {
		dst := s.queries[w][p*s.k4*4*mr:][:s.k4*4*mr]
		i0, h := r0+p*mr, min(mr, rows-p*mr)
		sums := off[p*mr:][:mr:mr]
		for q := range s.k4 {
			quad := dst[q*4*mr:][: 4*mr : 4*mr]
			for t := range 4 {
				ch := 4*q + t
				if ch >= d {
					for i := range mr {
						quad[4*i+t] = 0
					}
					continue
				}
				row := qt[ch*m+i0:][:h:h]
				for i, v := range row {
					x := int8(v ^ 0x80)
					quad[4*i+t] = x
					sums[i] += int32(x)
				}
				for i := h; i < mr; i++ {
					quad[4*i+t] = 0
				}
			}
		}
	}
	for i := range off {
		off[i] *= -s.zk
	}
}

// scores computes the block's rows x n scores of member b into buf (ld n)
// for worker w.
func (s *qscores) scores(w int, qt []uint8, b, r0, rows, d, m, n int, buf []float32) {
	s.packQueries(w, qt, b, r0, rows, d, m)
	mr, nr := s.kern.MR, s.kern.NR
	t := QFTile{K4: s.k4, LDA: 4 * mr, Scale: s.mult}
	for p := range ceilDiv(rows, mr) {
		h := min(mr, rows-p*mr)
		t.A = s.queries[w][p*s.k4*4*mr:]
		t.Offset = s.rowOff[w][p*mr:]
		for c := range s.panels {
			panel := b*s.panels + c
			t.B = s.keys[panel*s.k4*4*nr:]
			t.Col = s.cols[panel*nr:]
			cw := min(nr, n-c*nr)
			out := buf[p*mr*n+c*nr:]
			if h == mr && cw == nr {
				t.C, t.LDC = out, n
				s.kern.Tile(&t)
				continue
			}
			t.C, t.LDC = s.tiles[w], nr
			s.kern.Tile(&t)
			for i := range h {
				copy(out[i*n:i*n+cw], s.tiles[w][i*nr:])
			}
		}
	}
}
