//go:build !amd64 || purego

package runtime

// archMaxPoolRow returns nil: max pools run in Go.
func archMaxPoolRow(string) func(*MaxPoolRow) { return nil }
