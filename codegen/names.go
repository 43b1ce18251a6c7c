package codegen

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"
)

// exportedIdent turns a tensor name into an exported Go identifier: the
// runs of letters and digits, each capitalised, joined ("/base/fc/Gemm_0"
// gives "BaseFcGemm0"). A name without letters or digits gives "X", one
// starting with a digit gets an "X" prefix.
func exportedIdent(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if !isIdentRune(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" || unicode.IsDigit([]rune(s)[0]) {
		s = "X" + s
	}
	return s
}

func isIdentRune(r rune) bool {
	return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// unexported lower-cases the first letter of an exported identifier.
func unexported(ident string) string {
	r := []rune(ident)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// PackageName turns a folder name into a Go package name: lower case,
// letters, digits and underscores, not starting with a digit, not a
// keyword, not main (a command, which no package can import).
func PackageName(folder string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(folder) {
		switch {
		case isIdentRune(r) || r == '_':
			b.WriteRune(r)
		case r == '-' || r == '.' || r == ' ':
			b.WriteRune('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || unicode.IsDigit([]rune(s)[0]) || token.IsKeyword(s) || s == "main" {
		s = "model" + s
	}
	return s
}

// identSet hands out unique identifiers.
type identSet map[string]bool

// unique returns ident, or ident with the smallest numeric suffix that is
// still free, and takes it.
func (s identSet) unique(ident string) string {
	name := ident
	for i := 2; s[name]; i++ {
		name = ident + "_" + strconv.Itoa(i)
	}
	s[name] = true
	return name
}
