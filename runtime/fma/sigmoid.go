package fma

// The coefficients of onnxruntime's logistic kernel (MLAS, after Eigen):
// sigmoid(x) ≈ 1/2 + x·P(x²)/Q(x²) on [-18, 18].
const (
	sigmoidA9  = 4.37031012579801e-11
	sigmoidA7  = 1.15627324459942e-07
	sigmoidA5  = 6.08574864600143e-05
	sigmoidA3  = 8.51377133304701e-03
	sigmoidA1  = 2.48287947061529e-01
	sigmoidB10 = 6.10247389755681e-13
	sigmoidB8  = 5.76102136993427e-09
	sigmoidB6  = 6.29106785017040e-06
	sigmoidB4  = 1.70198817374094e-03
	sigmoidB2  = 1.16817656904453e-01
	sigmoidB0  = 9.93151921023180e-01
)

// Sigmoid is 1/(1+e^-x) as onnxruntime's x86-64 kernel computes it: x
// clamped to [-18, 18], the two polynomials in x² by Horner's rule with
// fused multiply-adds, their quotient plus 1/2, at least 0. It is within
// a few units in the last place of the exact value (absolutely; for
// large negative x relatively far, since 1/2 cancels), and it makes
// quantised models whose gates are float32 sigmoids round as
// onnxruntime's do. NaN stays NaN.
func Sigmoid(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, -18), 18)
	x2 := x * x
	p := F32(x2, sigmoidA9, sigmoidA7)
	p = F32(x2, p, sigmoidA5)
	p = F32(x2, p, sigmoidA3)
	p = F32(x2, p, sigmoidA1)
	p = x * p
	q := F32(x2, sigmoidB10, sigmoidB8)
	q = F32(x2, q, sigmoidB6)
	q = F32(x2, q, sigmoidB4)
	q = F32(x2, q, sigmoidB2)
	q = F32(x2, q, sigmoidB0)
	return max(p/q+0.5, 0)
}
