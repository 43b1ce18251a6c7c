//go:build purego || !(amd64 || arm64)

package runtime

// archLevels: the purego build and GOARCHes without assembly run the
// pure-Go kernels only.
func archLevels() []string { return []string{ISAGeneric} }

func archGemmKernels(level string) []*GemmKernel { return nil }

func archDWRow3x3(level string) func(*DWRow) { return nil }

func archDWConv3x3(level string) func(*DWConv) { return nil }

func archDWConvSmall3x3(level string) func(*DWConv) bool { return nil }

func archIm2col(level string, sw int) func(*PackRun) { return nil }

func archWinograd(level string) (func(*WinoIn), func(*WinoOut)) { return nil, nil }

func archActKernels(level string) [actKinds]func(*ActRows) { return [actKinds]func(*ActRows){} }

func archDWTaps(level string) func(*DWTaps) { return nil }

func archMulRows(level string) func(*MulRows) { return nil }

func archCopyRows(level string) (func(*CopyRows), int) { return nil, 0 }
