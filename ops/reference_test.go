package ops

import (
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

func TestTemporalShiftKernel(t *testing.T) {
	// X[f, c] = 10f + c: two clips of two frames, three channels.
	x := ir.Float32s(ir.Shape{4, 3, 1, 1}, []float32{0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32})
	tests := []struct {
		name  string
		shift Shift
		state *ir.Tensor
		want  []float32
	}{
		{
			// Channel 0 reads t+1, channel 1 reads t-1, zeros at the
			// clip boundaries; channel 2 stays.
			name:  "offline",
			shift: Shift{Segments: 2, Ranges: []ShiftRange{{Begin: 0, End: 1, Offset: 1}, {Begin: 1, End: 2, Offset: -1}}},
			want:  []float32{10, 0, 2, 0, 1, 12, 30, 0, 22, 0, 21, 32},
		},
		{
			// Channels 0 and 2 read t-1, the state at t = 0: state
			// channel 0 is channel 0, state channel 1 is channel 2.
			name:  "online",
			shift: Shift{Segments: 2, Ranges: []ShiftRange{{Begin: 0, End: 1, Offset: -1}, {Begin: 2, End: 3, Offset: -1}}},
			state: ir.Float32s(ir.Shape{2, 2, 1, 1}, []float32{-1, -2, -3, -4}),
			want:  []float32{-1, 1, -2, 0, 11, 2, -3, 21, -4, 20, 31, 22},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &ir.Node{Name: "ts", Op: OpTemporalShift, Domain: Domain, Outputs: []*ir.Value{{Name: "y"}}}
			tc.shift.Attrs(n)
			outs, err := interp.Eval(n, 1, []*ir.Tensor{x, tc.state})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(outs[0].F32, tc.want) {
				t.Errorf("got %v, want %v", outs[0].F32, tc.want)
			}
		})
	}
}
