package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
)

// DecodeTensor reads a serialized TensorProto, such as the input_N.pb and
// output_N.pb files of ONNX test data sets, and returns its name and value.
// The tensor may alias data. External data is an error here; use
// LoadTensor for files that refer to it.
func DecodeTensor(data []byte) (name string, t *ir.Tensor, err error) {
	return decodeTensorIn(data, "")
}

func decodeTensorIn(data []byte, dir string) (name string, t *ir.Tensor, err error) {
	defer recoverPanic(&err)
	if len(data) == 0 {
		return "", nil, errors.New("empty tensor file (0 bytes)")
	}
	var tp tensorProto
	if err := tp.decode(data); err != nil {
		return "", nil, fmt.Errorf("malformed TensorProto: %w", err)
	}
	td := &tensorDecoder{dir: dir}
	defer td.close()
	t, err = td.tensor(&tp)
	if err != nil {
		return "", nil, err
	}
	return tp.name, t, nil
}

// LoadTensor reads a TensorProto file; external data is read relative to
// the file's directory. Errors name path.
func LoadTensor(path string) (name string, t *ir.Tensor, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	name, t, err = decodeTensorIn(data, filepath.Dir(path))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return name, t, nil
}

// DataSet is one ONNX test data set: the tensors of input_N.pb and
// output_N.pb, ordered by N, with the names stored in them.
type DataSet struct {
	Dir                     string
	InputNames, OutputNames []string
	Inputs, Outputs         []*ir.Tensor
}

// LoadDataSet reads the input_N.pb and output_N.pb files of dir. The
// numbers must run from 0 without gaps.
func LoadDataSet(dir string) (*DataSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]map[int]string{"input": {}, "output": {}}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		for kind, byIndex := range files {
			if i, ok := numberedName(e.Name(), kind+"_", ".pb"); ok {
				if other, dup := byIndex[i]; dup {
					return nil, fmt.Errorf("%s: %s and %s are both %s %d", dir, other, e.Name(), kind, i)
				}
				byIndex[i] = e.Name()
			}
		}
	}
	if len(files["input"])+len(files["output"]) == 0 {
		return nil, fmt.Errorf("%s: no input_N.pb or output_N.pb files", dir)
	}
	ds := &DataSet{Dir: dir}
	load := func(kind string, names *[]string, tensors *[]*ir.Tensor) error {
		byIndex := files[kind]
		for i := 0; i < len(byIndex); i++ {
			file, ok := byIndex[i]
			if !ok {
				return fmt.Errorf("%s: %s_%d.pb is missing (found %d %s files)", dir, kind, i, len(byIndex), kind)
			}
			name, t, err := LoadTensor(filepath.Join(dir, file))
			if err != nil {
				return err
			}
			*names = append(*names, name)
			*tensors = append(*tensors, t)
		}
		return nil
	}
	if err := load("input", &ds.InputNames, &ds.Inputs); err != nil {
		return nil, err
	}
	if err := load("output", &ds.OutputNames, &ds.Outputs); err != nil {
		return nil, err
	}
	return ds, nil
}

// DataSetDirs lists the test_data_set_N directories in modelDir, sorted
// by N (so test_data_set_10 follows test_data_set_9). It returns an empty
// list when there are none.
func DataSetDirs(modelDir string) ([]string, error) {
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		return nil, err
	}
	type numbered struct {
		n    int
		path string
	}
	var found []numbered
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if i, ok := numberedName(e.Name(), "test_data_set_", ""); ok {
			found = append(found, numbered{i, filepath.Join(modelDir, e.Name())})
		}
	}
	sort.Slice(found, func(a, b int) bool { return found[a].n < found[b].n })
	dirs := make([]string, len(found))
	for i, f := range found {
		dirs[i] = f.path
	}
	return dirs, nil
}

// numberedName parses names of the form prefix + decimal number + suffix.
func numberedName(name, prefix, suffix string) (int, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, suffix)
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	if err != nil || i > 1<<20 {
		return 0, false
	}
	return i, true
}
