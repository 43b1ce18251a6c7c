//go:build !amd64 || purego

package runtime

// archMaxPoolRow returns nil: max pools run in Go.
func archMaxPoolRow(string) func(*MaxPoolRow) { return nil }

// archQMaxPoolRow returns nil: uint8 max pools run in Go.
func archQMaxPoolRow(string) func(*QMaxPoolRow) { return nil }
