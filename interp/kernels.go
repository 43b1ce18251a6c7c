package interp

// init registers the ONNX kernels of the default domain.
func init() {
	for op, k := range map[string]Kernel{
		"AveragePool":        poolKernel(false),
		"BatchNormalization": batchNormKernel,
		"ArgMax":             argReduceKernel(true),
		"ArgMin":             argReduceKernel(false),
		"Cast":               castKernel,
		"CastLike":           castLikeKernel,
		"Clip":               clipKernel,
		"Concat":             concatKernel,
		"Constant":           constantKernel,
		"ConstantOfShape":    constantOfShapeKernel,
		"Conv":               convKernel,
		"ConvInteger":        convIntegerKernel,
		"DequantizeLinear":   dequantizeLinearKernel,
		"Dropout":            dropoutKernel,
		"Expand":             expandKernel,
		"Flatten":            flattenKernel,
		"Gather":             gatherKernel,
		"Gemm":               gemmKernel,
		"GlobalAveragePool":  globalPoolKernel(mean32),
		"GlobalMaxPool":      globalPoolKernel(max32),
		"Identity":           identityKernel,
		"LogSoftmax":         softmaxKernel(true),
		"MatMul":             matmulKernel,
		"MatMulInteger":      matmulIntegerKernel,
		"Max":                variadicKernel(binaryOps["Max"], false),
		"MaxPool":            poolKernel(true),
		"Mean":               variadicKernel(binaryOps["Add"], true),
		"Min":                variadicKernel(binaryOps["Min"], false),
		"Not":                notKernel,
		"PRelu":              preluKernel,
		"Pad":                padKernel,
		"QLinearConv":        qlinearConvKernel,
		"QLinearMatMul":      qlinearMatMulKernel,
		"QuantizeLinear":     quantizeLinearKernel,
		"Range":              rangeKernel,
		"Reshape":            reshapeKernel,
		"ScatterND":          scatterNDKernel,
		"Shape":              shapeKernel,
		"Size":               sizeKernel,
		"Slice":              sliceKernel,
		"Softmax":            softmaxKernel(false),
		"Split":              splitKernel,
		"Squeeze":            squeezeKernel,
		"Sum":                variadicKernel(binaryOps["Add"], false),
		"Tile":               tileKernel,
		"Transpose":          transposeKernel,
		"Unsqueeze":          unsqueezeKernel,
		"Where":              whereKernel,

		"InstanceNormalization": instanceNormKernel,
		"LayerNormalization":    layerNormKernel,
	} {
		Register("", op, k)
	}
	for op, u := range unaryOps {
		Register("", op, unaryKernel(u))
	}
	for op, a := range activations {
		Register("", op, activationKernel(a))
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow"} {
		Register("", op, binaryKernel(binaryOps[op]))
	}
	for op, p := range predicateOps {
		Register("", op, predicateKernel(p))
	}
	for op, r := range reduceOps {
		Register("", op, reduceKernel(r))
	}
}
