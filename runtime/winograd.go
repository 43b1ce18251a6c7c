package runtime

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions with padding 1: each
// 2x2 output tile costs 16 multiplications per input channel instead of
// 36. Per tile and input channel the 4x4 input window d becomes
// V = Bᵀ·d·B; per output channel the weights g become U = G·g·Gᵀ (at
// construction); then, for each of the 16 positions ξ of the transformed
// tile, M_ξ = U_ξ·V_ξ is a GEMM over the input channels (the usual
// micro-kernel, weights as A, tiles as B columns), and the output tile is
// Aᵀ·M·A, plus bias and residual, clamped. Tiles run over all frames, NR
// per B panel, so small maps still fill panels.
//
//	Bᵀ = | 1  0 -1  0 |   G = |  1    0    0  |   Aᵀ = | 1  1  1  0 |
//	     | 0  1  1  0 |       | 1/2  1/2  1/2 |        | 0  1 -1 -1 |
//	     | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
//	     | 0  1  0 -1 |       |  0    0    1  |

// WinoIn is the argument block of the Winograd input transform: for
// channels c < C and tiles i < N of one tile row, with d(r, s) =
// X(c, IY+r, IX+2i+s) (X the H x W plane Rows[c], 0 outside it) and
// t(r, ·) = (d0-d2, d1+d2, d2-d1, d1-d3) of row r,
//
//	V[(4a+b)*SXi + c*SC + i] = row a of (t0-t2, t1+t2, t2-t1, t1-t3), column b
//
// each entry one float32 subtraction or addition of the two before it.
// N is at most the kernel's tiles per call (a vector's lanes: 16 on
// AVX-512, 8 on AVX2). The field layout is part of the assembly contract.
type WinoIn struct {
	V               []float32
	Rows            [][]float32
	C, H, W, N      int
	IY, IX, SXi, SC int
}

// WinoOut is the argument block of the Winograd output transform: for
// channels c < C and tiles i < N of one tile row, with m(a, b) =
// M[c*SC + (4a+b)*SXi + i], r0(b) = (m0b+m1b)+m2b, r1(b) = (m1b-m2b)-m3b,
// y(a, 0) = (ra0+ra1)+ra2 and y(a, 1) = (ra1-ra2)-ra3,
//
//	o := c*OStride + (OY+a)*W + OX+2i+b
//	O[o] = min(max(y(a, b) + Bias[c] (+ Res[o]), Lo), Hi)
//
// for the outputs inside the H x W plane. N is at most the kernel's tiles
// per call, as for WinoIn. The field layout is part of the assembly
// contract.
type WinoOut struct {
	O, Res, M, Bias          []float32
	C, H, W, N               int
	OY, OX, OStride, SXi, SC int
	Lo, Hi                   float32
}

// winoInGo implements WinoIn in Go.
func winoInGo(a *WinoIn) {
	for c := range a.C {
		plane := a.Rows[c]
		for i := range a.N {
			var t [4][4]float32
			for r := range 4 {
				var d [4]float32
				y := a.IY + r
				for s := range 4 {
					if x := a.IX + 2*i + s; y >= 0 && y < a.H && x >= 0 && x < a.W {
						d[s] = plane[y*a.W+x]
					}
				}
				t[r] = [4]float32{d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]}
			}
			for b := range 4 {
				v := [4]float32{t[0][b] - t[2][b], t[1][b] + t[2][b], t[2][b] - t[1][b], t[1][b] - t[3][b]}
				for ar, x := range v {
					a.V[(4*ar+b)*a.SXi+c*a.SC+i] = x
				}
			}
		}
	}
}

