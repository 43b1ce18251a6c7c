package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // PNG frames in folders
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// frameSource yields frames one at a time; Next returns io.EOF after the
// last one.
type frameSource interface {
	Next() (image.Image, error)
}

// folderFrames reads the PNG and JPEG files of a folder in name order.
type folderFrames struct {
	files []string
}

func newFolderFrames(dir string) (*folderFrames, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .png, .jpg or .jpeg files", dir)
	}
	slices.Sort(files)
	return &folderFrames{files: files}, nil
}

func (s *folderFrames) Next() (image.Image, error) {
	if len(s.files) == 0 {
		return nil, io.EOF
	}
	name := s.files[0]
	s.files = s.files[1:]
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return img, nil
}

// streamFrames picks the reader of a stream by its first bytes: Y4M
// ("YUV4MPEG2") or MJPEG (concatenated JPEG images, starting FF D8).
func streamFrames(r io.Reader) (frameSource, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(9)
	switch {
	case err == nil && string(head) == "YUV4MPEG2":
		return newY4M(br)
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xD8:
		return &mjpegFrames{r: br}, nil
	case err != nil && len(head) == 0:
		return nil, fmt.Errorf("empty input stream: %w", err)
	}
	return nil, fmt.Errorf("input stream starts with %q: neither Y4M (YUV4MPEG2) nor MJPEG (JPEG images, FF D8)", head)
}

// y4mFrames reads a YUV4MPEG2 stream: a header line, then per frame a
// "FRAME" line and the Y, Cb and Cr planes. Chroma 420 (any siting), 422,
// 444 and mono are supported; samples are BT.601, studio range unless the
// header says XCOLORRANGE=FULL.
type y4mFrames struct {
	r          *bufio.Reader
	w, h       int
	cw, ch     int // chroma plane size; 0 for mono
	ratio      image.YCbCrSubsampleRatio
	fullRange  bool
	planeBytes int
}

func newY4M(r *bufio.Reader) (*y4mFrames, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("y4m header: %w", err)
	}
	s := &y4mFrames{r: r, ratio: image.YCbCrSubsampleRatio420}
	chroma := "420jpeg"
	for _, field := range strings.Fields(line)[1:] {
		val := field[1:]
		switch field[0] {
		case 'W':
			s.w, err = strconv.Atoi(val)
		case 'H':
			s.h, err = strconv.Atoi(val)
		case 'C':
			chroma = val
		case 'I':
			if val != "p" && val != "?" {
				return nil, fmt.Errorf("y4m: interlaced streams (I%s) are not supported", val)
			}
		case 'X':
			s.fullRange = s.fullRange || val == "COLORRANGE=FULL"
		}
		if err != nil {
			return nil, fmt.Errorf("y4m header field %q: %w", field, err)
		}
	}
	if s.w <= 0 || s.h <= 0 {
		return nil, fmt.Errorf("y4m header %q has no frame size", strings.TrimSpace(line))
	}
	switch {
	case strings.HasPrefix(chroma, "420"):
		s.cw, s.ch = (s.w+1)/2, (s.h+1)/2
	case chroma == "422":
		s.cw, s.ch, s.ratio = (s.w+1)/2, s.h, image.YCbCrSubsampleRatio422
	case chroma == "444":
		s.cw, s.ch, s.ratio = s.w, s.h, image.YCbCrSubsampleRatio444
	case chroma == "mono":
	default:
		return nil, fmt.Errorf("y4m: chroma format C%s is not supported (420, 422, 444, mono)", chroma)
	}
	s.planeBytes = s.w*s.h + 2*s.cw*s.ch
	return s, nil
}

