// Command tinyonline writes testdata/tsm_tiny_online: a tiny online TSM
// MobileNetV2 in the ONNX form that torch.onnx.export gives the TSM online
// demo's network (Conv with BatchNorm folded, Clip as ReLU6, the shift as
// Slice + Concat with a state input, the first c/8 channels sliced out as
// the next state, x.mean(3).mean(2), Gemm), at the demo's input size
// [1,3,224,224] with 27 classes, three shift states and random weights from
// a fixed seed, plus two data sets whose expected outputs come from
// onnxruntime: test_data_set_0 is frame 0 with zero states, test_data_set_1
// frame 1 fed the states frame 0 returned.
//
// It needs onnxruntime (npm ci --prefix internal/ort). Run from the module root:
//
//	go run ./internal/cmd/tinyonline [-o testdata/tsm_tiny_online]
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/ir"
)

func main() {
	out := flag.String("o", filepath.Join("testdata", "tsm_tiny_online"), "output folder")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "tinyonline:", err)
		os.Exit(1)
	}
}

// write builds the model, saves it and computes its data sets.
func write(dir string) error {
	m := build()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	modelPath := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(modelPath, m.encode(), 0o644); err != nil {
		return err
	}
	inputs := map[string]*ir.Tensor{}
	for _, in := range m.inputs {
		inputs[in.name] = ir.Float32s(in.shape, make([]float32, ir.Shape(in.shape).Size()))
	}
	inputs["i0"] = frame(0)
	for set := range 2 {
		if set == 1 { // the next frame, with the states frame 0 returned
			prev, err := runOnce(modelPath, inputs)
			if err != nil {
				return err
			}
			inputs["i0"] = frame(1)
			for k := 1; k < len(m.inputs); k++ {
				name := fmt.Sprintf("i%d", k)
				inputs[name] = ir.Float32s(inputs[name].Shape, prev[fmt.Sprintf("o%d", k)])
			}
		}
		outputs, err := runOnce(modelPath, inputs)
		if err != nil {
			return err
		}
		setDir := filepath.Join(dir, fmt.Sprintf("test_data_set_%d", set))
		if err := os.MkdirAll(setDir, 0o755); err != nil {
			return err
		}
		for k, in := range m.inputs {
			if err := os.WriteFile(filepath.Join(setDir, fmt.Sprintf("input_%d.pb", k)), tensorProto(in.name, inputs[in.name]), 0o644); err != nil {
				return err
			}
		}
		for k, o := range m.outputs {
			t := ir.Float32s(o.shape, outputs[o.name])
			if err := os.WriteFile(filepath.Join(setDir, fmt.Sprintf("output_%d.pb", k)), tensorProto(o.name, t), 0o644); err != nil {
				return err
			}
		}
	}
	return writeMeta(dir, m)
}

// frame returns frame f of a synthetic clip as the model takes it: an
// 8-bit RGB image (a smooth background and a bright disc that moves right
// from frame to frame) scaled to [0, 1] and normalised with the ImageNet
// mean and standard deviation, [1,3,224,224]. Smooth 8-bit images keep the
// data set files compressible.
func frame(f int) *ir.Tensor {
	const size = 224
	mean := [3]float64{0.485, 0.456, 0.406}
	std := [3]float64{0.229, 0.224, 0.225}
	data := make([]float32, 3*size*size)
	cx, cy, r := 70.0+40*float64(f), 112.0, 40.0
	for y := range size {
		for x := range size {
			rgb := [3]float64{60 + 0.5*float64(x), 90 + 0.3*float64(y), 140 - 0.2*float64(x+y)}
			if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy < r*r {
				rgb = [3]float64{224, 172, 150}
			}
			for c := range 3 {
				v := math.Round(rgb[c]) / 255
				data[(c*size+y)*size+x] = float32((v - mean[c]) / std[c])
			}
		}
	}
	return ir.Float32s(ir.Shape{1, 3, size, size}, data)
}

// runOnce runs the model once through onnxruntime.
func runOnce(model string, inputs map[string]*ir.Tensor) (map[string][]float32, error) {
	res, err := ort.Run(ort.Request{Model: model, Inputs: inputs, Threads: 1})
	if err != nil {
		return nil, err
	}
	return res.Outputs, nil
}

// writeMeta writes meta.json as the other test models have it.
func writeMeta(dir string, m *model) error {
	meta := map[string]any{"name": "tsm_tiny_online", "opset": opset, "inputs": map[string][]int{}, "outputs": map[string][]int{},
		"note": "written by go run ./internal/cmd/tinyonline; expected outputs from onnxruntime"}
	for _, in := range m.inputs {
		meta["inputs"].(map[string][]int)[in.name] = in.shape
	}
	for _, o := range m.outputs {
		meta["outputs"].(map[string][]int)[o.name] = o.shape
	}
	ops := map[string]int{}
	for _, n := range m.nodes {
		ops[n.op]++
	}
	meta["ops"] = ops
	b, err := json.MarshalIndent(meta, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "meta.json"), append(b, '\n'), 0o644)
}

