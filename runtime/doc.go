// Package runtime is the support library of the Go packages that tsmc
// generates: the only tsmc package generated code imports. It holds the
// memory arena, the worker pool, CPU dispatch and the kernels of every fused
// operation the compiler emits.
//
// # Layout
//
// Activations are channel-major per frame: a frame is [C][H][W] with each
// channel a contiguous row of H*W floats, and a clip of F frames (N clips of
// T segments, frame f = n*T+t) is [F][C][H][W].
//
// Convolutions read their input through a row table ([Rows]): one slice per
// (frame, input channel), which may alias another frame's row (a fused
// temporal shift), a shared zero row or a state buffer (an online shift).
// No shifted copy of an activation is ever made; see [TemporalShift].
//
// # Convolution as GEMM
//
// Every convolution but the depthwise one runs as a GEMM per group:
//
//	Out[co][p] = clamp(Σ_k A[co][k]·B[k][p] + bias[co] + R[co][p], Lo, Hi)
//
// with k = ci*KH*KW + kh*KW + kw and p a pixel index running over all frames
// (p = f*OH*OW + oy*OW + ox), so small late-stage feature maps still fill
// whole tiles. A holds the weights, packed at compile time by
// [PackConvWeights] into panels of MR output channels (for each k the MR
// values are contiguous; the tail panel is zero-padded). B is packed at run
// time per pixel block from the row table into panels of NR pixels (for each
// k, NR contiguous values): a straight copy for 1x1 stride-1 convolutions
// (or no copy at all on kernels that read B from the rows, see TileRowsB),
// an im2col gather that applies padding, stride and dilation otherwise.
// Convolutions of few input channels (a stem, a narrow 3x3 layer) skip
// packing too: the phase plan (AlgoPhase) splits a band of the input into
// the stride phases its taps read, padding written out, so that each tap
// of a run of output pixels is a contiguous run the kernel reads through
// TileRowsB; it sums in the same order as the im2col GEMM.
//
// On amd64 (AVX-512 and AVX2), 3x3 stride-1 convolutions with padding 1
// run as Winograd F(2x2, 3x3) instead ([WinoIn], [WinoOut]: 16 GEMMs over
// the input channels between an input and an output transform), and
// MobileNetV2's expand -> depthwise -> project chains run fused
// ([InvertedResidual]), band by band, so their wide intermediates never go
// to memory (on frames of enough pixels: Rules.BlockMinPixels). Depthwise 3x3 convolutions run whole planes per call
// ([DWConv]), reading the padding as zeros; planes of up to 256 outputs
// (MobileNetV2's 7x7 and 14x14) run as one flat vector each, and stride-2
// planes of up to 7 output columns two output rows per vector. Pointwise
// convolutions on small maps (up to 32x32, chiefly one frame at a time)
// run transposed: a frame's pixels as the tile's rows, read straight from
// the input rows, and 32 output channels as its vectorised columns; the
// kernel transposes the tile in registers before storing it (see
// GemmKernel.TransC). Both plans give the same bits, so the cost model may
// pick either.
//
// A micro-kernel ([GemmKernel], contract in [Tile]) computes one MR x NR
// tile. Each output element is one float32 accumulator summed over k in
// increasing order, whatever the blocking: K blocks store and reload the
// accumulator exactly, and work is never split along K. Results are
// therefore bit-identical for every thread count and block size. A tile
// whose pixels cross a frame's end, or stop short of NR, goes to its
// column runs in place on the AVX-512 kernels (TileSegs, masked loads
// and stores), elsewhere through a scratch tile.
//
// # Tiles and packing per ISA
//
// The packed weight panel height ([PackMR], 12) is a multiple of every
// kernel's row count, so one weights.bin serves every CPU: the AVX2+FMA
// kernel (6x16: 12 YMM accumulators + 2 B vectors + 1 broadcast = 15 YMM,
// as Go keeps X15 zero) consumes a 12-row panel as two 6-row halves through
// the Tile's LDA stride; an AVX-512 kernel uses 12x32 (24 ZMM accumulators,
// 2 B vectors, embedded broadcasts); a NEON kernel 12x8 (24 accumulators, 2
// B vectors, 3 A vectors by lane). The B side is packed at run time for the
// chosen kernel's NR. Dense layers pack their weights as the B operand into
// [PackNR]-wide panels (32, a multiple of 8, 16 and 32).
//
// # From generated code
//
// Everything shape-dependent is planned once, in the Model's constructor;
// a run only calls Run methods. Sketch of what codegen emits:
//
//	// New:
//	pool := runtime.NewPool(threads)                // 0: GOMAXPROCS
//	arena := runtime.NewArena(arenaFloats)          // the static memory plan
//	w, err := runtime.DecodeFloats(weightsBin)      // packed at compile time
//	x1 := arena.Slice(off1, 8*64*56*56)             // offsets are constants
//	rows1 := runtime.NewRows(8, 64)
//	err = rows1.SetShifted(x1, 8, 64, 56*56, runtime.TemporalShift{Segments: 8,
//		Ranges: []runtime.ShiftRange{{0, 8, 1}, {8, 16, -1}}}, nil)
//	conv1, err := runtime.NewConv(runtime.ConvShape{Frames: 8, Cin: 64, H: 56, W: 56,
//		Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
//		w[wOff:wOff+wLen], runtime.PackMR, w[bOff:bOff+64], runtime.Relu)
//	// Run:
//	conv1.Run(pool, rows1, y1, residual1)
//
// Weights are packed by PackConvWeights / PackDenseWeights at compile time
// (written with EncodeFloats, each tensor at an AlignUp offset). Row tables over arena tensors are built once;
// tables over caller data (the model input, online shift states) are
// refreshed per run with SetPlain / SetShifted, which only write slice
// headers. Constructors return errors for shapes or weights that do not
// fit; Run methods panic on slice lengths that do not match their plan,
// which only a code-generator bug can cause.
//
// Kernels read row ends and padding rows with masked loads, whose
// masked-off lanes may lie past a buffer. Where such a lane falls on a
// page not mapped in, the load takes a microcode assist every time (up
// to 35 times its cost on Zen 5): buffers the kernels read come from
// AlignedFloats (or its byte twin), which writes guard zones around them.
//
// # Generic N-d kernels
//
// Every other float32 ONNX op lowers onto planned objects whose
// constructors take static shapes ([]int, row-major, rank 0 a scalar;
// axes may be negative) and return errors for anything that does not fit,
// and whose Run methods take the pool and flat slices: layout
// ([Transpose], [Slice], [Expand], [Repeat] for Tile, [Gather],
// [ScatterND], [Pad], [Concat], [Split]), elementwise ([Unary], [Binary]
// with numpy broadcasting, [Variadic], [Where]; bools are 0/1 floats),
// reductions ([Reduce], [SoftmaxAxis]) and normalisation
// ([ChannelAffine], [LayerNorm], [InstanceNorm]). Their constructors
// merge the axes that move together, so the loops run over at most a few
// strided dims; each is checked against the interpreter.
//
// # int8
//
// Quantised activations are uint8 with a per-tensor scale and zero point
// (int8 tensors are carried as uint8 with zero point + 128: S8ToU8);
// weights are int8, symmetric per output channel. [QConv] runs
// QLinearConv (and the QDQ Conv pattern) as an int8 GEMM per group over
// quads of k, output channels as rows and pixels as columns: the weights
// packed at compile time by [PackQConvWeights] (panels of [PackQMR]
// rows; k tap by tap over the input channels padded to 4), the
// activations packed per pixel block through [QPack]. Its epilogue
// ([QTile], [QRequant]) adds the bias less the input zero point times the
// weight sums, multiplies by the channel's float32 scale, clamps (ReLU and
// ReLU6 as the clamp of [QuantBounds]), rounds half to even and adds the
// output zero point, with an optional residual add that quantises the
// convolution's output first and then adds as QLinearAdd does: MLAS's
// rules, so results are onnxruntime's bit for bit, and the same on every
// kernel and thread count. [QDepthwiseConv], [QMaxPool] and [QAvgPool]
// complete the set. A dense layer is a 1x1 QConv with one-pixel frames.
//
// The int8 kernels have their own levels ([QISA]): AVX-512 VNNI (VPDPBUSD
// on ZMM, and the VBMI depthwise kernel), AVX-VNNI (VPDPBUSD on YMM), AVX2
// (VPMADDUBSW: 7-bit weights, or each weight split in two), NEON with the
// dot-product extension (SDOT) and without it (SMULL), and pure Go, the
// twin every kernel is tested against bit for bit.
//
// # Determinism and concurrency
//
// Work is split into fixed items; an item's result never depends on which
// worker ran it. A [Pool] runs one parallel loop at a time; kernels take
// their scratch memory from the pool, so a Model built on one pool must not
// run concurrently with itself.
package runtime
