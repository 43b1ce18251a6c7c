package onnx

import (
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// noRecoveredPanics fails the test if the last-resort recover in Decode
// caught anything while fn ran: every bad input must be caught by checks.
func noRecoveredPanics(t testing.TB, fn func()) {
	t.Helper()
	before := recoveredPanics.Load()
	fn()
	if n := recoveredPanics.Load() - before; n != 0 {
		t.Fatalf("Decode recovered from %d panics", n)
	}
}

func TestLoadErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.onnx")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(empty)
	wantError(t, err, empty, "empty")

	_, err = Load(filepath.Join(dir, "missing.onnx"))
	wantError(t, err, "missing.onnx")

	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, modelMsg(2, simpleGraph()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	wantError(t, err, bad, "ir_version 2")

	_, _, err = LoadTensor(empty)
	wantError(t, err, empty, "empty")
}

// TestTruncated decodes every strict prefix of a hand-built model and
// evenly spaced prefixes of a real one: each must fail cleanly.
func TestTruncated(t *testing.T) {
	small := modelMsg(7, simpleGraph())
	real, err := os.ReadFile(filepath.Join(tinyModels[1], "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	noRecoveredPanics(t, func() {
		for n := 0; n < len(small); n++ {
			if _, err := Decode(small[:n], ""); err == nil {
				t.Fatalf("prefix of %d/%d bytes decoded without error", n, len(small))
			}
		}
		step := len(real) / 997
		for n := 0; n < len(real); n += step {
			if _, err := Decode(real[:n], ""); err == nil {
				t.Fatalf("prefix of %d/%d bytes of the tiny model decoded without error", n, len(real))
			}
		}
	})
	// A cut inside a field says so.
	_, err = Decode(small[:len(small)-3], "")
	wantError(t, err, "malformed ModelProto")
}

func TestRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	noRecoveredPanics(t, func() {
		for i := 0; i < 2000; i++ {
			b := make([]byte, rng.Intn(300))
			rng.Read(b)
			if _, err := Decode(b, ""); err == nil {
				t.Fatalf("random bytes %x decoded as a model", b)
			}
			DecodeTensor(b) // may succeed (an empty tensor is easy to hit), must not panic
		}
	})
	_, err := Decode([]byte("this is not a protobuf \xff\xff\xff"), "")
	wantError(t, err, "malformed ModelProto")
}

// badGraph decodes a model from g and checks the error's message.
func badGraph(t *testing.T, g graphParts, parts ...string) {
	t.Helper()
	var err error
	noRecoveredPanics(t, func() { _, err = Decode(modelMsg(8, g), "") })
	wantError(t, err, parts...)
}

// ifGraph has an If node with then/else subgraphs, which tsmc rejects.
func ifGraph() graphParts {
	body := graphParts{name: "then", nodes: []msg{node("", "Identity", []string{"x"}, []string{"y"})}}
	return graphParts{
		nodes: []msg{node("branch", "If", []string{"c"}, []string{"y"},
			attr("then_branch", attrGraph).sub(6, body.msg()),
			attr("else_branch", attrGraph).sub(6, body.msg()))},
		inputs:  []msg{valueInfo("c", codeBool)},
		outputs: []msg{valueInfo("y", codeFloat)},
	}
}

func TestGraphAttribute(t *testing.T) {
	badGraph(t, ifGraph(), `"branch"`, "If", `attribute "then_branch"`, "subgraph")
}

func TestUnsupportedAttributes(t *testing.T) {
	for _, c := range []struct {
		attr msg
		want []string
	}{
		{attr("mystery", 99), []string{`attribute "mystery"`, "unknown attribute type 99"}},
		{msg{}.str(1, "untyped").varint(3, 1), []string{`attribute "untyped"`, "no type"}},
		{attr("sp", attrSparseTensor), []string{`attribute "sp"`, "sparse"}},
		{attr("ts", attrTensors), []string{`attribute "ts"`, "TENSORS", "not supported"}},
		{attr("bodies", attrGraphs), []string{`attribute "bodies"`, "subgraph"}},
		{attr("t", attrTensor), []string{`attribute "t"`, "no tensor"}},
		{attrI("r", 1).str(21, "outer"), []string{`attribute "r"`, "function"}},
		{attrT("bad", tensorMsg("v", codeString, 1).str(6, "s")), []string{`attribute "bad"`, `tensor "v"`, "STRING"}},
	} {
		g := graphParts{
			nodes:   []msg{node("n1", "Relu", []string{"x"}, []string{"y"}, c.attr)},
			inputs:  []msg{valueInfo("x", codeFloat, 1)},
			outputs: []msg{valueInfo("y", codeFloat, 1)},
		}
		badGraph(t, g, append([]string{`node "n1"`, "Relu"}, c.want...)...)
	}
}

