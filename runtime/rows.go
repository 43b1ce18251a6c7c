package runtime

import (
	"fmt"
	"sync"
)

// Rows is a row table: Rows[f*C+c] is input channel c of frame f, a slice
// of exactly H*W floats. Convolutions read their input only through a row
// table, so a row may be another frame's row (temporal shift), a zero row
// or a state buffer's row, at no cost. Tables whose rows live in the arena
// can be built once, when the Model is constructed.
type Rows [][]float32

// NewRows returns an empty table for frames x channels rows.
func NewRows(frames, channels int) Rows {
	return make(Rows, frames*channels)
}

// SetPlain points r, a table for frames x channels, at the rows of x,
// laid out [frames][channels][hw].
func (r Rows) SetPlain(x []float32, frames, channels, hw int) {
	checkRows(r, x, frames, channels, hw)
	for i := range r {
		r[i] = x[i*hw : (i+1)*hw : (i+1)*hw]
	}
}

// PlainRows returns a new table over x [frames][channels][hw].
func PlainRows(x []float32, frames, channels, hw int) Rows {
	r := NewRows(frames, channels)
	r.SetPlain(x, frames, channels, hw)
	return r
}

func checkRows(r Rows, x []float32, frames, channels, hw int) {
	if len(r) != frames*channels || len(x) != frames*channels*hw {
		panic(fmt.Sprintf("runtime: row table of %d rows over %d floats does not fit %d frames x %d channels x %d",
			len(r), len(x), frames, channels, hw))
	}
}

// Gather copies the rows of r, hw floats each, one after the other into
// dst: it materialises a shifted tensor for a consumer that cannot read
// through a row table.
func (r Rows) Gather(dst []float32, hw int) {
	if len(dst) != len(r)*hw {
		panic(fmt.Sprintf("runtime: gather of %d rows of %d into %d floats", len(r), hw, len(dst)))
	}
	for i, row := range r {
		copy(dst[i*hw:(i+1)*hw], row[:hw])
	}
}

var zeros struct {
	sync.Mutex
	buf []float32
}

// ZeroRow returns n zeros shared by every caller. They must never be
// written; kernels only read rows.
func ZeroRow(n int) []float32 {
	zeros.Lock()
	defer zeros.Unlock()
	if len(zeros.buf) < n {
		// The old buffer stays valid (and zero) for its holders.
		zeros.buf = AlignedFloats(AlignUp(max(n, 4096)))
	}
	return zeros.buf[:n:n]
}

// ShiftRange moves channels [Begin, End) of frame t to read frame
// t+Offset of the same clip.
type ShiftRange struct {
	Begin, End int
	Offset     int
}

// TemporalShift is the channel shift of TSM (the tsmc.TemporalShift op):
// frames come in clips of Segments; channels in a range read frame
// t+Offset of the same clip, or zeros where that frame is outside [0, T);
// channels in no range read frame t. With a state buffer (online models),
// frame -1 is the state instead of zeros: the state holds, per clip, the
// shifted ranges' channels concatenated in range order, [clips][StateChannels][hw].
type TemporalShift struct {
	Segments int
	Ranges   []ShiftRange
}

// StateChannels returns the channel count of the state of a stateful shift.
func (s TemporalShift) StateChannels() int {
	n := 0
	for _, r := range s.Ranges {
		n += r.End - r.Begin
	}
	return n
}

// Validate checks s against a tensor of frames x channels.
func (s TemporalShift) Validate(frames, channels int) error {
	if s.Segments <= 0 || frames%s.Segments != 0 {
		return fmt.Errorf("shift of %d segments does not divide %d frames", s.Segments, frames)
	}
	prev := 0
	for _, r := range s.Ranges {
		if r.Begin < prev || r.End <= r.Begin || r.End > channels {
			return fmt.Errorf("shift range [%d,%d) is empty, overlaps the previous one or exceeds %d channels", r.Begin, r.End, channels)
		}
		prev = r.End
	}
	return nil
}

// SetShifted points r, a table for frames x channels, at x [frames][channels][hw]
// as seen through s. state is nil, or the state buffer of an online shift
// ([frames/Segments][StateChannels][hw]) that frame -1 reads.
func (r Rows) SetShifted(x []float32, frames, channels, hw int, s TemporalShift, state []float32) error {
	if len(r) != frames*channels {
		return fmt.Errorf("row table has %d rows, want %d frames x %d channels", len(r), frames, channels)
	}
	return visitShift(s, x, frames, channels, hw, state, ZeroRow(hw), func(i int, row []float32) { r[i] = row })
}

// Apply materialises the shift: dst [frames][channels][hw] receives x as
// seen through s (see SetShifted), for consumers that cannot read through
// a row table. dst must not alias x.
func (s TemporalShift) Apply(dst, x []float32, frames, channels, hw int, state []float32) error {
	if len(dst) != frames*channels*hw || len(x) != len(dst) {
		return fmt.Errorf("temporal shift of %d floats into %d does not fit %d frames x %d channels x %d", len(x), len(dst), frames, channels, hw)
	}
	return visitShift(s, x, frames, channels, hw, state, ZeroRow(hw), func(i int, row []float32) { copy(dst[i*hw:(i+1)*hw], row) })
}

// ApplyQ is Apply for a quantised tensor (uint8 bytes), whose vacated rows
// hold fill, its zero point.
func (s TemporalShift) ApplyQ(dst, x []uint8, frames, channels, hw int, state []uint8, fill uint8) error {
	if len(dst) != frames*channels*hw || len(x) != len(dst) {
		return fmt.Errorf("temporal shift of %d bytes into %d does not fit %d frames x %d channels x %d", len(x), len(dst), frames, channels, hw)
	}
	return visitShift(s, x, frames, channels, hw, state, constRow(hw, fill), func(i int, row []uint8) { copy(dst[i*hw:(i+1)*hw], row) })
}

// visitShift validates s and calls fn(f*channels+c, row) with the source
// row of every channel c of every frame f; zero (hw values) is the row of
// a frame outside the clip: float32 zeros, or an int8 tensor's zero point.
func visitShift[E float32 | uint8](s TemporalShift, x []E, frames, channels, hw int, state, zero []E, fn func(int, []E)) error {
	if err := s.Validate(frames, channels); err != nil {
		return err
	}
	if len(x) != frames*channels*hw {
		return fmt.Errorf("shift input has %d values, want %d frames x %d channels x %d", len(x), frames, channels, hw)
	}
	sc := s.StateChannels()
	if state != nil && len(state) != frames/s.Segments*sc*hw {
		return fmt.Errorf("shift state has %d values, want %d clips x %d channels x %d", len(state), frames/s.Segments, sc, hw)
	}
	row := func(i int, buf []E) []E { return buf[i*hw : (i+1)*hw : (i+1)*hw] }
	T := s.Segments
	for f := range frames {
		clip, t := f/T, f%T
		si := clip * sc // state row of the first shifted channel
		c := 0
		for _, rg := range s.Ranges {
			for ; c < rg.Begin; c++ {
				fn(f*channels+c, row(f*channels+c, x))
			}
			src := t + rg.Offset
			for ; c < rg.End; c, si = c+1, si+1 {
				switch {
				case src >= 0 && src < T:
					fn(f*channels+c, row((clip*T+src)*channels+c, x))
				case src == -1 && state != nil:
					fn(f*channels+c, row(si, state))
				default:
					fn(f*channels+c, zero)
				}
			}
		}
		for ; c < channels; c++ {
			fn(f*channels+c, row(f*channels+c, x))
		}
	}
	return nil
}
