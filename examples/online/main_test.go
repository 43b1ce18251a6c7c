package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
)

const clip = "testdata/clip"

// clipFrames decodes the bundled clip.
func clipFrames(t *testing.T) []image.Image {
	t.Helper()
	src, err := newFolderFrames(clip)
	if err != nil {
		t.Fatal(err)
	}
	var frames []image.Image
	for {
		img, err := src.Next()
		if err != nil {
			break
		}
		frames = append(frames, img)
	}
	if len(frames) != 8 {
		t.Fatalf("the bundled clip has %d frames, want 8", len(frames))
	}
	return frames
}

var frameLine = regexp.MustCompile(`^frame +(\d+)  step +([0-9.]+) ms  prep +([0-9.]+) ms  (.*)$`)

// checkOutput checks the command's output: one line per frame with its
// number, positive latencies and k known labels with probabilities in
// decreasing order, then the summary. It returns the labels of each frame.
func checkOutput(t *testing.T, out string, frames, k int) [][]string {
	t.Helper()
	known, err := readLabels("")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != frames+1 {
		t.Fatalf("%d lines, want %d frames and a summary:\n%s", len(lines), frames, out)
	}
	var all [][]string
	for n, line := range lines[:frames] {
		m := frameLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %q is not a frame line", line)
		}
		if m[1] != strconv.Itoa(n) {
			t.Errorf("line %d is for frame %s", n, m[1])
		}
		for _, d := range m[2:4] {
			if v, _ := strconv.ParseFloat(d, 64); v <= 0 {
				t.Errorf("frame %d: latency %s ms", n, d)
			}
		}
		var labels []string
		prev := 1.0
		for _, item := range strings.Split(m[4], " | ") {
			cut := strings.LastIndex(item, " ")
			label, p := item[:cut], item[cut+1:]
			prob, err := strconv.ParseFloat(p, 64)
			if !slices.Contains(known, label) || err != nil || prob < 0 || prob > prev {
				t.Errorf("frame %d: %q is not a known label with a probability below %.2f", n, item, prev)
			}
			prev = prob
			labels = append(labels, label)
		}
		if len(labels) != k {
			t.Errorf("frame %d: %d labels, want %d", n, len(labels), k)
		}
		all = append(all, labels)
	}
	if !regexp.MustCompile(fmt.Sprintf(`^%d frames on \d+ threads: step median [0-9.]+ ms \(min [0-9.]+\), preprocessing median [0-9.]+ ms$`, frames)).MatchString(lines[frames]) {
		t.Errorf("summary line %q", lines[frames])
	}
	return all
}

func runCommand(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, bytes.NewReader(stdin), &stdout, &stderr); code != 0 {
		t.Fatalf("online %v: exit %d: %s", args, code, stderr.String())
	}
	return stdout.String()
}

// TestBundledClip runs the command as the README does.
func TestBundledClip(t *testing.T) {
	out := runCommand(t, nil, "-frames", clip, "-threads", "2")
	t.Logf("\n%s", out)
	checkOutput(t, out, 8, 3)
}

// y4m444 encodes frames as a 4:4:4 full-range Y4M stream.
func y4m444(frames []image.Image) []byte {
	b := frames[0].Bounds()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C444 XCOLORRANGE=FULL\n", b.Dx(), b.Dy())
	for _, img := range frames {
		buf.WriteString("FRAME\n")
		planes := [3][]byte{}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
				planes[0], planes[1], planes[2] = append(planes[0], yy), append(planes[1], cb), append(planes[2], cr)
			}
		}
		for _, p := range planes {
			buf.Write(p)
		}
	}
	return buf.Bytes()
}

// maxDiff is the largest channel difference between two images.
func maxDiff(a, b image.Image) int {
	d := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, pair := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				d = max(d, abs(int(pair[0]>>8)-int(pair[1]>>8)))
			}
		}
	}
	return d
}

func abs(v int) int { return max(v, -v) }

