package runtime_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tsmc-go/tsmc/runtime"
)

// A TSM bottleneck block the way generated code runs it: activations in
// one arena, the temporal shift fused into the first convolution through
// its row table, the residual add and ReLU fused into the last one.
func Example() {
	const frames, c, mid, h, w = 4, 16, 8, 6, 6
	hw := h * w
	rng := rand.New(rand.NewPCG(1, 2))
	weights := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * 0.2
		}
		return v
	}
	pack := func(cout, cin, k int) []float32 {
		p, err := runtime.PackConvWeights(weights(cout*cin*k*k), cout, cin, k, k, 1, runtime.PackMR)
		if err != nil {
			panic(err)
		}
		return p
	}

	// the static memory plan: x, y1, y2 and the block output
	n := runtime.AlignUp(frames * c * hw)
	m := runtime.AlignUp(frames * mid * hw)
	arena := runtime.NewArena(2*n + 2*m)
	x, y1, y2, out := arena.Slice(0, frames*c*hw), arena.Slice(n, frames*mid*hw), arena.Slice(n+m, frames*mid*hw), arena.Slice(n+2*m, frames*c*hw)
	copy(x, weights(len(x)))

	// built once, when the Model is constructed
	shifted := runtime.NewRows(frames, c)
	shift := runtime.TemporalShift{Segments: frames, Ranges: []runtime.ShiftRange{{Begin: 0, End: c / 8, Offset: 1}, {Begin: c / 8, End: c / 4, Offset: -1}}}
	if err := shifted.SetShifted(x, frames, c, hw, shift, nil); err != nil {
		panic(err)
	}
	rows1 := runtime.PlainRows(y1, frames, mid, hw)
	rows2 := runtime.PlainRows(y2, frames, mid, hw)
	conv1, _ := runtime.NewConv(runtime.ConvShape{Frames: frames, Cin: c, H: h, W: w, Cout: mid, KH: 1, KW: 1},
		pack(mid, c, 1), runtime.PackMR, weights(mid), runtime.Relu)
	conv2, _ := runtime.NewConv(runtime.ConvShape{Frames: frames, Cin: mid, H: h, W: w, Cout: mid, KH: 3, KW: 3,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, pack(mid, mid, 3), runtime.PackMR, weights(mid), runtime.Relu)
	conv3, err := runtime.NewConv(runtime.ConvShape{Frames: frames, Cin: mid, H: h, W: w, Cout: c, KH: 1, KW: 1},
		pack(c, mid, 1), runtime.PackMR, weights(c), runtime.Relu)
	if err != nil {
		panic(err)
	}

	// a run
	pool := runtime.NewPool(2)
	defer pool.Close()
	conv1.Run(pool, shifted, y1, nil)
	conv2.Run(pool, rows1, y2, nil)
	conv3.Run(pool, rows2, out, x) // out = relu(conv(y2) + b + x)

	negative := 0
	for _, v := range out {
		if v < 0 {
			negative++
		}
	}
	fmt.Println(len(out), "outputs,", negative, "negative")
	// Output: 2304 outputs, 0 negative
}