const opset = 13

// port is a graph input or output.
type port struct {
	name  string
	shape []int
}

// node is one ONNX node.
type node struct {
	op, name     string
	inputs, outs []string
	attrs        []attr
}

// attr is an INT, INTS or FLOAT attribute.
type attr struct {
	name string
	kind int // attrInt, attrInts or attrFloat
	i    int64
	ints []int64
	f    float32
}

func intAttr(name string, v int64) attr     { return attr{name: name, kind: attrInt, i: v} }
func intsAttr(name string, v ...int64) attr { return attr{name: name, kind: attrInts, ints: v} }
func floatAttr(name string, v float32) attr { return attr{name: name, kind: attrFloat, f: v} }

// model is an ONNX graph under construction.
type model struct {
	rng             *rand.Rand
	inputs, outputs []port
	nodes           []node
	inits           []initializer
	next            int // numbers temporary names
	states          int // shift states so far
}

type initializer struct {
	name  string
	shape []int
	f32   []float32
	i64   []int64
}

func (m *model) tmp(prefix string) string {
	m.next++
	return fmt.Sprintf("/%s_%d", prefix, m.next)
}

func (m *model) add(n node) string {
	if len(n.outs) == 0 {
		n.outs = []string{m.tmp(n.op)}
	}
	n.name = n.outs[0] + "_node"
	m.nodes = append(m.nodes, n)
	return n.outs[0]
}

func (m *model) int64s(vs ...int64) string {
	name := m.tmp("const")
	m.inits = append(m.inits, initializer{name: name, shape: []int{len(vs)}, i64: vs})
	return name
}

func (m *model) scalar(v float32) string {
	name := m.tmp("const")
	m.inits = append(m.inits, initializer{name: name, shape: []int{}, f32: []float32{v}})
	return name
}

// weights adds a He-uniform random weight tensor and a small bias.
func (m *model) weights(shape []int, fanIn int) (w, b string) {
	limit := math.Sqrt(6 / float64(fanIn))
	n := ir.Shape(shape).Size()
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((2*m.rng.Float64() - 1) * limit)
	}
	bias := make([]float32, shape[0])
	for i := range bias {
		bias[i] = float32(0.1 * (2*m.rng.Float64() - 1))
	}
	w, b = m.tmp("weight"), m.tmp("bias")
	m.inits = append(m.inits, initializer{name: w, shape: shape, f32: data}, initializer{name: b, shape: []int{shape[0]}, f32: bias})
	return w, b
}

// conv adds a Conv (BatchNorm folded) and, when relu6, a Clip(0, 6).
func (m *model) conv(x string, cin, cout, k, stride, group int, relu6 bool) string {
	w, b := m.weights([]int{cout, cin / group, k, k}, cin/group*k*k)
	p := int64(k / 2)
	y := m.add(node{op: "Conv", inputs: []string{x, w, b}, attrs: []attr{
		intsAttr("dilations", 1, 1), intAttr("group", int64(group)), intsAttr("kernel_shape", int64(k), int64(k)),
		intsAttr("pads", p, p, p, p), intsAttr("strides", int64(stride), int64(stride)),
	}})
	if !relu6 {
		return y
	}
	return m.add(node{op: "Clip", inputs: []string{y, m.scalar(0), m.scalar(6)}})
}

// slice adds x[:, begin:end] (end < 0: to the end, as torch exports it).
func (m *model) slice(x string, begin, end int64) string {
	if end < 0 {
		end = math.MaxInt64
	}
	return m.add(node{op: "Slice", inputs: []string{x, m.int64s(begin), m.int64s(end), m.int64s(1), m.int64s(1)}})
}

// invertedResidual adds a MobileNetV2 block; with shift, the online TSM
// form: x[:, :c/8] is the next state, a state input takes its place.
func (m *model) invertedResidual(x string, cin, cout, stride, expand int, size int, shift bool) string {
	hidden := cin * expand
	in := x
	if shift {
		fold := cin / 8
		m.states++
		state := fmt.Sprintf("i%d", m.states)
		m.inputs = append(m.inputs, port{state, []int{1, fold, size, size}})
		out := fmt.Sprintf("o%d", m.states)
		m.add(node{op: "Slice", inputs: []string{x, m.int64s(0), m.int64s(int64(fold)), m.int64s(1), m.int64s(1)}, outs: []string{out}})
		m.outputs = append(m.outputs, port{out, []int{1, fold, size, size}})
		rest := m.slice(x, int64(fold), -1)
		in = m.add(node{op: "Concat", inputs: []string{state, rest}, attrs: []attr{intAttr("axis", 1)}})
	}
	h := in
	if expand != 1 {
		h = m.conv(h, cin, hidden, 1, 1, 1, true)
	}
	h = m.conv(h, hidden, hidden, 3, stride, hidden, true)
	h = m.conv(h, hidden, cout, 1, 1, 1, false)
	if stride == 1 && cin == cout {
		return m.add(node{op: "Add", inputs: []string{x, h}})
	}
	return h
}