func TestY4M(t *testing.T) {
	frames := clipFrames(t)
	stream := y4m444(frames)
	src, err := streamFrames(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range frames {
		got, err := src.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		if d := maxDiff(got, want); d > 2 {
			t.Errorf("frame %d: channels differ by up to %d after a Y4M round trip", k, d)
		}
	}
	if _, err := src.Next(); err == nil || err.Error() != "EOF" {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	// Studio range 4:2:0: Y 16 and 235 are black and white, chroma 128 grey.
	var buf bytes.Buffer
	buf.WriteString("YUV4MPEG2 W4 H2 F25:1 C420mpeg2\nFRAME\n")
	buf.Write([]byte{16, 16, 235, 235, 16, 16, 235, 235, 128, 128, 128, 128})
	src, err = streamFrames(&buf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range []uint32{0, 0, 255, 255} {
		if r, g, b, _ := img.At(x, 1).RGBA(); r>>8 != want || g>>8 != want || b>>8 != want {
			t.Errorf("pixel %d: %d %d %d, want grey %d", x, r>>8, g>>8, b>>8, want)
		}
	}
	for _, bad := range []string{"YUV4MPEG2 W4 H2 C411\n", "YUV4MPEG2 H2\n", "YUV4MPEG2 W4 H2\nFRAME\n\x00\x01"} {
		src, err := streamFrames(strings.NewReader(bad))
		if err == nil {
			_, err = src.Next()
		}
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// jpegWithEXIF encodes img as a JPEG with an APP1 segment whose payload
// holds an embedded EOI (FF D9), which a naive splitter would cut at.
func jpegWithEXIF(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	app1 := []byte{0xFF, 0xE1, 0x00, 0x0A, 'E', 'x', 'i', 'f', 0, 0, 0xFF, 0xD9}
	return slices.Concat(data[:2], app1, data[2:])
}

func TestMJPEG(t *testing.T) {
	frames := clipFrames(t)
	var stream []byte
	var want []image.Image
	for _, f := range frames {
		data := jpegWithEXIF(t, f)
		stream = append(stream, data...)
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, img)
	}
	src, err := streamFrames(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	for k := range frames {
		got, err := src.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		if d := maxDiff(got, want[k]); d != 0 {
			t.Errorf("frame %d differs from the JPEG decoded alone by %d", k, d)
		}
	}
	if _, err := src.Next(); err == nil || err.Error() != "EOF" {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	src, _ = streamFrames(bytes.NewReader(stream[:len(stream)/2]))
	var last error
	for last == nil {
		_, last = src.Next()
	}
	if last.Error() == "EOF" {
		t.Error("a stream cut in the middle of a frame ends without an error")
	}
	out := runCommand(t, stream, "-k", "2")
	checkOutput(t, out, 8, 2)
}

func TestStdinY4M(t *testing.T) {
	out := runCommand(t, y4m444(clipFrames(t)), "-smooth", "1")
	checkOutput(t, out, 8, 3)
}

func TestPreprocess(t *testing.T) {
	if w, h := resizedSize(320, 240, 256); w != 341 || h != 256 {
		t.Errorf("320x240 resized to %dx%d, want 341x256", w, h)
	}
	if w, h := resizedSize(240, 320, 256); w != 256 || h != 341 {
		t.Errorf("240x320 resized to %dx%d, want 256x341", w, h)
	}
	// torchvision: round((341 - 224) / 2) = round(58.5) = 58 in Python.
	if got := cropOffset(341, 224); got != 58 {
		t.Errorf("crop offset of 224 in 341: %d, want 58", got)
	}
	if got := cropOffset(256, 224); got != 16 {
		t.Errorf("crop offset of 224 in 256: %d, want 16", got)
	}
	p, err := newPreprocessor([]int{1, 3, 224, 224})
	if err != nil {
		t.Fatal(err)
	}
	// A uniform frame stays uniform: every value is the normalised colour.
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	rgb := [3]uint8{200, 100, 30}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = rgb[0], rgb[1], rgb[2], 255
	}
	x, err := p.frame(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 3*224*224 {
		t.Fatalf("%d values, want 3x224x224", len(x))
	}
	for c := range 3 {
		want := (float32(rgb[c])/255 - imagenetMean[c]) / imagenetStd[c]
		for i, v := range x[c*224*224 : (c+1)*224*224] {
			if v != want {
				t.Fatalf("channel %d value %d is %v, want %v", c, i, v, want)
			}
		}
	}
	// The crop is centred: a frame whose left and right halves differ
	// gives a crop whose columns left of the middle read the left colour.
	for y := range 240 {
		for x := 160; x < 320; x++ {
			img.Pix[img.PixOffset(x, y)] = 0
		}
	}
	if x, err = p.frame(img); err != nil {
		t.Fatal(err)
	}
	red := x[:224*224]
	left, right := (float32(200)/255-imagenetMean[0])/imagenetStd[0], (0-imagenetMean[0])/imagenetStd[0]
	// Column 170 of the 341-wide frame is the edge; the crop starts at 58.
	for _, col := range []int{0, 100, 108} {
		if red[112*224+col] != left {
			t.Errorf("column %d of the crop is %v, want the left colour %v", col, red[112*224+col], left)
		}
	}
	for _, col := range []int{116, 150, 223} {
		if red[112*224+col] != right {
			t.Errorf("column %d of the crop is %v, want the right colour %v", col, red[112*224+col], right)
		}
	}
	if _, err := p.frame(image.NewRGBA(image.Rect(0, 0, 100, 50))); err != nil {
		t.Errorf("a small frame is upscaled, got %v", err)
	}
	if _, err := newPreprocessor([]int{1, 1, 224, 224}); err == nil {
		t.Error("a one-channel input: no error")
	}
}

func TestSmootherAndTopK(t *testing.T) {
	s := newSmoother(2, 3)
	s.add([]float32{3, 0, 0})
	s.add([]float32{0, 2, 0})
	if got := s.add([]float32{0, 0, 4}); !slices.Equal(got, []float32{0, 1, 2}) {
		t.Errorf("average of the last two frames: %v, want [0 1 2]", got)
	}
	if got := topK([]float32{0.1, 0.5, 0.2, 0.5}, 3); !slices.Equal(got, []int{1, 3, 2}) {
		t.Errorf("topK: %v, want [1 3 2]", got)
	}
	p := softmax([]float32{1000, 1000})
	if p[0] != 0.5 || p[1] != 0.5 {
		t.Errorf("softmax of large equal logits: %v", p)
	}
}

func TestBadUse(t *testing.T) {
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		msg   string
	}{
		{[]string{"-nope"}, "", 2, "flag provided but not defined"},
		{[]string{"-k", "0"}, "", 2, "usage"},
		{[]string{"-frames", "testdata/missing"}, "", 1, "missing"},
		{nil, "GIF89a", 1, "neither Y4M"},
		{nil, "", 1, "empty input stream"},
		{[]string{"-frames", clip, "-labels", "main.go"}, "", 1, "labels for a model of 27 classes"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, strings.NewReader(c.stdin), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("online %v < %q: exit %d, stderr %q; want exit %d and %q", c.args, c.stdin, code, stderr.String(), c.code, c.msg)
		}
	}
}

// TestJesterPackageIsUpToDate regenerates the committed jester package in
// memory, as go generate does, and compares it with the files on disk.
func TestJesterPackageIsUpToDate(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "tsm_tiny_online")
	pkg, err := tsmc.Compile(filepath.Join(model, "model.onnx"), tsmc.CompileOptions{
		Package:  "jester",
		DataSets: []string{filepath.Join(model, "test_data_set_0"), filepath.Join(model, "test_data_set_1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range pkg.Files {
		got, err := os.ReadFile(filepath.Join("jester", filepath.FromSlash(file)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("jester/%s is stale or missing (%v): run go generate ./examples/online/", file, err)
		}
	}
}
