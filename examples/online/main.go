// Command online recognises gestures in a video, frame by frame, with an
// online TSM compiled to Go by tsmc (the package jester beside it): it
// reads frames from a folder of PNG/JPEG images or from a Y4M or MJPEG
// stream on stdin, preprocesses them as the TSM online demo does, feeds
// each to the model's Stream (which carries the shift states from frame to
// frame), averages the logits over the last frames and prints the top
// labels with the time each frame took.
//
// On the bundled clip, from the repository root:
//
//	go run ./examples/online -frames examples/online/testdata/clip
//
// From a camera or a video file, through ffmpeg:
//
//	ffmpeg -i video.mp4 -f yuv4mpegpipe -pix_fmt yuv420p - | go run ./examples/online
//	ffmpeg -f v4l2 -video_size 320x240 -i /dev/video0 -f mjpeg - | go run ./examples/online
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tsmc-go/tsmc/examples/online/jester"
)

//go:embed jester_labels.txt
var jesterLabels string

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	frames, labels string
	top, smooth    int
	threads        int
}

// run is the command: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("online", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.frames, "frames", "", "read the PNG/JPEG images of this folder, in name order, as frames (default: a Y4M or MJPEG stream on stdin)")
	fs.StringVar(&o.labels, "labels", "", "class labels, one per line (default: the 27 Jester gestures)")
	fs.IntVar(&o.top, "k", 3, "print the top `k` labels of every frame")
	fs.IntVar(&o.smooth, "smooth", 12, "average the logits of the last `n` frames, as the TSM demo does")
	fs.IntVar(&o.threads, "threads", 0, "worker threads (0: GOMAXPROCS)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: online [flags] [-frames DIR | < stream.y4m | < stream.mjpeg]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.top < 1 || o.smooth < 1 {
		fs.Usage()
		return 2
	}
	if err := classify(o, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "online:", err)
		return 1
	}
	return 0
}

// classify runs the model over every frame and prints one line per frame
// and a summary.
func classify(o options, stdin io.Reader, out io.Writer) error {
	labels, err := readLabels(o.labels)
	if err != nil {
		return err
	}
	if want := jester.O0Len; len(labels) != want {
		return fmt.Errorf("%d labels for a model of %d classes", len(labels), want)
	}
	var src frameSource
	if o.frames != "" {
		src, err = newFolderFrames(o.frames)
	} else {
		src, err = streamFrames(stdin)
	}
	if err != nil {
		return err
	}
	prep, err := newPreprocessor(jester.InputSpecs[0].Shape)
	if err != nil {
		return err
	}
	m, err := jester.New(jester.WithThreads(o.threads))
	if err != nil {
		return err
	}
	defer m.Close()
	stream := m.NewStream()
	avg := newSmoother(o.smooth, len(labels))
	var steps, preps []time.Duration
	for n := 0; ; n++ {
		img, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", n, err)
		}
		t0 := time.Now()
		frame, err := prep.frame(img)
		if err != nil {
			return fmt.Errorf("frame %d: %w", n, err)
		}
		t1 := time.Now()
		logits, err := stream.Step(frame)
		if err != nil {
			return fmt.Errorf("frame %d: %w", n, err)
		}
		t2 := time.Now()
		preps, steps = append(preps, t1.Sub(t0)), append(steps, t2.Sub(t1))
		probs := softmax(avg.add(logits))
		var top []string
		for _, c := range topK(probs, o.top) {
			top = append(top, fmt.Sprintf("%s %.2f", labels[c], probs[c]))
		}
		fmt.Fprintf(out, "frame %3d  step %6.2f ms  prep %5.2f ms  %s\n", n, ms(t2.Sub(t1)), ms(t1.Sub(t0)), strings.Join(top, " | "))
	}
	if len(steps) == 0 {
		return errors.New("no frames")
	}
	fmt.Fprintf(out, "%d frames on %d threads: step median %.2f ms (min %.2f), preprocessing median %.2f ms\n",
		len(steps), m.Threads(), ms(median(steps)), ms(slices.Min(steps)), ms(median(preps)))
	return nil
}

// readLabels reads a labels file, or the built-in Jester labels for "".
func readLabels(path string) ([]string, error) {
	text := jesterLabels
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var labels []string
	for _, l := range strings.Split(strings.TrimRight(text, "\r\n"), "\n") {
		labels = append(labels, strings.TrimSpace(l))
	}
	return labels, nil
}

// smoother averages the logits of the last n frames.
type smoother struct {
	history [][]float32
	next    int
	sum     []float32
}

func newSmoother(n, classes int) *smoother {
	return &smoother{history: make([][]float32, 0, n), sum: make([]float32, classes)}
}

// add records a frame's logits and returns the average over the window.
func (s *smoother) add(logits []float32) []float32 {
	if len(s.history) < cap(s.history) {
		s.history = append(s.history, logits)
	} else {
		s.history[s.next] = logits
		s.next = (s.next + 1) % len(s.history)
	}
	clear(s.sum)
	for _, h := range s.history { // summed afresh: no drift
		for c, v := range h {
			s.sum[c] += v
		}
	}
	avg := make([]float32, len(s.sum))
	for c, v := range s.sum {
		avg[c] = v / float32(len(s.history))
	}
	return avg
}

// softmax returns the probabilities of logits.
func softmax(logits []float32) []float32 {
	hi := slices.Max(logits)
	p := make([]float32, len(logits))
	var sum float64
	for c, v := range logits {
		e := math.Exp(float64(v - hi))
		p[c] = float32(e)
		sum += e
	}
	for c := range p {
		p[c] = float32(float64(p[c]) / sum)
	}
	return p
}

// topK returns the indices of the k largest scores, largest first (ties
// by index).
func topK(scores []float32, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	return idx[:min(k, len(idx))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