func TestBadInitializers(t *testing.T) {
	for _, c := range []struct {
		tensor msg
		want   []string
	}{
		{tensorMsg("w", codeString, 1).str(6, "hello"), []string{`"w"`, "STRING", "not supported"}},
		{tensorMsg("w", 14, 1).floatData(1, 2), []string{`"w"`, "COMPLEX64"}},
		{tensorMsg("w", 0, 1), []string{`"w"`, "UNDEFINED"}},
		{tensorMsg("w", 99, 1), []string{`"w"`, "unknown data type 99"}},
		{tensorMsg("w", codeFloat, 3).rawData(rawFloats(1, 2)), []string{`"w"`, "raw_data holds 8 bytes, want 12"}},
		{tensorMsg("w", codeFloat, 3).floatData(1, 2), []string{`"w"`, "float_data holds 2 elements, want 3"}},
		{tensorMsg("w", codeFloat, 3), []string{`"w"`, "no data, want 3 elements"}},
		{tensorMsg("w", codeInt64, 2).floatData(1, 2), []string{`"w"`, "holds float_data, which INT64 tensors do not use"}},
		{tensorMsg("w", codeFloat, 1).floatData(1).rawData(rawFloats(1)), []string{`"w"`, "both raw_data and float_data"}},
		{tensorMsg("w", codeInt8, 2).int32Data(1, 300), []string{`"w"`, "300 is out of range for INT8"}},
		{tensorMsg("w", codeFloat, 3, -1), []string{`"w"`, "negative"}},
		{tensorMsg("w", codeFloat, 1<<20, 1<<20, 1<<10), []string{`"w"`, "more than 4294967296 elements"}},
		{tensorMsg("w", codeFloat, 1<<62, 1<<62), []string{`"w"`, "more than"}},
		{tensorMsg("w", codeFloat, 1).rawData(rawFloats(1)).sub(3, msg{}.varint(1, 0)), []string{`"w"`, "segment"}},
		{tensorMsg("w", codeFloat, 1).rawData(rawFloats(1)).varint(14, 5), []string{`"w"`, "data_location 5"}},
		{tensorMsg("w", codeFloat, 1).external(), []string{`"w"`, "no external_data location"}},
		{tensorMsg("w", codeInt32, 2).packedVarints(5).bytes(5, []byte{0x80, 0x80}), []string{`"w"`, "int32_data", "malformed packed"}},
		{tensorMsg("w", codeFloat, 2).bytes(4, []byte{1, 2, 3}), []string{`"w"`, "float_data", "malformed packed"}},
	} {
		g := simpleGraph()
		g.inits = []msg{c.tensor}
		badGraph(t, g, append([]string{"initializer"}, c.want...)...)
	}
}

func TestHugeDimsAllocateNothing(t *testing.T) {
	m := tensorMsg("huge", codeFloat, 1<<16, 1<<16, 2).floatData(1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := DecodeTensor(m)
	runtime.ReadMemStats(&after)
	wantError(t, err, `"huge"`, "more than")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("rejecting the tensor allocated %d bytes", grew)
	}
	// Dims that fit but without the data to match allocate nothing big
	// either: the count is checked first.
	m = tensorMsg("big", codeFloat, 1<<30).floatData(1, 2)
	runtime.ReadMemStats(&before)
	_, _, err = DecodeTensor(m)
	runtime.ReadMemStats(&after)
	wantError(t, err, `"big"`, "holds 2 elements, want 1073741824")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("rejecting the tensor allocated %d bytes", grew)
	}
}