// winoOutGo implements WinoOut in Go.
func winoOutGo(a *WinoOut) {
	for c := range a.C {
		for i := range a.N {
			m := func(ar, b int) float32 { return a.M[c*a.SC+(4*ar+b)*a.SXi+i] }
			var r [2][4]float32
			for b := range 4 {
				r[0][b] = (m(0, b) + m(1, b)) + m(2, b)
				r[1][b] = (m(1, b) - m(2, b)) - m(3, b)
			}
			for ar := range 2 {
				y := [2]float32{(r[ar][0] + r[ar][1]) + r[ar][2], (r[ar][1] - r[ar][2]) - r[ar][3]}
				oy := a.OY + ar
				for b, v := range y {
					ox := a.OX + 2*i + b
					if oy >= a.H || ox >= a.W {
						continue
					}
					o := c*a.OStride + oy*a.W + ox
					v += a.Bias[c]
					if a.Res != nil {
						v += a.Res[o]
					}
					a.O[o] = clamp(v, a.Lo, a.Hi)
				}
			}
		}
	}
}

// winograd is the plan of a convolution run with Winograd F(2x2, 3x3).
type winograd struct {
	in      func(*WinoIn)
	out     func(*WinoOut)
	maxN    int       // tiles per call of in and out
	u       []float32 // transformed weights: per ξ, A panels [panel][ci][MR]
	tx, ty  int       // tiles per row and per column of a frame
	tiles   int       // over all frames
	nt      int       // tiles per work item, a multiple of NR
	coutPad int       // output channels rounded up to whole panels
}

// winogradFits reports whether c's shape runs as Winograd F(2x2, 3x3) on
// this CPU: 3x3, stride 1, padding 1, one group, the transforms at this
// ISA level, and a kernel whose MR divides the packed panels' (a 6-row
// AVX2 kernel runs each 12-row panel as two halves).
func winogradFits(c *Conv) bool {
	if !winogradShape(c.s) || c.kern == nil || c.packMR%c.kern.MR != 0 || c.kern.NR > 32 {
		return false
	}
	in, out, _ := archWinograd(isa)
	return in != nil && out != nil
}

// winogradShape reports whether s is a convolution Winograd F(2x2, 3x3)
// computes: 3x3, stride 1, padding 1, one group.
func winogradShape(s ConvShape) bool {
	return s.KH == 3 && s.KW == 3 && s.StrideH == 1 && s.StrideW == 1 && s.DilationH == 1 && s.DilationW == 1 &&
		s.PadTop == 1 && s.PadLeft == 1 && s.PadBottom == 1 && s.PadRight == 1 && s.Group == 1
}

// winogradPays is the default rule: Winograd unless too many of the
// tiles' outputs fall outside the map (r.WinoMinFill).
func winogradPays(c *Conv, r Rules) bool {
	s := c.s
	tiles := ceilDiv(s.H, 2) * ceilDiv(s.W, 2)
	return 100*s.H*s.W >= r.WinoMinFill*4*tiles
}

// newWinograd plans c (winogradFits) as Winograd F(2x2, 3x3) with nt
// tiles per work item (rounded up to the kernel's NR; 0: r's rule).
func newWinograd(c *Conv, nt int, r Rules) *winograd {
	s := c.s
	in, out, maxN := archWinograd(isa)
	wg := &winograd{in: in, out: out, maxN: maxN, tx: ceilDiv(s.W, 2), ty: ceilDiv(s.H, 2)}
	wg.tiles = s.Frames * wg.tx * wg.ty
	wg.nt = ceilDiv(nt, c.kern.NR) * c.kern.NR
	if wg.nt == 0 {
		wg.nt = r.WinoTileBlock
		if ceilDiv(wg.tiles, wg.nt) < r.TargetItems {
			wg.nt = c.kern.NR
		}
	}
	wg.coutPad = c.panels * c.packMR
	// U = G·g·Gᵀ from the packed weights ([panel][ci*9 + kh*3 + kw][MR])
	G := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	mr, cin := c.packMR, s.Cin
	wg.u = AlignedFloats(16 * c.panels * cin * mr)
	for p := range c.panels {
		for ci := range cin {
			for i := range mr {
				var g [3][3]float64
				for kh := range 3 {
					for kw := range 3 {
						g[kh][kw] = float64(c.w[(p*c.k+ci*9+kh*3+kw)*mr+i])
					}
				}
				for ar := range 4 {
					for b := range 4 {
						var u float64
						for x := range 3 {
							for y := range 3 {
								u += G[ar][x] * g[x][y] * G[b][y]
							}
						}
						wg.u[(((4*ar+b)*c.panels+p)*cin+ci)*mr+i] = float32(u)
					}
				}
			}
		}
	}
	return wg
}