// build makes the tiny online network.
func build() *model {
	m := &model{rng: rand.New(rand.NewPCG(1, 27))}
	m.inputs = []port{{"i0", []int{1, 3, 224, 224}}}
	m.outputs = []port{{"o0", []int{1, 27}}}
	x := m.conv("i0", 3, 8, 3, 2, 1, true)            // 112
	x = m.invertedResidual(x, 8, 8, 2, 1, 112, false) // 56
	x = m.invertedResidual(x, 8, 8, 1, 2, 56, true)
	x = m.invertedResidual(x, 8, 16, 2, 2, 56, false) // 28
	x = m.invertedResidual(x, 16, 16, 1, 2, 28, true)
	x = m.invertedResidual(x, 16, 24, 2, 2, 28, false) // 14
	x = m.invertedResidual(x, 24, 24, 1, 2, 14, true)
	x = m.conv(x, 24, 64, 1, 1, 1, true)
	for _, axis := range []int64{3, 2} { // x.mean(3).mean(2)
		x = m.add(node{op: "ReduceMean", inputs: []string{x}, attrs: []attr{intsAttr("axes", axis), intAttr("keepdims", 0)}})
	}
	w, b := m.weights([]int{27, 64}, 64)
	m.add(node{op: "Gemm", inputs: []string{x, w, b}, outs: []string{"o0"},
		attrs: []attr{floatAttr("alpha", 1), floatAttr("beta", 1), intAttr("transB", 1)}})
	return m
}

// Protobuf encoding of the ONNX messages used here (field numbers from
// onnx.proto).

type msg []byte

func (b msg) tag(field, wire int) msg { return binary.AppendUvarint(b, uint64(field<<3|wire)) }
func (b msg) varint(field int, v int64) msg {
	return binary.AppendUvarint(b.tag(field, 0), uint64(v))
}
func (b msg) bytes(field int, data []byte) msg {
	b = binary.AppendUvarint(b.tag(field, 2), uint64(len(data)))
	return append(b, data...)
}
func (b msg) str(field int, s string) msg { return b.bytes(field, []byte(s)) }
func (b msg) fixed32(field int, v uint32) msg {
	return binary.LittleEndian.AppendUint32(b.tag(field, 5), v)
}
func (b msg) packed(field int, vs []int64) msg {
	var p []byte
	for _, v := range vs {
		p = binary.AppendUvarint(p, uint64(v))
	}
	return b.bytes(field, p)
}

const (
	elemFloat = 1
	elemInt64 = 7
	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
)

// tensorProto encodes a float32 tensor as a TensorProto with raw data.
func tensorProto(name string, t *ir.Tensor) []byte {
	raw := make([]byte, 0, 4*len(t.F32))
	for _, v := range t.F32 {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return msg{}.packed(1, dims(t.Shape)).varint(2, elemFloat).str(8, name).bytes(9, raw)
}

func dims(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

func (in initializer) encode() msg {
	if in.i64 != nil {
		raw := make([]byte, 0, 8*len(in.i64))
		for _, v := range in.i64 {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
		return msg{}.packed(1, dims(in.shape)).varint(2, elemInt64).str(8, in.name).bytes(9, raw)
	}
	return msg(tensorProto(in.name, ir.Float32s(in.shape, in.f32)))
}

func (n node) encode() msg {
	b := msg{}
	for _, in := range n.inputs {
		b = b.str(1, in)
	}
	for _, o := range n.outs {
		b = b.str(2, o)
	}
	b = b.str(3, n.name).str(4, n.op)
	for _, a := range n.attrs {
		am := msg{}.str(1, a.name)
		switch a.kind {
		case attrInts:
			am = am.packed(8, a.ints)
		case attrFloat:
			am = am.fixed32(2, math.Float32bits(a.f))
		default:
			am = am.varint(3, a.i)
		}
		b = b.bytes(5, am.varint(20, int64(a.kind)))
	}
	return b
}

func valueInfo(p port) msg {
	shape := msg{}
	for _, d := range p.shape {
		shape = shape.bytes(1, msg{}.varint(1, int64(d)))
	}
	tensor := msg{}.varint(1, elemFloat).bytes(2, shape)
	return msg{}.str(1, p.name).bytes(2, msg{}.bytes(1, tensor))
}

// encode writes the ModelProto.
func (m *model) encode() []byte {
	g := msg{}
	for _, n := range m.nodes {
		g = g.bytes(1, n.encode())
	}
	g = g.str(2, "tsm_tiny_online")
	for _, in := range m.inits {
		g = g.bytes(5, in.encode())
	}
	for _, in := range m.inputs {
		g = g.bytes(11, valueInfo(in))
	}
	for _, o := range m.outputs {
		g = g.bytes(12, valueInfo(o))
	}
	return msg{}.varint(1, 8).str(2, "tsmc internal/cmd/tinyonline").bytes(7, g).bytes(8, msg{}.str(1, "").varint(2, opset))
}
