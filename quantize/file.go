package quantize

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

// FileOptions configures File.
type FileOptions struct {
	Options
	// Shapes binds input shapes by name; symbolic dimensions left unbound
	// take their sizes from the first calibration data set.
	Shapes map[string]ir.Shape
}

// Report is what File did and found.
type Report struct {
	Result
	// Sequences is the number of calibration folders.
	Sequences int
	// States names the online model's state inputs fed back (input ->
	// output); StatesNote says why there are none when the float model
	// could not be lowered to find them.
	States     map[string]string
	StatesNote string
	// Float and Quantized are the float model's optimised graph's
	// statistics and the quantised model's, after tsmc's passes.
	Float, Quantized ir.Stats
	// Agreement compares the two over the calibration data.
	Agreement *Agreement
}

// LoadSequences reads calibration folders: each is a sequence, made of its
// test_data_set_* folders in order, or of itself when it holds input_N.pb
// files.
func LoadSequences(dirs []string) ([][]*onnx.DataSet, error) {
	var seqs [][]*onnx.DataSet
	for _, dir := range dirs {
		sets, err := onnx.DataSetDirs(dir)
		if err != nil {
			return nil, err
		}
		if len(sets) == 0 {
			sets = []string{dir}
		}
		var seq []*onnx.DataSet
		for _, s := range sets {
			ds, err := onnx.LoadDataSet(s)
			if err != nil {
				return nil, err
			}
			if len(ds.Inputs) == 0 {
				return nil, fmt.Errorf("%s: no input_N.pb files", s)
			}
			seq = append(seq, ds)
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("no calibration folders")
	}
	return seqs, nil
}

// File quantises the model at modelPath with the calibration folders and
// writes the QDQ model to outPath; the file is written only when the
// quantised model reads back, passes tsmc's pipeline and runs. The report
// compares float32 and int8 over the calibration data, both as tsmc runs
// them (the int8 side after fuse-qdq).
func File(modelPath, outPath string, calibDirs []string, opts FileOptions) (*Report, error) {
	sets, err := LoadSequences(calibDirs)
	if err != nil {
		return nil, err
	}
	sample := sets[0][0]
	shapes := map[string]ir.Shape{}
	for k, v := range opts.Shapes {
		shapes[k] = v
	}
	raw, err := onnx.Load(modelPath)
	if err != nil {
		return nil, err
	}
	for i, in := range raw.Inputs {
		if _, bound := shapes[in.Name]; !bound && !in.Shape.Known() && i < len(sample.Inputs) {
			shapes[in.Name] = sample.Inputs[i].Shape
		}
	}
	g, err := tsmc.Load(modelPath, shapes)
	if err != nil {
		return nil, err
	}
	rep := &Report{Sequences: len(sets), States: map[string]string{}}
	float, err := tsmc.Optimize(modelPath, shapes, sample)
	if err != nil {
		return nil, err
	}
	rep.Float = float.ComputeStats()
	if states, err := codegen.StreamStates(float); err != nil {
		rep.StatesNote = fmt.Sprintf("the float model does not lower (%v), so no states are fed back", err)
	} else {
		for _, st := range states {
			rep.States[st.Input] = st.Output
		}
	}
	calib := make([]Sequence, len(sets))
	for s, seq := range sets {
		for _, ds := range seq {
			ordered, err := tsmc.DataSetInGraphOrder(g, ds)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ds.Dir, err)
			}
			feeds := Feeds{}
			for i, in := range g.Inputs {
				if ordered.Inputs[i] == nil {
					return nil, fmt.Errorf("%s: gives no input %q", ds.Dir, in.Name)
				}
				feeds[in.Name] = ordered.Inputs[i]
			}
			calib[s] = append(calib[s], feeds)
		}
	}
	opts.States = rep.States
	res, err := Quantize(g, calib, opts.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	rep.Result = *res
	data, err := onnx.Encode(g)
	if err != nil {
		return nil, fmt.Errorf("writing the quantised model: %w", err)
	}
	quant, err := onnx.Decode(data, "")
	if err != nil {
		return nil, fmt.Errorf("the quantised model does not read back (a tsmc bug): %w", err)
	}
	if err := tsmc.Prepare(quant, shapes); err != nil {
		return nil, fmt.Errorf("the quantised model: %w", err)
	}
	if err := passes.Run(quant, passes.Options{}); err != nil {
		return nil, fmt.Errorf("the quantised model: %w", err)
	}
	rep.Quantized = quant.ComputeStats()
	if rep.Agreement, err = Agree(float, quant, calib, rep.States); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".tsmc-quantize-*.onnx")
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	if err := os.Rename(tmp.Name(), outPath); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return rep, nil
}
