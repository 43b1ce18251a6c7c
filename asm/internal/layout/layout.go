// Package layout records the argument-block layouts the generated
// assembly reads, for the registry files of both generators (asm for
// amd64, asm/cmd/neongen for arm64).
package layout

// Block is one argument block: its Go type name and its fields' byte
// offsets in declaration order.
type Block struct {
	Name   string
	Fields []Field
}

// Field is a field's name and byte offset.
type Field struct {
	Field string
	Off   int
}

// New returns the block of type name with fields order at offsets.
func New(name string, order []string, offsets map[string]int) Block {
	b := Block{Name: name}
	for _, f := range order {
		b.Fields = append(b.Fields, Field{f, offsets[f]})
	}
	return b
}

// Template is the registry files' text/template fragment declaring
// asmLayouts from a .Layouts list of Blocks.
const Template = `// asmLayouts are the field offsets of each argument block the assembly
// was generated for, by Go type name (TestAsmLayout checks them against
// the Go structs).
var asmLayouts = map[string]map[string]uintptr{
{{- range .Layouts}}
	"{{.Name}}": {
	{{- range .Fields}}
		"{{.Field}}": {{.Off}},
	{{- end}}
	},
{{- end}}
}
`
