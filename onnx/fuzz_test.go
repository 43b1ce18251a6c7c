package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// dataSetFiles are the names FuzzLoadDataSet chooses its files from: the
// numbered files of a data set, with gaps, two spellings of one number,
// near misses, a folder where a file is expected and a file external
// data can name.
var dataSetFiles = []string{
	"input_0.pb", "input_1.pb", "input_2.pb", "output_0.pb", "output_1.pb",
	"input_00.pb", "output_x.pb", "input_0.pb.bak", "input_3.pb/", fuzzWeights,
}

// writeDataSet writes into dir the files of dataSetFiles that present
// selects (bit k for file k), the k-th present file holding contents[k%3];
// it returns how many input and output files it wrote.
func writeDataSet(t *testing.T, dir string, present uint16, contents [3][]byte) (inputs, outputs int) {
	k := 0
	for i, name := range dataSetFiles {
		if present&(1<<i) == 0 {
			continue
		}
		p := filepath.Join(dir, name)
		var err error
		if strings.HasSuffix(name, "/") {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, contents[k%3], 0o644)
			k++
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := numberedName(name, "input_", ".pb"); ok {
			inputs++
		}
		if _, ok := numberedName(name, "output_", ".pb"); ok {
			outputs++
		}
	}
	return inputs, outputs
}

// FuzzLoadDataSet writes a data set folder of chosen files and contents
// and reads it: never a panic, and a data set read holds one valid tensor
// per numbered file, with its name.
func FuzzLoadDataSet(f *testing.F) {
	for _, dir := range append(tinyModels, "../testdata/tsm_tiny_online") {
		sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
		for _, set := range sets {
			in, err := os.ReadFile(filepath.Join(set, "input_0.pb"))
			if err != nil {
				f.Fatal(err)
			}
			out, err := os.ReadFile(filepath.Join(set, "output_0.pb"))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint16(1<<0|1<<3), in, out, []byte{})                 // input_0, output_0
			f.Add(uint16(1<<0|1<<1|1<<3|1<<4), in, out, in)             // two of each
			f.Add(uint16(1<<0|1<<2|1<<3), in, in, out)                  // a gap
			f.Add(uint16(1<<0|1<<5|1<<3), in, in, out)                  // input 0 twice
			f.Add(uint16(1<<0|1<<3|1<<6|1<<7|1<<8), in, out, in)        // near misses
			f.Add(uint16(1<<0|1<<3), in[:len(in)/2], out[:7], []byte{}) // truncated
		}
	}
	for _, c := range tensorCases() {
		f.Add(uint16(1<<0|1<<9), []byte(c.m), make([]byte, 64), []byte{}) // external data in weights.bin
	}
	f.Fuzz(func(t *testing.T, present uint16, a, b, c []byte) {
		dir := t.TempDir()
		inputs, outputs := writeDataSet(t, dir, present, [3][]byte{a, b, c})
		noRecoveredPanics(t, func() {
			ds, err := LoadDataSet(dir)
			if err != nil {
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name the folder", err)
				}
				return
			}
			if len(ds.Inputs) != inputs || len(ds.Outputs) != outputs || len(ds.InputNames) != inputs || len(ds.OutputNames) != outputs {
				t.Fatalf("%d inputs and %d outputs (%d and %d names) from %d input and %d output files",
					len(ds.Inputs), len(ds.Outputs), len(ds.InputNames), len(ds.OutputNames), inputs, outputs)
			}
			for _, ts := range [][]*ir.Tensor{ds.Inputs, ds.Outputs} {
				for i, tt := range ts {
					if err := tt.Check(); err != nil {
						t.Fatalf("tensor %d fails Check: %v", i, err)
					}
				}
			}
		})
	})
}
