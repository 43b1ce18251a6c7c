package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQInvertedResidual runs fused int8 blocks against their three
// operations run one after the other and against the ONNX reference of
// each: the same bytes, at every int8 level, for 1 to 3 threads and for
// bands of one row up to whole planes, parts of one row up to whole
// frames.
func TestQInvertedResidual(t *testing.T) {
	cases := []blockCase{
		{frames: 2, cin: 8, ce: 48, cout: 8, h: 9, w: 11, stride: 1, expand: true, residual: true},
		{frames: 1, cin: 16, ce: 96, cout: 24, h: 40, w: 40, stride: 2, expand: true},
		{frames: 1, cin: 24, ce: 144, cout: 24, h: 37, w: 33, stride: 1, expand: true, residual: true},
		{frames: 4, cin: 16, ce: 30, cout: 13, h: 7, w: 7, stride: 1, expand: true, residual: true, shift: true},
		{frames: 2, cin: 32, ce: 32, cout: 16, h: 30, w: 45, stride: 1},
		{frames: 1, cin: 12, ce: 12, cout: 20, h: 15, w: 16, stride: 2, residual: true},
		{frames: 3, cin: 5, ce: 7, cout: 3, h: 1, w: 2, stride: 1, expand: true, residual: true},
		{frames: 2, cin: 5, ce: 9, cout: 6, h: 2, w: 3, stride: 2, expand: true},
		{frames: 1, cin: 16, ce: 96, cout: 16, h: 14, w: 14, stride: 1, expand: true, residual: true},
		{frames: 2, cin: 16, ce: 48, cout: 24, h: 14, w: 14, stride: 2, expand: true, shift: true},
		{frames: 1, cin: 17, ce: 61, cout: 29, h: 13, w: 67, stride: 2, expand: true, residual: true},
		// a stem as the expansion: 3x3 stride 2 and stride 1
		{frames: 2, cin: 3, ce: 32, cout: 16, h: 20, w: 19, stride: 1, expand: true, ek: 3, es: 2},
		{frames: 1, cin: 3, ce: 24, cout: 8, h: 9, w: 10, stride: 2, expand: true, ek: 3, es: 2, shift: true},
		{frames: 2, cin: 8, ce: 24, cout: 8, h: 12, w: 13, stride: 1, expand: true, ek: 3, es: 1, residual: true},
	}
	for _, level := range archQLevels() {
		withQISA(level, func() {
			for ci, c := range cases {
				name := fmt.Sprintf("%s/case%d/%+v", level, ci, c)
				rng := rand.New(rand.NewPCG(uint64(ci), 23))
				es, ds, inC, inHW := c.shapes()
				x := make([]uint8, c.frames*inC*inHW)
				for i := range x {
					x[i] = uint8(rng.IntN(256))
				}
				inZero := uint8(rng.IntN(256))
				rows := PlainQRows(x, c.frames, inC, inHW)
				if c.shift {
					if err := rows.SetShifted(x, c.frames, inC, inHW, c.temporalShift(inC), nil, inZero); err != nil {
						t.Fatal(err)
					}
				}
				// each stage's data: its input zero point is the previous
				// stage's output zero point
				stage := func(s ConvShape, zero uint8, residual, relu6 bool) (qconvCase, []int8, []int32, QRequant, []uint8) {
					qc := qconvCase{s: s, packMR: PackQMR, inZero: zero, residual: residual, relu6: relu6, w7: rng.IntN(3) == 0}
					_, w, bias, rq, res := qconvData(rng, qc)
					return qc, w, bias, rq, res
				}
				var expand *QConv
				dwZero := inZero
				if c.expand {
					qc, w, bias, rq, _ := stage(es, inZero, false, true)
					expand = planQConv(t, qc, w, bias, rq)
					dwZero = rq.Zero
				}
				dqc, dw8, dbias, drq, _ := stage(ds, dwZero, false, true)
				dw, err := NewQDepthwiseConv(ds, dw8, dbias, dqc.inZero, drq)
				if err != nil {
					t.Fatal(err)
				}
				oh, ow := ds.OutH(), ds.OutW()
				pqc, pw, pbias, prq, res := stage(ConvShape{Frames: c.frames, Cin: c.ce, H: oh, W: ow, Cout: c.cout, KH: 1, KW: 1}, drq.Zero, c.residual, false)
				project := planQConv(t, pqc, pw, pbias, prq)

				// the three operations one after the other
				want := make([]uint8, c.frames*c.cout*oh*ow)
				func() {
					p := NewPool(1)
					defer p.Close()
					dwIn := rows
					if expand != nil {
						e := make([]uint8, c.frames*c.ce*c.h*c.w)
						expand.Run(p, rows, e, nil)
						dwIn = PlainQRows(e, c.frames, c.ce, c.h*c.w)
					}
					d := make([]uint8, c.frames*c.ce*oh*ow)
					dw.Run(p, dwIn, d)
					project.Run(p, PlainQRows(d, c.frames, c.ce, oh*ow), want, res)
				}()
				for _, plan := range []Plan{{}, {Band: 1}, {Band: 2, Parts: 3}, {Band: oh}, {Parts: 1}, {Band: 3, Parts: oh}} {
					b, err := NewQInvertedResidualPlan(expand, dw, project, plan)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for _, threads := range []int{1, 2, 3} {
						p := NewPool(threads)
						got := make([]uint8, len(want))
						for i := range got {
							got[i] = uint8(i * 7)
						}
						b.Run(p, rows, got, res)
						p.Close()
						if i := firstByteDiff(got, want); i >= 0 {
							t.Fatalf("%s plan %v threads=%d: out[%d] = %d, unfused %d", name, plan, threads, i, got[i], want[i])
						}
					}
				}
			}
		})
	}
}

func TestQInvertedResidualErrors(t *testing.T) {
	ds := ConvShape{Frames: 1, Cin: 8, Cout: 8, Group: 8, H: 6, W: 6, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	dw, err := NewQDepthwiseConv(ds, make([]int8, 72), nil, 0, QRequant{Scale: []float32{1}, Hi: 255})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewQInvertedResidual(nil, dw, nil); err == nil {
		t.Error("a block without a projection was accepted")
	}
	ps := ConvShape{Frames: 1, Cin: 8, H: 5, W: 6, Cout: 4, KH: 1, KW: 1}
	packed, sums, _ := PackQConvWeights(make([]int8, 32), 4, 8, 1, 1, 1, PackQMR)
	project, err := NewQConv(ps, packed, sums, PackQMR, nil, 0, QRequant{Scale: []float32{1}, Hi: 255})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewQInvertedResidual(nil, dw, project); err == nil {
		t.Error("a projection of the wrong height was accepted")
	}
}
