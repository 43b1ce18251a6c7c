package neon

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"strings"

	"github.com/tsmc-go/tsmc/asm/internal/genfile"
)

// File is a set of assembly functions printed as one .s file and one Go
// file of stubs.
type File struct {
	Package     string   // Go package of the stubs
	Constraint  string   // build constraint expression of both files
	GeneratedBy string   // who wrote it, in the "Code generated" header
	Generator   []string // the generator source files, in the header's Generator line
	Funcs       []*Func
}

// Err returns the errors of every function.
func (f *File) Err() error {
	var errs []error
	for _, fn := range f.Funcs {
		errs = append(errs, fn.Err())
	}
	return errors.Join(errs...)
}

func (f *File) header(b *bytes.Buffer) {
	fmt.Fprintf(b, "%s\n//go:build %s\n\n", genfile.Header(f.GeneratedBy, f.Generator), f.Constraint)
}

// mnemonicWidth is the column where operands start.
const mnemonicWidth = 8

// Asm returns the assembly file.
func (f *File) Asm() ([]byte, error) {
	if err := f.Err(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	f.header(&b)
	b.WriteString("#include \"textflag.h\"\n")
	for _, fn := range f.Funcs {
		fmt.Fprintf(&b, "\n// func %s(%s)\n", fn.name, fn.signature())
		fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", fn.name, 8*len(fn.params))
		for _, l := range fn.lines {
			switch l.kind {
			case instLine:
				mnemonic, operands, _ := strings.Cut(l.text, "\t")
				if operands == "" {
					fmt.Fprintf(&b, "\t%s\n", mnemonic)
				} else {
					fmt.Fprintf(&b, "\t%-*s %s\n", mnemonicWidth, mnemonic, operands)
				}
			case wordLine:
				fmt.Fprintf(&b, "\t%-*s $0x%08x // %s\n", mnemonicWidth, "WORD", l.encoded.Word, l.encoded.Text)
			case labelLine:
				fmt.Fprintf(&b, "\n%s:\n", l.text)
			case commentLine:
				fmt.Fprintf(&b, "\t// %s\n", l.text)
			}
		}
	}
	return b.Bytes(), nil
}

// Stubs returns the Go file declaring the functions, gofmt-formatted.
func (f *File) Stubs() ([]byte, error) {
	if err := f.Err(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	f.header(&b)
	fmt.Fprintf(&b, "package %s\n", f.Package)
	for _, fn := range f.Funcs {
		b.WriteString("\n")
		for _, d := range fn.doc {
			fmt.Fprintf(&b, "// %s\n", d)
		}
		if len(fn.doc) > 0 {
			b.WriteString("//\n")
		}
		fmt.Fprintf(&b, "//go:noescape\nfunc %s(%s)\n", fn.name, fn.signature())
	}
	return format.Source(b.Bytes())
}

// signature returns the parameter list in Go syntax.
func (f *Func) signature() string {
	s := make([]string, len(f.params))
	for i, p := range f.params {
		s[i] = p.Name + " " + p.Type
	}
	return strings.Join(s, ", ")
}
