package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/tsmc-go/tsmc/internal/testmodels"

	"github.com/tsmc-go/tsmc/ir"
)

// modelMeta is the meta.json written beside each test model.
type modelMeta struct {
	Name    string           `json:"name"`
	Opset   int64            `json:"opset"`
	Inputs  map[string][]int `json:"inputs"`
	Outputs map[string][]int `json:"outputs"`
	Bytes   int64            `json:"bytes"`
	Ops     []string         `json:"ops"`
}

func readMeta(t *testing.T, dir string) modelMeta {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m modelMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s/meta.json: %v", dir, err)
	}
	return m
}

var tinyModels = []string{"../testdata/tsm_tiny_official", "../testdata/tsm_tiny_mmaction"}

// checkAgainstMeta loads dir/model.onnx and compares it with meta.json:
// the set of op types, the opset, the input and output names and shapes.
func checkAgainstMeta(t *testing.T, dir string) *ir.Graph {
	t.Helper()
	meta := readMeta(t, dir)
	path := filepath.Join(dir, "model.onnx")
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Source != path {
		t.Errorf("Source = %q, want %q", g.Source, path)
	}
	if got := g.Opsets[""]; got != meta.Opset {
		t.Errorf("opset = %d, want %d", got, meta.Opset)
	}
	var ops []string
	for _, n := range g.Nodes {
		if n.Domain != "" {
			t.Errorf("%s has a non-default domain", n.Describe())
		}
		ops = append(ops, n.Op)
	}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	if !slices.Equal(ops, meta.Ops) {
		t.Errorf("op types = %v, want %v", ops, meta.Ops)
	}
	checkValues(t, "input", g.Inputs, meta.Inputs)
	checkValues(t, "output", g.Outputs, meta.Outputs)
	return g
}

func checkValues(t *testing.T, what string, vs []*ir.Value, want map[string][]int) {
	t.Helper()
	if len(vs) != len(want) {
		t.Errorf("%d %ss, want %d", len(vs), what, len(want))
	}
	for _, v := range vs {
		shape, ok := want[v.Name]
		if !ok {
			t.Errorf("unexpected %s %q", what, v.Name)
			continue
		}
		if !v.Shape.Equal(ir.Shape(shape)) || v.DType != ir.Float32 {
			t.Errorf("%s %q: %v%v, want f32%v", what, v.Name, v.DType, v.Shape, shape)
		}
	}
}

// constantBytes sums the data held by initializers and Constant nodes.
func constantBytes(g *ir.Graph) (inits int, total int64) {
	for _, c := range g.Constants() {
		inits++
		total += c.Const.Bytes()
	}
	for _, n := range g.Nodes {
		if t := n.AttrTensor("value"); n.Op == "Constant" && t != nil {
			total += t.Bytes()
		}
	}
	return inits, total
}

func TestTinyModels(t *testing.T) {
	for _, dir := range tinyModels {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := checkAgainstMeta(t, dir)
			// The weights of these float32 models make up most of the file.
			inits, bytes := constantBytes(g)
			st, err := os.Stat(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if inits < 10 || bytes > st.Size() || bytes < st.Size()/2 {
				t.Errorf("%d initializers with %d bytes of data in a %d-byte file", inits, bytes, st.Size())
			}
			checkDataSets(t, dir, g)
		})
	}
}

// checkDataSets loads every test data set of the model in dir and checks
// names, dtypes and shapes against the graph's inputs and outputs.
func checkDataSets(t *testing.T, dir string, g *ir.Graph) {
	t.Helper()
	dirs, err := DataSetDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no test data sets in %s", dir)
	}
	for i, d := range dirs {
		if want := filepath.Join(dir, "test_data_set_"+strconv.Itoa(i)); d != want {
			t.Errorf("data set %d is %s, want %s", i, d, want)
		}
		ds, err := LoadDataSet(d)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Dir != d {
			t.Errorf("Dir = %q, want %q", ds.Dir, d)
		}
		compareDataSet(t, d+" input", ds.InputNames, ds.Inputs, g.Inputs)
		compareDataSet(t, d+" output", ds.OutputNames, ds.Outputs, g.Outputs)
	}
}

