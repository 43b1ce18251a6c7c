package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refQAttention is NewQAttention's definition: the scores exactly as
// defined (int64 sums, float32 conversion and products), the softmax and
// the product with vt in float64.
func refQAttention(batch, d, m, n, e int, scale, qScale float32, qZero uint8, kScale float32, kZero uint8, qt, k []uint8, vt []float32) []float64 {
	mult := qScale * kScale
	return refAttend(batch, d, m, n, e, vt, func(b, i, j int) float64 {
		q, kb := qt[b*d*m:], k[b*d*n:]
		var acc int64
		for c := range d {
			acc += (int64(q[c*m+i]) - int64(qZero)) * (int64(kb[c*n+j]) - int64(kZero))
		}
		x := float32(acc) * mult
		if scale != 1 {
			x *= scale
		}
		return float64(x)
	})
}

func randBytes(rng *rand.Rand, n int) []uint8 {
	out := make([]uint8, n)
	for i := range out {
		out[i] = uint8(rng.UintN(256))
	}
	return out
}

// qfKernels are the int8 kernels with a float32 result of every level
// this CPU runs, then the pure-Go one.
func qfKernels() []*QFGemmKernel {
	var ks []*QFGemmKernel
	for _, l := range archQLevels() {
		if k := archQFGemmKernel(l); k != nil {
			ks = append(ks, k)
		}
	}
	return append(ks, qfgemmGo)
}

// TestQAttention checks the attention of quantised queries and keys
// against its definition at 1, 2 and 3 threads, with the int8 kernel of
// every level this CPU runs and the pure-Go one: depths not a multiple of 4, rows and keys
// past the kernels' tiles, short last blocks, several members, zero
// points at the ends of the range, scales.
func TestQAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	defer func(k *QFGemmKernel) { qfgemmKernel = k }(qfgemmKernel)
	for _, kern := range qfKernels() {
		qfgemmKernel = kern
		for _, c := range []struct {
			batch, d, m, n, e int
			scale             float32
			zq, zk            uint8
		}{
			{1, 1, 1, 1, 1, 1, 0, 0},
			{1, 4, 5, 3, 2, 1, 128, 128},
			{2, 7, 37, 9, 8, 0.5, 255, 3},
			{1, 16, 128, 33, 8, 1, 134, 127},
			{3, 5, 100, 17, 33, 0.125, 0, 255},
			{1, 35, 300, 400, 24, 1, 131, 137},
			{2, 12, 250, 1568, 16, 0.0625, 120, 10},
			{1, 64, 61, 200, 64, 1, 200, 60},
		} {
			qt, k, vt := randBytes(rng, c.batch*c.d*c.m), randBytes(rng, c.batch*c.d*c.n), randFloats(rng, c.batch*c.e*c.n)
			// scores of a few units
			qs, ks := float32(1/math.Sqrt(float64(c.d)))/64, float32(1.0/64)
			a, err := NewQAttention(c.batch, c.d, c.m, c.n, c.e, c.scale, qs, c.zq, ks, c.zk)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s: qattention b=%d d=%d m=%d n=%d e=%d scale=%g zq=%d zk=%d (blocks of %d)", kern.Name, c.batch, c.d, c.m, c.n, c.e, c.scale, c.zq, c.zk, a.rows)
			want := refQAttention(c.batch, c.d, c.m, c.n, c.e, c.scale, qs, c.zq, ks, c.zk, qt, k, vt)
			checkAtThreads(t, name, len(want), want, func(p *Pool, out []float32) { a.RunQ(p, qt, k, vt, out) })
		}
	}
}

func TestQAttentionErrors(t *testing.T) {
	if _, err := NewQAttention(1, 1, 1, 1, 1, 1, 0, 0, 1, 0); err == nil {
		t.Error("zero scale accepted")
	}
	if _, err := NewQAttention(1, maxQAttentionDepth+1, 1, 1, 1, 1, 1, 0, 1, 0); err == nil {
		t.Error("depth past int32 accepted")
	}
	if _, err := NewQAttention(1, 1, 0, 1, 1, 1, 1, 0, 1, 0); err == nil {
		t.Error("no queries accepted")
	}
}

// TestQScoresExact checks the integer scores themselves bit for bit
// against their definition, float32(Σ (q-zq)(k-zk)) · (qScale·kScale),
// and the rows' maxima the softmax takes, for every kernel: the softmax
// is blind to a row's constant, which a wrong key zero point adds.
func TestQScoresExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	defer func(k *QFGemmKernel) { qfgemmKernel = k }(qfgemmKernel)
	for _, kern := range qfKernels() {
		qfgemmKernel = kern
		for _, c := range [][7]int{{1, 3, 5, 7, 1, 0, 255}, {2, 13, 200, 45, 3, 134, 127}, {1, 256, 97, 33, 2, 255, 0}} {
			batch, d, m, n, e, zq, zk := c[0], c[1], c[2], c[3], c[4], uint8(c[5]), uint8(c[6])
			qs, ks := float32(0.0503), float32(0.0497)
			a, err := NewQAttention(batch, d, m, n, e, 1, qs, zq, ks, zk)
			if err != nil {
				t.Fatal(err)
			}
			qt, k := randBytes(rng, batch*d*m), randBytes(rng, batch*d*n)
			a.qs.prepare(1, a.rows)
			for b := range batch {
				for c := range a.qs.panels {
					a.qs.packKeys(k, b, c, d, n, &a.qs.packs[0], nil)
				}
			}
			buf := make([]float32, a.rows*n)
			for b := range batch {
				for r0 := 0; r0 < m; r0 += a.rows {
					rows := min(a.rows, m-r0)
					maxes := a.qs.scores(0, qt, b, r0, rows, d, m, n, buf)
					for i := range rows {
						if top := slices.Max(buf[i*n : (i+1)*n]); maxes[i] != top {
							t.Fatalf("%s: member %d row %d: maximum %v, want %v", kern.Name, b, r0+i, maxes[i], top)
						}
						for j := range n {
							var acc int32
							for ch := range d {
								acc += (int32(qt[b*d*m+ch*m+r0+i]) - int32(zq)) * (int32(k[b*d*n+ch*n+j]) - int32(zk))
							}
							if want := float32(acc) * (qs * ks); buf[i*n+j] != want {
								t.Fatalf("%s: member %d score [%d][%d] = %v, want %v", kern.Name, b, r0+i, j, buf[i*n+j], want)
							}
						}
					}
				}
			}
		}
	}
}
