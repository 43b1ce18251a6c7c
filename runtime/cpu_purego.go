//go:build purego || !(amd64 || arm64)

package runtime

// archLevels: the purego build and GOARCHes without assembly run the
// pure-Go kernels only.
func archLevels() []string { return []string{ISAGeneric} }

func archGemmKernels(level string) []*GemmKernel { return nil }

func archQLevels() []string { return []string{ISAGeneric} }

func archQGemmKernels(level string) []*QGemmKernel { return nil }

func archQFGemmKernel(level string) *QFGemmKernel { return nil }

func archTranspose(level string) (func(dst, src *float32, ld, ldd, blocks int), int) { return nil, 0 }

func archDWRow3x3(level string) func(*DWRow) { return nil }

func archDWConv3x3(level string) func(*DWConv) { return nil }

func archDWConvSmall3x3(level string) (func(*DWConv) bool, dwFlatRule) {
	return nil, dwFlatRule{}
}

func archIm2col(level string, sw int) (func(*PackRun), int) { return nil, 0 }

func archWinograd(level string) (func(*WinoIn), func(*WinoOut), int) { return nil, nil, 0 }

func archQPack(level string) func(*QPack) { return nil }

func archQuantize(level string) (quantizeKernel, quantizeKernel, dequantizeKernel) {
	return nil, nil, nil
}

const qpackChunk = 16

func archQDWConv(level string) func(*QDWConv) { return nil }

func archActKernels(level string) [actKinds]func(*ActRows) { return [actKinds]func(*ActRows){} }

func archDWTaps(level string) func(*DWTaps) { return nil }

func archMulRows(level string) func(*MulRows) { return nil }

func archCopyRows(level string) (func(*CopyRows), int) { return nil, 0 }

func archCopyBytes(level string) func(*CopyBytes) { return nil }
