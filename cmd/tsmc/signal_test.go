//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/internal/verifytest"
)

// TestMain lets the test binary stand in for tsmc in a subprocess, which
// the tests below signal: with TSMC_TEST_AS_MAIN=1 it runs main.
func TestMain(m *testing.M) {
	if os.Getenv("TSMC_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// child is tsmc running in a subprocess.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// startTsmc starts tsmc with args and tmp as its temporary folder.
func startTsmc(t *testing.T, tmp string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "TSMC_TEST_AS_MAIN=1", "TMPDIR="+tmp)
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// waitFor polls until a path matching pattern exists, and reports false
// if the child exits first.
func (c *child) waitFor(pattern string) bool {
	for {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return true
		}
		select {
		case <-c.done:
			return false
		case <-time.After(time.Millisecond):
		}
	}
}

// stop signals the child, waits for it and checks its exit status and
// closing message.
func (c *child) stop(t *testing.T, sig syscall.Signal, status int, verb, msg string) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	c.exited(t, sig, status, verb, msg)
}

// exited waits for the child, signalled with sig once already, and
// checks its exit status and message as stop does. (A second signal
// would end it at once, as tsmc's handler leaves the next one to the
// default action.)
func (c *child) exited(t *testing.T, sig syscall.Signal, status int, verb, msg string) {
	t.Helper()
	<-c.done
	var ee *exec.ExitError
	if !errors.As(c.err, &ee) || ee.ExitCode() != status {
		t.Errorf("after %v: %v, want exit status %d\nstderr: %s", sig, c.err, status, c.stderr.String())
	}
	if want := "tsmc " + verb + ": " + msg; !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", c.stderr.String(), want)
	}
}

// nothingLeft fails for every entry of dir.
func nothingLeft(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// Case 5: Ctrl-C during verify stops go build and removes the temporary
// module (tsmc-build-*) and go's own work folder; the exit status is 130.
func TestInterruptVerify(t *testing.T) {
	tmp := t.TempDir()
	c := startTsmc(t, tmp, "verify", tinyModel)
	if !c.waitFor(filepath.Join(tmp, "tsmc-build-*", "gotmp", "go-build*")) {
		t.Fatalf("verify ended before go build started: %v\n%s%s", c.err, c.stdout.String(), c.stderr.String())
	}
	c.stop(t, syscall.SIGINT, 130, "verify", "interrupted")
	nothingLeft(t, tmp)
}

// SIGTERM stops bench the same way, with status 143 (128 + SIGTERM).
func TestTerminateBench(t *testing.T) {
	tmp := t.TempDir()
	c := startTsmc(t, tmp, "bench", "-n", "1000000", tinyModel)
	if !c.waitFor(filepath.Join(tmp, "tsmc-build-*", "model")) { // built: timing runs
		t.Fatalf("bench ended before its program was built: %v\n%s%s", c.err, c.stdout.String(), c.stderr.String())
	}
	c.stop(t, syscall.SIGTERM, 143, "bench", "terminated")
	nothingLeft(t, tmp)
}

// Case 5: Ctrl-C during compile stops it before anything is written. The
// compile is caught reading its data set, whose input is a named pipe
// the test opens when tsmc reads it.
func TestInterruptCompile(t *testing.T) {
	tmp, dir := t.TempDir(), t.TempDir()
	set := filepath.Join(filepath.Dir(tinyModel), "test_data_set_0")
	input, err := os.ReadFile(filepath.Join(set, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(dir, "test_data_set_0")
	copyDir(t, set, ds)
	fifo := filepath.Join(ds, "input_0.pb")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	out := filepath.Join(dir, "out")
	c := startTsmc(t, tmp, "compile", "-o", out, "-testdata", ds, tinyModel)
	opened := make(chan *os.File)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once tsmc opens it to read
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var f *os.File
	select {
	case f = <-opened:
	case <-c.done:
		t.Fatalf("compile ended without reading its data set: %v\n%s", c.err, c.stderr.String())
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	f.Write(input)
	f.Close()
	c.exited(t, syscall.SIGINT, 130, "compile", "interrupted")
	noEntry(t, out)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "test_data_set_0" {
			t.Errorf("left behind beside the output folder: %s", e.Name())
		}
	}
	nothingLeft(t, tmp)
}

// Ctrl-C while compile writes a large package: either the package was
// complete before the signal (exit 0), or nothing is written and no
// temporary folder (.NAME.tmp-*) is left (exit 130); never a part.
func TestInterruptCompileWhileWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles ResNet50")
	}
	model := verifytest.SharedModel(t, "tsm_resnet50_k400_8f_mmaction")
	tmp, dir := t.TempDir(), t.TempDir()
	out := filepath.Join(dir, "resnet")
	c := startTsmc(t, tmp, "compile", "-o", out, model)
	if !c.waitFor(filepath.Join(dir, ".resnet.tmp-*")) {
		t.Fatalf("compile ended before it wrote: %v\n%s", c.err, c.stderr.String())
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	<-c.done
	var ee *exec.ExitError
	switch {
	case c.err == nil:
		t.Log("the package was complete before the signal arrived")
		if _, err := os.Stat(filepath.Join(out, ".tsmc-manifest")); err != nil {
			t.Errorf("exit 0 without a complete package: %v", err)
		}
	case errors.As(c.err, &ee) && ee.ExitCode() == 130:
		t.Log("interrupted while writing")
		noEntry(t, out)
	default:
		t.Fatalf("%v\n%s", c.err, c.stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "resnet" {
			t.Errorf("left behind beside the output folder: %s", e.Name())
		}
	}
	nothingLeft(t, tmp)
}
