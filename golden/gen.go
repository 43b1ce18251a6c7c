// Package golden holds the Go packages tsmc generates for the two tiny test
// models and the quantised (int8) one, with their golden tests on the
// models' data sets. They are
// committed so that every change to the generated code shows in review;
// CI regenerates them (go generate ./golden/) and fails on any diff, and
// codegen's tests check that they are up to date.
package golden

//go:generate go run ../cmd/tsmc compile -o tsm_tiny_official -testdata ../testdata/tsm_tiny_official/test_data_set_0 -testdata ../testdata/tsm_tiny_official/test_data_set_1 ../testdata/tsm_tiny_official/model.onnx
//go:generate go run ../cmd/tsmc compile -o tsm_tiny_mmaction -testdata ../testdata/tsm_tiny_mmaction/test_data_set_0 -testdata ../testdata/tsm_tiny_mmaction/test_data_set_1 ../testdata/tsm_tiny_mmaction/model.onnx
//go:generate go run ../cmd/tsmc compile -o tsm_tiny_official_int8 -testdata ../testdata/quantized/tsm_tiny_official/test_data_set_0 -testdata ../testdata/quantized/tsm_tiny_official/test_data_set_1 ../testdata/quantized/tsm_tiny_official/model.onnx
