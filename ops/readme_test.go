package ops

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README's operator list from the table")

// TestReadmeOperatorList checks that README's list of operators is the
// table's (-update rewrites it).
func TestReadmeOperatorList(t *testing.T) {
	const path = "../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplaceReadmeList(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if want == string(data) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README's operator list is not the table's; run go test ./ops -run TestReadme -update")
}
