package runtime

// CopyBytes is the argument block of the byte-row copy: for each of
// Planes planes and Rows rows, Cols bytes from Src[p*SPS+r*SLD:] to
// Dst[p*DPS+r*DLD:]. The field layout is part of the assembly contract
// (TestAsmLayout checks it).
type CopyBytes struct {
	Dst, Src             []uint8
	Rows, Cols, DLD, SLD int
	Planes, DPS, SPS     int
}

// copyBytesAsm is the assembly byte-row copy in use, or nil.
var copyBytesAsm func(*CopyBytes)

// copyBytes runs a on the assembly kernel, or in Go.
func copyBytes(a *CopyBytes) {
	if copyBytesAsm != nil {
		copyBytesAsm(a)
		return
	}
	copyBytesGo(a)
}

// copyBytesGo is copyBytes in Go, the twin of the assembly kernel.
func copyBytesGo(a *CopyBytes) {
	copyRowsOf(a.Dst, a.Src, a.Planes, a.Rows, a.Cols, a.DPS, a.DLD, a.SPS, a.SLD, 1)
}
