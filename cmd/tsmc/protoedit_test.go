package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Edits of ONNX model bytes for tests: each rewrites the fields of one
// protobuf message and leaves every other byte as it was.

// pbField is one field of a protobuf message: its number and type, and
// its value (the payload of a length-delimited field, else the encoded
// value).
type pbField struct {
	num protowire.Number
	typ protowire.Type
	val []byte
}

// pbFields splits a message into its fields.
func pbFields(t *testing.T, b []byte) []pbField {
	t.Helper()
	var fs []pbField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(m))
		}
		val := b[:m]
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(b)
		}
		fs = append(fs, pbField{num, typ, val})
		b = b[m:]
	}
	return fs
}

// pbJoin encodes fields back into a message.
func pbJoin(fs []pbField) []byte {
	var b []byte
	for _, f := range fs {
		b = protowire.AppendTag(b, f.num, f.typ)
		if f.typ == protowire.BytesType {
			b = protowire.AppendBytes(b, f.val)
		} else {
			b = append(b, f.val...)
		}
	}
	return b
}

// editFields rewrites the fields numbered num of a message: edit returns
// the new value, or nil to drop the field.
func editFields(t *testing.T, msg []byte, num protowire.Number, edit func(val []byte) []byte) []byte {
	t.Helper()
	var out []pbField
	for _, f := range pbFields(t, msg) {
		if f.num == num {
			if f.val = edit(f.val); f.val == nil {
				continue
			}
		}
		out = append(out, f)
	}
	return pbJoin(out)
}

// ModelProto, GraphProto, TensorProto and OperatorSetIdProto field numbers.
const (
	modelGraph        = 7
	modelOpsetImport  = 8
	graphOutput       = 12
	graphInitializer  = 5
	tensorName        = 8
	tensorRawData     = 9
	opsetVersionField = 2
)

// withOpset sets the version of every opset the model imports.
func withOpset(t *testing.T, model []byte, version int64) []byte {
	return editFields(t, model, modelOpsetImport, func(op []byte) []byte {
		return editFields(t, op, opsetVersionField, func([]byte) []byte {
			return protowire.AppendVarint(nil, uint64(version))
		})
	})
}

// editGraph rewrites the model's graph.
func editGraph(t *testing.T, model []byte, edit func(graph []byte) []byte) []byte {
	return editFields(t, model, modelGraph, edit)
}

// withoutOutputs drops the graph's outputs.
func withoutOutputs(t *testing.T, model []byte) []byte {
	return editGraph(t, model, func(g []byte) []byte {
		return editFields(t, g, graphOutput, func([]byte) []byte { return nil })
	})
}

// withPoisonedWeight sets the first float32 values of the raw data of
// the initializer named name.
func withPoisonedWeight(t *testing.T, model []byte, name string, values ...float32) []byte {
	found := false
	out := editGraph(t, model, func(g []byte) []byte {
		return editFields(t, g, graphInitializer, func(tp []byte) []byte {
			for _, f := range pbFields(t, tp) {
				if f.num == tensorName && string(f.val) != name {
					return tp
				}
			}
			found = true
			return editFields(t, tp, tensorRawData, func(raw []byte) []byte {
				raw = append([]byte{}, raw...)
				for i, v := range values {
					binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
				}
				return raw
			})
		})
	})
	if !found {
		t.Fatalf("no initializer %q with raw data", name)
	}
	return out
}

// writeModel writes model bytes as dir/name, with copies of the data
// sets of the tiny model in testdata folder from (none when from is "").
func writeModel(t *testing.T, dir, name string, model []byte, from string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if from != "" {
		sets, _ := filepath.Glob(filepath.Join("..", "..", "testdata", from, "test_data_set_*"))
		for _, set := range sets {
			copyDir(t, set, filepath.Join(dir, filepath.Base(set)))
		}
	}
	return path
}

// copyDir copies the files of a folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readModel reads a model of the module's testdata.
func readModel(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