// runWinograd computes the convolution for the tiles of one work item.
func (c *Conv) runWinograd(p *Pool, worker, item int, in Rows, out, res []float32) {
	s, wg, kern := c.s, c.wino, c.kern
	nr := kern.NR
	t0 := item * wg.nt
	t1 := min(wg.tiles, t0+wg.nt)
	np := ceilDiv(t1-t0, nr) // B panels
	sxi := np*s.Cin*nr + 16  // V: [ξ][panel][ci][NR], the planes a cache line apart from 4 KiB multiples
	w := p.state(worker, 16*sxi, kern.MR, nr)
	w.packed = packKey{}         // buf now holds transformed tiles
	mxi := wg.coutPad*wg.nt + 16 // M: [ξ][co][nt], planes apart as V's
	if n := 16 * mxi; len(w.wino) < n {
		w.wino = AlignedFloats(AlignUp(n))
	}
	v, m := w.buf[:16*sxi], w.wino
	perFrame := wg.tx * wg.ty
	ohw := c.ohw
	segments := func(fn func(f, ty, tx, pos, n int)) {
		for t := t0; t < t1; {
			f, r := t/perFrame, t%perFrame
			ty, tx := r/wg.tx, r%wg.tx
			pos := t - t0
			n := min(wg.tx-tx, wg.maxN, nr-pos%nr, t1-t)
			fn(f, ty, tx, pos, n)
			t += n
		}
	}
	wi := &w.winoIn
	segments(func(f, ty, tx, pos, n int) {
		*wi = WinoIn{V: v[(pos/nr)*s.Cin*nr+pos%nr:], Rows: in[f*s.Cin : (f+1)*s.Cin], C: s.Cin, H: s.H, W: s.W, N: n,
			IY: 2*ty - 1, IX: 2*tx - 1, SXi: sxi, SC: nr}
		wg.in(wi)
	})
	// M_ξ = U_ξ·V_ξ, raw sums: [ξ][co][nt]
	t := &w.tile
	t.LDA, t.LDB, t.LDC, t.R, t.LDR, t.BRows = c.packMR, nr, wg.nt, nil, 0, nil
	kc := s.Cin
	if kern.KC > 0 && kc > kern.KC {
		kc = ceilDiv(kc, ceilDiv(kc, kern.KC))
	}
	for xi := range 16 {
		for jp := range np {
			for k0 := 0; k0 < s.Cin; k0 += kc {
				t.K = min(kc, s.Cin-k0)
				t.Flags = 0
				if k0 > 0 {
					t.Flags = TileAccumulate
				}
				t.B = v[xi*sxi+(jp*s.Cin+k0)*nr:]
				for pi := range c.panels {
					// the panel's rows kern.MR at a time, up to the last output channel
					for co0 := pi * c.packMR; co0 < min((pi+1)*c.packMR, s.Cout); co0 += kern.MR {
						t.A = wg.u[((xi*c.panels+pi)*s.Cin+k0)*c.packMR+co0-pi*c.packMR:]
						t.C = m[xi*mxi+co0*wg.nt+jp*nr:]
						kern.Tile(t)
					}
				}
			}
		}
	}
	wo := &w.winoOut
	segments(func(f, ty, tx, pos, n int) {
		o, r := frame(out, f, s.Cout*ohw), frame(res, f, s.Cout*ohw)
		*wo = WinoOut{O: o, Res: r, M: m[pos:], Bias: c.bias[:s.Cout], C: s.Cout, H: s.H, W: s.W, N: n,
			OY: 2 * ty, OX: 2 * tx, OStride: ohw, SXi: mxi, SC: wg.nt, Lo: c.lo, Hi: c.hi}
		wg.out(wo)
		if c.tail.kern != nil {
			rows, cols := min(2, s.H-2*ty), min(2*n, s.W-2*tx)
			for co := range s.Cout {
				c.tail.apply(w, o[co*ohw+2*ty*s.W+2*tx:], rows, cols, s.W)
			}
		}
	})
}
