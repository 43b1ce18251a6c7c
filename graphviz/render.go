package graphviz

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DotCommand is the Graphviz command RenderSVG runs.
const DotCommand = "dot"

// RenderSVG renders a DOT picture as SVG through Graphviz's dot command,
// an error naming the command when it is not installed; warnings is what
// dot wrote to its standard error.
func RenderSVG(dot []byte) (svg []byte, warnings string, err error) {
	path, err := exec.LookPath(DotCommand)
	if err != nil {
		return nil, "", fmt.Errorf("rendering SVG needs Graphviz's %q command (Debian: apt-get install graphviz): %w", DotCommand, err)
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err = cmd.Output()
	warnings = strings.TrimSpace(stderr.String())
	if err != nil {
		return nil, "", fmt.Errorf("%s -Tsvg: %w: %s", DotCommand, err, warnings)
	}
	return svg, warnings, nil
}

// WriteSVG renders a DOT picture into the file path, whole or not at all
// (it is written beside and renamed), and returns dot's warnings.
func WriteSVG(path string, dot []byte) (warnings string, err error) {
	svg, warnings, err := RenderSVG(dot)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(svg)
	err = errors.Join(werr, tmp.Close(), os.Chmod(tmp.Name(), 0o644))
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return warnings, nil
}
