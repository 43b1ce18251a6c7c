package ops

import (
	"fmt"
	"strings"
)

// Markdown lists the table for README: the ops generated code computes,
// those that exist at compile time only, the ones the interpreter and
// shape inference know but code generation does not, and tsmc's own.
func Markdown() string {
	var compiled, folded, inferOnly, quantCompiled, quantFused, quantized, own, ownQuantized []string
	for _, name := range Names() {
		d := table[name]
		switch {
		case d.Quantized && d.Domain == Domain:
			ownQuantized = append(ownQuantized, "`"+name+"`")
		case d.Quantized && d.Lower != nil:
			quantCompiled = append(quantCompiled, name)
		case d.Quantized && d.Becomes != "":
			quantFused = append(quantFused, name+" (→ `"+d.Becomes+"`)")
		case d.Quantized:
			quantized = append(quantized, name)
		case d.Domain != "":
			own = append(own, "`"+name+"`")
		case d.Folded:
			folded = append(folded, name)
		case d.Lower != nil:
			compiled = append(compiled, name)
		default:
			inferOnly = append(inferOnly, name)
		}
	}
	var b strings.Builder
	list := func(title string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(&b, "%s (%d): %s.\n\n", title, len(names), strings.Join(names, ", "))
		}
	}
	list("Compiled to generated code", compiled)
	list("Folded at compile time (their inputs must be known then)", folded)
	list("Read, inferred and interpreted, but not compiled (integer outputs)", inferOnly)
	list("Quantised, compiled per tensor (at a QDQ model's float32 boundary; the passes fuse the others into tsmc's quantised ops)", quantCompiled)
	list("Quantised, compiled as the tsmc op the pass fuse-qlinear makes of them (the operator form, with constant scales, zero points and weights)", quantFused)
	list("Quantised, read, inferred and interpreted, but not compiled (int32 outputs)", quantized)
	list("tsmc's own operators, made by the passes", own)
	list("tsmc's quantised operators, made by the passes of QDQ patterns and the operator form, compiled onto the int8 kernels", ownQuantized)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// readmeMarkers delimit the generated list in README.md.
var readmeMarkers = [2]string{"<!-- ops table: begin (go test ./ops -run TestReadme -update) -->\n", "<!-- ops table: end -->\n"}

// ReplaceReadmeList returns readme with the text between the markers
// replaced by Markdown().
func ReplaceReadmeList(readme string) (string, error) {
	begin := strings.Index(readme, readmeMarkers[0])
	end := strings.Index(readme, readmeMarkers[1])
	if begin < 0 || end < begin {
		return "", fmt.Errorf("README has no operator list between %q and %q", strings.TrimSpace(readmeMarkers[0]), strings.TrimSpace(readmeMarkers[1]))
	}
	return readme[:begin+len(readmeMarkers[0])] + "\n" + Markdown() + "\n" + readme[end:], nil
}
