package runtime

// Pure-Go GEMM micro-kernels: the reference twins of the assembly kernels,
// and the kernels of the purego build and of every GOARCH without
// assembly. They walk the MR x NR tile in 2x4 sub-tiles whose 8
// accumulators, 2 A values and 4 B values stay in registers (amd64 has 15
// free XMM registers), each sub-tile running over the whole K.

// gemmTileGo implements the Tile contract for an mr x nr tile.
func gemmTileGo(t *Tile, mr, nr int) {
	i := 0
	for ; i+2 <= mr; i += 2 {
		j := 0
		for ; j+4 <= nr; j += 4 {
			gemmSub2x4(t, i, j)
		}
		for ; j < nr; j++ {
			gemmSub1x1(t, i, j)
			gemmSub1x1(t, i+1, j)
		}
	}
	for ; i < mr; i++ {
		for j := range nr {
			gemmSub1x1(t, i, j)
		}
	}
}

// gemmSub2x4 computes rows i, i+1 and columns j..j+3 of the tile.
func gemmSub2x4(t *Tile, i, j int) {
	a, b := t.A[i:], t.B[j:]
	lda, ldb := t.LDA, t.LDB
	c0 := t.C[i*t.LDC+j:][:4:4]
	c1 := t.C[(i+1)*t.LDC+j:][:4:4]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	if t.Flags&TileAccumulate != 0 {
		c00, c01, c02, c03 = c0[0], c0[1], c0[2], c0[3]
		c10, c11, c12, c13 = c1[0], c1[1], c1[2], c1[3]
	}
	ia, ib := 0, 0
	for range t.K {
		aa := a[ia : ia+2 : ia+2]
		bb := b[ib : ib+4 : ib+4]
		a0, a1 := aa[0], aa[1]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		ia += lda
		ib += ldb
	}
	if t.Flags&TileEpilogue != 0 {
		lo, hi := t.Lo, t.Hi
		bias0, bias1 := t.Bias[i], t.Bias[i+1]
		c00, c01, c02, c03 = c00+bias0, c01+bias0, c02+bias0, c03+bias0
		c10, c11, c12, c13 = c10+bias1, c11+bias1, c12+bias1, c13+bias1
		if t.R != nil {
			r0 := t.R[i*t.LDR+j:][:4:4]
			r1 := t.R[(i+1)*t.LDR+j:][:4:4]
			c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
			c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		}
		c00, c01, c02, c03 = clamp(c00, lo, hi), clamp(c01, lo, hi), clamp(c02, lo, hi), clamp(c03, lo, hi)
		c10, c11, c12, c13 = clamp(c10, lo, hi), clamp(c11, lo, hi), clamp(c12, lo, hi), clamp(c13, lo, hi)
	}
	c0[0], c0[1], c0[2], c0[3] = c00, c01, c02, c03
	c1[0], c1[1], c1[2], c1[3] = c10, c11, c12, c13
}

// gemmSub1x1 computes element (i, j) of the tile: the remainder of tiles
// whose sides are not multiples of the 2x4 sub-tile.
func gemmSub1x1(t *Tile, i, j int) {
	c := &t.C[i*t.LDC+j]
	var acc float32
	if t.Flags&TileAccumulate != 0 {
		acc = *c
	}
	for k := range t.K {
		acc += t.A[k*t.LDA+i] * t.B[k*t.LDB+j]
	}
	if t.Flags&TileEpilogue != 0 {
		acc += t.Bias[i]
		if t.R != nil {
			acc += t.R[i*t.LDR+j]
		}
		acc = clamp(acc, t.Lo, t.Hi)
	}
	*c = acc
}
