package runtime

import (
	"fmt"
	"math"
	"unsafe"
)

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
	queries [][]uint8
	signed  [][]int8 // queries read as int8
	rowOff  [][]int32
	tiles   [][]float32
	maxes   [][]float32 // the block rows' maxima
	rows    [][][]uint8 // the query rows' table
	packs   []QPack
	pad     []uint8 // a row of 128s: the query channels past d
	zeros   []uint8 // a row of zeros: the key channels past d
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
	a.qs.keys = alignedBytes(batch * a.qs.panels * a.qs.k4 * 4 * kern.NR)
	a.qs.pad, a.qs.zeros = alignedBytes(m), alignedBytes(n)
	for i := range a.qs.pad {
		a.qs.pad[i] = 0x80
	}
	a.qs.cols = make([]int32, batch*a.qs.panels*kern.NR)
	return a, nil
}

// maxQAttentionDepth bounds the channels of quantised queries and keys:
// |Σ_d (q-zq)(k-zk)| <= d·255·255 must fit int32.
const maxQAttentionDepth = (1<<31 - 1) / (255 * 255)

func (s *qscores) prepare(threads, rows int) {
	rowPanels := ceilDiv(rows, s.kern.MR)
	for len(s.queries) < threads {
		// QPack writes whole steps of up to 16 bytes past a panel's MR
		q := alignedBytes(rowPanels*s.k4*4*s.kern.MR + 64)
		s.queries = append(s.queries, q)
		s.signed = append(s.signed, unsafe.Slice((*int8)(unsafe.Pointer(&q[0])), len(q)))
		s.rowOff = append(s.rowOff, make([]int32, rowPanels*s.kern.MR))
		s.tiles = append(s.tiles, make([]float32, s.kern.MR*s.kern.NR))
		s.rows = append(s.rows, nil)
		s.maxes = append(s.maxes, make([]float32, rowPanels*s.kern.MR))
		s.packs = append(s.packs, QPack{})
	}
}

// channels appends to table the d channel rows (length l) of member b of
// x [batch][d][l], then fill until the quads of d are whole.
func (s *qscores) channels(table [][]uint8, x []uint8, b, d, l int, fill []uint8) [][]uint8 {
	for ch := range d {
		table = append(table, x[(b*d+ch)*l:][:l])
	}
	for len(table) < 4*s.k4 {
		table = append(table, fill[:l])
	}
	return table
}

// channelSums sets sums[j] to Σ_d table[ch][j0+j] for j < len(sums).
func channelSums(sums []int32, table [][]uint8, d, j0 int) {
	clear(sums)
	for ch := range d {
		for j, v := range table[ch][j0 : j0+len(sums) : j0+len(sums)] {
			sums[j] += int32(v)
		}
	}
}

// packKeys packs column panel c of member b's keys k [d][n] into B
// quads (QPack; the channels past d read a zero row) and sets its
// columns' offsets. The columns of a partial last panel past n are not
// written: their scores only reach the scratch tile.
func (s *qscores) packKeys(k []uint8, b, c, d, n int, a *QPack, table [][]uint8) {
	nr := s.kern.NR
	panel := b*s.panels + c
	j0, w := c*nr, min(nr, n-c*nr)
	table = s.channels(table, k, b, d, n, s.zeros)
	*a = QPack{Dst: s.keys[panel*s.k4*4*nr:], NR: nr, Rows: table, Q: s.k4, SW: 1, Off: j0, N: w}
	runQPack(a)
	// Col[j] = -(zq-128)·Σ_d (k - zk)
	cols := s.cols[panel*nr:][:nr]
	clear(cols[w:])
	channelSums(cols[:w], table, d, j0)
	for j := range w {
		cols[j] = -(s.zq - 128) * (cols[j] - int32(d)*s.zk)
	}
}

// packQueries packs rows r0..r0+rows of member b's queries qt [d][m]
// into A panels of q - 128 for worker w (the int8 packing kernel, QPack:
// A's panels have B's layout, MR wide), with the rows' offsets
// -zk·Σ_d (q - 128). The channels past d read the row of 128s (zero
// after the flip); the rows of a partial last panel past the block are
// not written: their scores only reach the scratch tile.
func (s *qscores) packQueries(w int, qt []uint8, b, r0, rows, d, m int) {
	mr := s.kern.MR
	table := s.channels(s.rows[w][:0], qt, b, d, m, s.pad)
	s.rows[w] = table
	a := &s.packs[w]
	*a = QPack{NR: mr, Flip: 0x80808080, Rows: table, Q: s.k4, SW: 1}
	for p := range ceilDiv(rows, mr) {
		a.Dst, a.Off, a.N = s.queries[w][p*s.k4*4*mr:], r0+p*mr, min(mr, rows-p*mr)
		runQPack(a)
	}
	off := s.rowOff[w][:rows]
	channelSums(off, table, d, r0)
	for i := range off {
		off[i] = -s.zk * (off[i] - 128*int32(d))
	}
	clear(s.rowOff[w][rows:])
}

// scores computes the block's rows x n scores of member b into buf (ld n)
// for worker w, and returns the rows' maxima.
func (s *qscores) scores(w int, qt []uint8, b, r0, rows, d, m, n int, buf []float32) []float32 {
	s.packQueries(w, qt, b, r0, rows, d, m)
	mr, nr := s.kern.MR, s.kern.NR
	maxes := s.maxes[w]
	for i := range maxes {
		maxes[i] = float32(math.Inf(-1))
	}
	t := QFTile{K4: s.k4, LDA: 4 * mr, Scale: s.mult}
	for p := range ceilDiv(rows, mr) {
		h := min(mr, rows-p*mr)
		t.A = s.signed[w][p*s.k4*4*mr:]
		t.Offset = s.rowOff[w][p*mr:]
		t.Max = maxes[p*mr:]
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
			// a partial tile through the scratch tile: the rows' maxima
			// over its columns inside n only
			t.C, t.LDC = s.tiles[w], nr
			if cw < nr {
				t.Max = nil
			}
			s.kern.Tile(&t)
			for i := range h {
				row := s.tiles[w][i*nr:][:cw]
				copy(out[i*n:i*n+cw], row)
				if cw < nr {
					maxes[p*mr+i] = max(maxes[p*mr+i], maxFloats(row))
				}
			}
			t.Max = maxes[p*mr:]
		}
	}
	return maxes[:rows]
}