func compareDataSet(t *testing.T, what string, names []string, tensors []*ir.Tensor, want []*ir.Value) {
	t.Helper()
	if len(names) != len(want) || len(tensors) != len(want) {
		t.Fatalf("%s: %d names and %d tensors, want %d", what, len(names), len(tensors), len(want))
	}
	for i, v := range want {
		tt := tensors[i]
		if names[i] != v.Name {
			t.Errorf("%s %d is named %q, want %q", what, i, names[i], v.Name)
		}
		if err := tt.Check(); err != nil {
			t.Errorf("%s %d: %v", what, i, err)
		}
		if tt.DType != v.DType || !tt.Shape.Equal(v.Shape) {
			t.Errorf("%s %d: %v%v, want %v%v", what, i, tt.DType, tt.Shape, v.DType, v.Shape)
		}
		nonzero := false
		for _, x := range tt.F32 {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s %d holds %v", what, i, x)
			}
			nonzero = nonzero || x != 0
		}
		if !nonzero && tt.Len() > 0 && i == 0 {
			t.Errorf("%s %d is all zeros", what, i)
		}
	}
}

func TestBigModels(t *testing.T) {
	root := testmodels.Dir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("full-size models not available (%v); set TSMC_MODELS to their directory", err)
	}
	found := 0
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		st, err := os.Stat(filepath.Join(dir, "model.onnx"))
		if err != nil || slices.Contains(tinyModels, "../testdata/"+e.Name()) {
			continue
		}
		found++
		t.Run(e.Name(), func(t *testing.T) {
			if testing.Short() && st.Size() > 50<<20 {
				t.Skipf("%d MB model skipped in -short mode", st.Size()>>20)
			}
			g := checkAgainstMeta(t, dir)
			checkDataSets(t, dir, g)
		})
	}
	if found == 0 {
		t.Skipf("no models in %s", root)
	}
}

// TestRawFloatsAlias checks that float32 weights decoded from a model
// buffer point into it rather than being copied.
func TestRawFloatsAlias(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(tinyModels[0], "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(&data[0]))
	hi := lo + uintptr(len(data))
	aliased, copied := 0, 0
	for _, c := range g.Constants() {
		if c.DType != ir.Float32 || len(c.Const.F32) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(&c.Const.F32[0]))
		if p >= lo && p < hi {
			aliased++
		} else {
			copied++
		}
	}
	if !littleEndian {
		if aliased != 0 {
			t.Errorf("%d tensors alias the buffer on a big-endian host", aliased)
		}
		return
	}
	// raw_data offsets in the file are not always 4-byte aligned, so
	// some tensors are copied; but most weights should be shared.
	if aliased == 0 {
		t.Errorf("no float32 initializer aliases the model buffer (%d copied)", copied)
	}
	t.Logf("%d float32 initializers alias the buffer, %d were copied", aliased, copied)
}

func TestViewOrCopy(t *testing.T) {
	want := []float32{1.5, -2, 3.25, float32(math.Inf(1))}
	buf := make([]byte, 1+4*len(want))
	copy(buf[1:], rawFloats(want...))
	decode := func(b []byte) float32 {
		return math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
	}
	aligned := append(make([]byte, 0, len(buf)), buf[1:]...) // fresh allocation: 8-byte aligned
	for _, tc := range []struct {
		name      string
		raw       []byte
		wantAlias bool
	}{
		{"aligned", aligned, littleEndian},
		{"misaligned", buf[1:], false},
	} {
		got := viewOrCopy(tc.raw, decode)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, want)
		}
		alias := unsafe.Pointer(&got[0]) == unsafe.Pointer(&tc.raw[0])
		if alias != tc.wantAlias {
			t.Errorf("%s: aliased = %v, want %v", tc.name, alias, tc.wantAlias)
		}
		if cap(got) != len(want) {
			t.Errorf("%s: cap %d lets appends overwrite the buffer", tc.name, cap(got))
		}
	}
	if got := viewOrCopy(nil, decode); got == nil || len(got) != 0 {
		t.Errorf("empty input gave %#v", got)
	}
}
