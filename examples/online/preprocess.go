package main

import (
	"fmt"
	"image"
	"math"

	"golang.org/x/image/draw"
)

// ImageNet statistics the TSM models were trained with (RGB).
var (
	imagenetMean = [3]float32{0.485, 0.456, 0.406}
	imagenetStd  = [3]float32{0.229, 0.224, 0.225}
)

// preprocessor turns a frame into the model's input as the TSM online demo
// does (GroupScale(256), GroupCenterCrop(224), ToTensor, GroupNormalize):
// the shorter side is resized to 256 with an antialiased bilinear filter
// (PIL's BILINEAR, here golang.org/x/image/draw.BiLinear), the centre
// 224x224 is cut out, and the RGB values in [0, 1] are normalised with the
// ImageNet mean and standard deviation into planar [1, 3, 224, 224]. For a
// model of another input size H x W, the shorter side goes to
// round(256*min(H, W)/224).
type preprocessor struct {
	h, w    int
	shorter int
	// The scaler and its buffer are reused while frames keep their size.
	scaler  draw.Scaler
	from    image.Point
	resized *image.RGBA
	out     []float32
}

// newPreprocessor returns a preprocessor for a model input of shape
// [1, 3, H, W].
func newPreprocessor(shape []int) (*preprocessor, error) {
	if len(shape) != 4 || shape[0] != 1 || shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0 {
		return nil, fmt.Errorf("model input has shape %v, want [1 3 H W]", shape)
	}
	h, w := shape[2], shape[3]
	return &preprocessor{h: h, w: w, shorter: int(math.Round(256 * float64(min(h, w)) / 224)), out: make([]float32, 3*h*w)}, nil
}

// resizedSize is torchvision's Resize(int) rule: the shorter side becomes
// n, the other keeps the aspect ratio, rounded down.
func resizedSize(w, h, n int) (int, int) {
	if w < h {
		return n, n * h / w
	}
	return n * w / h, n
}

// cropOffset is torchvision's CenterCrop offset: round((in - out) / 2),
// ties to even as Python rounds.
func cropOffset(in, out int) int {
	return int(math.RoundToEven(float64(in-out) / 2))
}

// frame preprocesses img; the result is reused by the next call.
func (p *preprocessor) frame(img image.Image) ([]float32, error) {
	b := img.Bounds()
	rw, rh := resizedSize(b.Dx(), b.Dy(), p.shorter)
	if rw < p.w || rh < p.h {
		return nil, fmt.Errorf("frame of %dx%d is too small", b.Dx(), b.Dy())
	}
	if p.resized == nil || p.from != b.Size() || p.resized.Bounds().Dx() != rw || p.resized.Bounds().Dy() != rh {
		p.scaler = draw.BiLinear.NewScaler(rw, rh, b.Dx(), b.Dy())
		p.resized = image.NewRGBA(image.Rect(0, 0, rw, rh))
		p.from = b.Size()
	}
	p.scaler.Scale(p.resized, p.resized.Bounds(), img, b, draw.Src, nil)
	top, left := cropOffset(rh, p.h), cropOffset(rw, p.w)
	plane := p.h * p.w
	for y := range p.h {
		row := p.resized.Pix[p.resized.PixOffset(left, top+y):]
		for x := range p.w {
			for c := range 3 {
				v := float32(row[4*x+c]) / 255
				p.out[c*plane+y*p.w+x] = (v - imagenetMean[c]) / imagenetStd[c]
			}
		}
	}
	return p.out, nil
}
