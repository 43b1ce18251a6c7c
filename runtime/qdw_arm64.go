//go:build arm64 && !purego

package runtime

// qdwConvNEON runs the QDWConv contract on the NEON plane kernel: each
// channel's plane is copied with its padding into Scratch, the kernel
// writes rows of OW rounded up to 8 outputs into Scratch too, and they are
// copied out.
func qdwConvNEON(a *QDWConv) {
	ldi, rows, ow8 := qdwPlaneLayout(a.OH, a.OW, a.Stride)
	in := a.Scratch[:ldi*rows]
	outs := a.Scratch[ldi*rows:][:a.OH*ow8]
	zero := constRow(ldi, uint8(a.InZero))
	ohw := a.OH * a.OW
	var pl QDWPlane
	pl.Idx = qdwIdx[a.Stride-1]
	for c := range a.C {
		plane := a.In[c][:a.IH*a.IW]
		for y := range rows {
			row := in[y*ldi : (y+1)*ldi]
			iy := y - a.PadTop
			if iy < 0 || iy >= a.IH {
				copy(row, zero)
				continue
			}
			copy(row[:a.PadLeft], zero)
			n := copy(row[a.PadLeft:], plane[iy*a.IW:(iy+1)*a.IW])
			copy(row[a.PadLeft+n:], zero)
		}
		var sum int32
		for i, v := range a.W[12*c : 12*c+12] {
			pl.W[i] = v
			sum += int32(v)
		}
		pl.O, pl.In = outs, in
		pl.OH, pl.OW8, pl.LDI, pl.Stride = a.OH, ow8, ldi, a.Stride
		pl.Offset, pl.Scale = a.Offset[c]+128*sum, a.Scale[c]
		pl.Zero, pl.Lo, pl.Hi = a.Zero, a.Lo, a.Hi
		dwconvPlaneQU8Minmax3x4NEONDOT(&pl)
		o := a.O[c*ohw : (c+1)*ohw]
		for oy := range a.OH {
			copy(o[oy*a.OW:(oy+1)*a.OW], outs[oy*ow8:])
		}
	}
}
