//go:build ignore

// Genclip draws the example's bundled clip: frames of 320x240 (the TSM
// online demo's camera size) in which a hand-like blob, a palm with four
// fingers and a thumb, swipes from left to right in front of a plain wall.
//
//	go run genclip.go -o testdata/clip [-n 8]
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", filepath.Join("testdata", "clip"), "output folder")
	n := flag.Int("n", 8, "frames")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for f := range *n {
		img := drawFrame(f, *n)
		file, err := os.Create(filepath.Join(*out, fmt.Sprintf("frame_%02d.png", f)))
		if err != nil {
			fail(err)
		}
		if err := png.Encode(file, img); err != nil {
			fail(err)
		}
		if err := file.Close(); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genclip:", err)
	os.Exit(1)
}

// capsule is a segment with a radius: a finger, or (a == b) a disc.
type capsule struct {
	ax, ay, bx, by, r float64
}

// inside reports whether (x, y) is within the capsule.
func (c capsule) inside(x, y float64) bool {
	dx, dy := c.bx-c.ax, c.by-c.ay
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((x-c.ax)*dx+(y-c.ay)*dy)/l))
	}
	px, py := c.ax+t*dx-x, c.ay+t*dy-y
	return px*px+py*py <= c.r*c.r
}

// drawFrame draws frame f of n: the hand's centre moves from x = 70 to
// x = 250, tilting a little as it goes.
func drawFrame(f, n int) *image.RGBA {
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx := 70 + 180*float64(f)/float64(max(n-1, 1))
	cy := 130.0
	tilt := 0.15 * (float64(f)/float64(max(n-1, 1)) - 0.5)
	var hand []capsule
	hand = append(hand, capsule{cx, cy, cx, cy + 25, 30}) // palm
	for k := range 4 {                                    // fingers
		x := cx - 21 + 14*float64(k)
		length := 48 - 6*math.Abs(float64(k)-1.5)
		hand = append(hand, capsule{x, cy - 20, x + length*math.Sin(tilt), cy - 20 - length*math.Cos(tilt), 6})
	}
	hand = append(hand, capsule{cx + 26, cy + 10, cx + 52, cy - 12, 7}) // thumb
	skin := color.RGBA{224, 172, 140, 255}
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(150 + y/8), uint8(160 + y/10), uint8(170 + y/12), 255} // wall, lighter towards the floor
			if y > 200 {
				c = color.RGBA{110, 90, 70, 255} // table
			}
			for _, part := range hand {
				if part.inside(float64(x), float64(y)) {
					c = skin
					break
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}
