package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// fuzzWeights is the external data file the fuzz targets provide, so that
// mutated external_data entries reach the file-reading code.
const fuzzWeights = "weights.bin"

// externalModel reads initializer w from fuzzWeights.
func externalModel() msg {
	g := simpleGraph()
	g.inits = []msg{tensorMsg("w", codeFloat, 3).external().
		externalEntry("location", fuzzWeights).externalEntry("offset", "4").externalEntry("length", "12")}
	return modelMsg(8, g)
}

// constantModel computes y = x * c with c from a Constant node.
func constantModel() msg {
	g := graphParts{
		nodes: []msg{
			node("c", "Constant", nil, []string{"c"}, attrT("value", tensorMsg("", codeFloat, 1).floatData(2))),
			node("mul", "Mul", []string{"x", "c"}, []string{"y"}),
		},
		inputs:  []msg{valueInfo("x", codeFloat, "N")},
		outputs: []msg{valueInfo("y", codeFloat, "N")},
	}
	return modelMsg(10, g)
}

// seedModels are small hand-built models for the fuzz corpus.
func seedModels() map[string]msg {
	simple := modelMsg(7, simpleGraph())
	return map[string]msg{
		"simple_ir3":     modelMsg(3, simpleGraph()),
		"simple_ir10":    modelMsg(10, simpleGraph()),
		"attributes":     attributeModel(),
		"constant":       constantModel(),
		"external":       externalModel(),
		"if":             modelMsg(8, ifGraph()),
		"prefix_half":    simple[:len(simple)/2],
		"prefix_minus_1": simple[:len(simple)-1],
	}
}

// addFileSeeds adds the tiny models' files (model.onnx when models is
// set, the data set .pb files otherwise).
func addFileSeeds(f *testing.F, models bool) {
	for _, dir := range tinyModels {
		pattern := filepath.Join(dir, "test_data_set_*", "*.pb")
		if models {
			pattern = filepath.Join(dir, "model.onnx")
		}
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files match %s", pattern)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func FuzzDecode(f *testing.F) {
	addFileSeeds(f, true)
	addFileSeeds(f, false)
	for _, m := range seedModels() {
		f.Add([]byte(m))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fuzzWeights), make([]byte, 64), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		noRecoveredPanics(t, func() {
			g, err := Decode(data, dir)
			if err != nil {
				return
			}
			if err := g.Verify(); err != nil {
				t.Fatalf("decoded graph does not verify: %v", err)
			}
			for _, n := range g.Nodes {
				for name, a := range n.Attrs {
					if a.Kind == ir.AttrTensor {
						if err := a.Tensor.Check(); err != nil {
							t.Fatalf("%s attribute %q: %v", n.Describe(), name, err)
						}
					}
				}
			}
			_ = g.Print()
		})
	})
}

func FuzzDecodeTensor(f *testing.F) {
	addFileSeeds(f, false)
	for _, c := range tensorCases() {
		f.Add([]byte(c.m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		noRecoveredPanics(t, func() {
			_, tt, err := DecodeTensor(data)
			if err != nil {
				return
			}
			if err := tt.Check(); err != nil {
				t.Fatalf("decoded tensor fails Check: %v", err)
			}
		})
	})
}

// TestWriteFuzzCorpus regenerates the committed seed corpus under
// testdata/fuzz when TSMC_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("TSMC_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set TSMC_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, data []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		entry := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(entry), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, m := range seedModels() {
		write("FuzzDecode", name, m)
	}
	tiny, err := os.ReadFile(filepath.Join(tinyModels[1], "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	write("FuzzDecode", "tiny_prefix_4k", tiny[:4096])
	for i, c := range tensorCases() {
		if i%3 == 0 {
			write("FuzzDecodeTensor", fmt.Sprintf("case_%02d", i), c.m)
		}
	}
}
