package passes

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeListsThePipeline checks that README's inspect section names
// the pipeline's passes in order.
func TestReadmeListsThePipeline(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "(`passes.Pipeline`:"
	text := string(data)
	i := strings.Index(text, intro)
	if i < 0 {
		t.Fatalf("README has no %q", intro)
	}
	list := text[i+len(intro):]
	list = list[:strings.Index(list, ";")]
	var got []string
	for _, f := range strings.Split(list, ",") {
		got = append(got, strings.TrimSpace(f))
	}
	var want []string
	for _, p := range Pipeline {
		want = append(want, p.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("README lists the passes\n%v\nthe pipeline is\n%v", got, want)
	}
}