func (s *y4mFrames) Next() (image.Image, error) {
	line, err := s.r.ReadString('\n')
	if err == io.EOF && line == "" {
		return nil, io.EOF
	}
	if err != nil || !strings.HasPrefix(line, "FRAME") {
		return nil, fmt.Errorf("y4m: want a FRAME line, got %q (%v)", line, err)
	}
	buf := make([]byte, s.planeBytes)
	if _, err := io.ReadFull(s.r, buf); err != nil {
		return nil, fmt.Errorf("y4m: truncated frame: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	y := buf[:s.w*s.h]
	var cb, cr []byte
	if s.cw > 0 {
		cb, cr = buf[s.w*s.h:s.w*s.h+s.cw*s.ch], buf[s.w*s.h+s.cw*s.ch:]
	}
	sx, sy := 1, 1
	if s.cw > 0 {
		sx, sy = (s.w+s.cw-1)/s.cw, (s.h+s.ch-1)/s.ch
	}
	for row := range s.h {
		for col := range s.w {
			u, v := 128, 128
			if cb != nil {
				k := row/sy*s.cw + col/sx
				u, v = int(cb[k]), int(cr[k])
			}
			r, g, b := ycbcrToRGB(int(y[row*s.w+col]), u, v, s.fullRange)
			o := img.PixOffset(col, row)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 255
		}
	}
	return img, nil
}

// ycbcrToRGB converts one BT.601 sample: studio range (Y 16..235, C
// 16..240) or full range.
func ycbcrToRGB(y, cb, cr int, full bool) (r, g, b uint8) {
	fy, fb, fr := float64(y), float64(cb-128), float64(cr-128)
	if !full {
		fy, fb, fr = (fy-16)*255/219, fb*255/224, fr*255/224
	}
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, v+0.5))) }
	return clamp(fy + 1.402*fr), clamp(fy - 0.344136*fb - 0.714136*fr), clamp(fy + 1.772*fb)
}

// mjpegFrames reads concatenated JPEG images (MJPEG as ffmpeg's
// -f mjpeg writes it). Each image is cut out of the stream by walking its
// marker segments to EOI, so a decoder never reads into the next one.
type mjpegFrames struct {
	r *bufio.Reader
}

func (s *mjpegFrames) Next() (image.Image, error) {
	data, err := nextJPEG(s.r)
	if err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("mjpeg frame: %w", err)
	}
	return img, nil
}

// nextJPEG returns the bytes of the next JPEG image, SOI to EOI, or io.EOF
// at the end of the stream.
func nextJPEG(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	readByte := func() (byte, error) {
		c, err := r.ReadByte()
		if err == nil {
			buf.WriteByte(c)
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return c, err
	}
	first, err := r.ReadByte()
	if err == io.EOF {
		return nil, io.EOF
	}
	second, err2 := r.ReadByte()
	if err != nil || err2 != nil || first != 0xFF || second != 0xD8 {
		return nil, errors.New("mjpeg: a frame does not start with a JPEG SOI marker (FF D8)")
	}
	buf.Write([]byte{0xFF, 0xD8})
	// marker reads the next marker code, skipping fill bytes.
	marker := func() (byte, error) {
		c, err := readByte()
		if err != nil || c != 0xFF {
			return 0, fmt.Errorf("mjpeg: want a marker, got %#x (%v)", c, err)
		}
		for c == 0xFF {
			if c, err = readByte(); err != nil {
				return 0, err
			}
		}
		return c, nil
	}
	m, err := marker()
	for err == nil {
		switch {
		case m == 0xD9: // EOI
			return buf.Bytes(), nil
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // no length
			m, err = marker()
			continue
		}
		var hi, lo byte
		if hi, err = readByte(); err != nil {
			break
		}
		if lo, err = readByte(); err != nil {
			break
		}
		n := int(hi)<<8 | int(lo)
		if n < 2 {
			return nil, fmt.Errorf("mjpeg: segment %#x has length %d", m, n)
		}
		if _, err = io.CopyN(&buf, r, int64(n-2)); err != nil {
			break
		}
		if m != 0xDA { // not SOS
			m, err = marker()
			continue
		}
		// Entropy-coded data follows SOS up to the next marker that is
		// neither a stuffed FF 00 nor a restart marker.
		m, err = scanEntropy(readByte)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("mjpeg: %w", err)
}

// scanEntropy skips entropy-coded data and returns the marker that ends it.
func scanEntropy(readByte func() (byte, error)) (byte, error) {
	for {
		c, err := readByte()
		if err != nil {
			return 0, err
		}
		if c != 0xFF {
			continue
		}
		for c == 0xFF {
			if c, err = readByte(); err != nil {
				return 0, err
			}
		}
		if c != 0x00 && (c < 0xD0 || c > 0xD7) {
			return c, nil
		}
	}
}
