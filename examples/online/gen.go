package main

// The jester package is generated, and committed, from the tiny online
// model in testdata so that the example runs out of the box without the
// 9 MB weights of the real network. To run the example on the TSM online
// demo's network instead, compile it into the same package (same API: one
// frame [1,3,224,224] in, 27 logits out) and run as before:
//
//	go run ./cmd/tsmc compile -o examples/online/jester -pkg jester ../shared/models/tsm_mobilenetv2_jester_online/model.onnx
//
// (go generate ./examples/online/ puts the tiny model back.)

//go:generate go run ../../cmd/tsmc compile -o jester -pkg jester -testdata ../../testdata/tsm_tiny_online/test_data_set_0 -testdata ../../testdata/tsm_tiny_online/test_data_set_1 ../../testdata/tsm_tiny_online/model.onnx
//go:generate go run genclip.go -o testdata/clip
