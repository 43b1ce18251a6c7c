// Package naming spells the two names of a generated kernel from one
// descriptor, for both generators (asm for amd64, asm/cmd/neongen for
// arm64): the contract name, XNNPACK style, which the runtime reports
// (GemmKernel.Name) and the documentation uses, and the Go name of the
// assembly function.
package naming

import "strings"

// Kernel describes a kernel by its parts. Variant and Shape are written
// as they appear in the Go name; the contract name has them in lower case.
type Kernel struct {
	// Type is the element types, lower case, XNNPACK's way: "" for
	// float32 ("f32"), "qu8_qc8w" for uint8 activations times int8
	// weights quantised per output channel
	Type    string
	Op      string // the operation, lower case: "gemm", "dwconv", "im2col"
	Variant string // the kind of kernel, or "" for the plain one: "TC", "Plane", "2Row"
	MinMax  bool   // the output is clamped to [Lo, Hi]
	// Requant is how a quantised kernel requantises: "fp32" (a float32
	// scale), or "" for float kernels
	Requant string
	Shape   string // the kernel's parameters: "12x32", "3x3s1", "S2"
	ISA     string // the instruction set, lower case: "avx2", "avx512", "neon"
}

// Name returns the contract name,
// <type>_<op>[_<variant>][_minmax][_<requant>]_<shape>__<isa> in lower
// case: f32_gemm_tc_minmax_12x32__avx512,
// qu8_qc8w_gemm_minmax_fp32_12x32c4__avx512vnni.
func (k Kernel) Name() string {
	parts := []string{k.typ(), k.Op}
	if k.Variant != "" {
		parts = append(parts, k.Variant)
	}
	if k.MinMax {
		parts = append(parts, "minmax")
	}
	if k.Requant != "" {
		parts = append(parts, k.Requant)
	}
	parts = append(parts, k.Shape)
	return strings.ToLower(strings.Join(parts, "_") + "__" + k.ISA)
}

func (k Kernel) typ() string {
	if k.Type == "" {
		return "f32"
	}
	return k.Type
}

// GoName returns the Go name of the assembly function,
// <op><Variant><Type>[Minmax]<Shape><ISA>, Type the first part of the
// element types in upper case: gemmTCF32Minmax12x32AVX512,
// gemmQU8Minmax12x32c4AVX512VNNI.
func (k Kernel) GoName() string {
	typ, _, _ := strings.Cut(k.typ(), "_")
	name := k.Op + k.Variant + strings.ToUpper(typ)
	if k.MinMax {
		name += "Minmax"
	}
	return name + k.Shape + ISASuffix(k.ISA)
}

// ISASuffix returns instruction set isa as it ends Go names: "AVX512".
func ISASuffix(isa string) string { return strings.ToUpper(isa) }