func TestBadGraphs(t *testing.T) {
	base := simpleGraph
	t.Run("undefined input", func(t *testing.T) {
		g := base()
		g.nodes[1] = node("relu", "Relu", []string{"nowhere"}, []string{"y"})
		badGraph(t, g, `node "relu"`, "Relu", `"nowhere"`, "not defined")
	})
	t.Run("cycle", func(t *testing.T) {
		g := base()
		g.nodes = append(g.nodes,
			node("a", "Neg", []string{"q"}, []string{"p"}),
			node("b", "Neg", []string{"p"}, []string{"q"}))
		badGraph(t, g, "cycle")
	})
	t.Run("output defined twice", func(t *testing.T) {
		g := base()
		g.nodes = append(g.nodes, node("again", "Neg", []string{"x"}, []string{"s"}))
		badGraph(t, g, `node "again"`, `"s"`, `already defined by node "add"`)
	})
	t.Run("output overwrites input", func(t *testing.T) {
		g := base()
		g.nodes = append(g.nodes, node("clobber", "Neg", []string{"y"}, []string{"x"}))
		badGraph(t, g, `node "clobber"`, `"x"`, "already defined by graph input")
	})
	t.Run("output overwrites initializer", func(t *testing.T) {
		g := base()
		g.nodes = append(g.nodes, node("clobber", "Neg", []string{"y"}, []string{"w"}))
		badGraph(t, g, `node "clobber"`, `"w"`, "already defined by initializer")
	})
	t.Run("same output twice in a node", func(t *testing.T) {
		g := base()
		g.nodes = append(g.nodes, node("split", "Split", []string{"y"}, []string{"u", "u"}))
		badGraph(t, g, `node "split"`, `"u" is listed twice`)
	})
	t.Run("no op type", func(t *testing.T) {
		g := base()
		g.nodes[1] = node("relu", "", []string{"s"}, []string{"y"})
		badGraph(t, g, `node "relu"`, "no op_type")
	})
	t.Run("domain not imported", func(t *testing.T) {
		g := base()
		g.nodes[1] = node("relu", "Relu", []string{"s"}, []string{"y"}).domain("com.other")
		badGraph(t, g, `node "relu"`, `"com.other"`, "opset_import")
	})
	t.Run("duplicate attribute", func(t *testing.T) {
		g := base()
		g.nodes[1] = node("relu", "Relu", []string{"s"}, []string{"y"}, attrI("k", 1), attrI("k", 2))
		badGraph(t, g, `node "relu"`, `attribute "k" is given twice`)
	})
	t.Run("undefined graph output", func(t *testing.T) {
		g := base()
		g.outputs = append(g.outputs, valueInfo("ghost", codeFloat))
		badGraph(t, g, `graph output "ghost" is not defined`)
	})
	t.Run("duplicate initializer", func(t *testing.T) {
		g := base()
		g.inits = append(g.inits, g.inits[0])
		badGraph(t, g, `initializer "w" is given twice`)
	})
	t.Run("duplicate input", func(t *testing.T) {
		g := base()
		g.inputs = append(g.inputs, g.inputs[0])
		badGraph(t, g, `graph input "x" is listed twice`)
	})
	t.Run("non-tensor input", func(t *testing.T) {
		g := base()
		seq := msg{}.sub(4, msg{}.sub(1, msg{}.sub(1, msg{}.varint(1, codeFloat))))
		g.inputs = append(g.inputs, msg{}.str(1, "list").sub(2, seq))
		badGraph(t, g, `graph input "list"`, "sequence", "only tensors")
	})
	t.Run("string input", func(t *testing.T) {
		g := base()
		g.inputs[0] = valueInfo("x", codeString, 3)
		badGraph(t, g, `graph input "x"`, "STRING")
	})
	t.Run("negative input dim", func(t *testing.T) {
		g := base()
		g.inputs[0] = valueInfo("x", codeFloat, -3)
		badGraph(t, g, `graph input "x"`, "invalid size -3")
	})
	t.Run("sparse initializer", func(t *testing.T) {
		m := append(modelMsg(8, base()), msg{}.sub(7, msg{}.sub(15, msg{}))...)
		_, err := Decode(m, "")
		wantError(t, err, "sparse initializers")
	})
	t.Run("no graph", func(t *testing.T) {
		_, err := Decode(msg{}.varint(1, 8).sub(8, opsetMsg("", 13)), "")
		wantError(t, err, "no graph")
	})
	t.Run("bad opset version", func(t *testing.T) {
		_, err := Decode(modelMsg(8, base(), opsetMsg("", 0)), "")
		wantError(t, err, "opset_import", "version 0")
	})
}

func TestBadExternalData(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), rawFloats(1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "secret.bin"), rawFloats(1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	ext := func(kv ...string) msg {
		m := tensorMsg("w", codeFloat, 3).external()
		for i := 0; i+1 < len(kv); i += 2 {
			m = m.externalEntry(kv[i], kv[i+1])
		}
		return m
	}
	for _, c := range []struct {
		tensor msg
		want   []string
	}{
		{ext("location", "../secret.bin"), []string{`"../secret.bin"`, "inside the model directory"}},
		{ext("location", "sub/../../secret.bin"), []string{"inside the model directory"}},
		{ext("location", filepath.Join(root, "secret.bin")), []string{"inside the model directory"}},
		{ext("location", "link.bin"), []string{"link.bin"}},
		{ext("location", "absent.bin"), []string{"absent.bin", "no such file"}},
		{ext("location", "w.bin", "offset", "100"), []string{"offset 100", "beyond the end", "12 bytes"}},
		{ext("location", "w.bin", "offset", "4"), []string{"8 bytes long, want 12"}},
		{ext("location", "w.bin", "length", "8"), []string{"8 bytes long, want 12"}},
		{ext("location", "w.bin", "offset", "4", "length", "12"), []string{"runs past the end"}},
		{ext("location", "w.bin", "offset", "-4"), []string{"offset", `"-4"`, "not a valid byte count"}},
		{ext("location", "w.bin", "length", "twelve"), []string{"length", `"twelve"`}},
		{ext("location", "w.bin").rawData(rawFloats(1, 2, 3)), []string{"externally but also holds raw_data"}},
	} {
		g := simpleGraph()
		g.inits = []msg{c.tensor}
		path := filepath.Join(dir, "model.onnx")
		if err := os.WriteFile(path, modelMsg(8, g), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		noRecoveredPanics(t, func() { _, err = Load(path) })
		wantError(t, err, append([]string{path, `tensor "w"`}, c.want...)...)
	}
}
