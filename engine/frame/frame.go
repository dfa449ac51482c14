// Package frame turns camera frames into the input of the Emu3 vision tokenizer exactly as the
// UD-VLA release does: Pillow's default resize to each camera's grid ×8, then Emu3's image
// processor (smart resize to multiples of 8, x/255, (x−0.5)/0.5, CHW float32). It also decodes
// PNG and JPEG files into frames the way PIL's convert("RGB") sees them.
//
// Everything here is plain Go on the host. The uint8 output of Resize equals Pillow's bit for bit:
// tested against Pillow 9.4 (Debian 12's python3-pil) with testdata/frames/gen_vectors.py; the
// fixed-point resampler (libImaging/Resample.c) reads the same in Pillow's current source.
package frame

import (
	"errors"
	"fmt"
)

// Size limits. A frame side above MaxSide or an area above MaxPixels is refused before any
// allocation, so that a corrupt header cannot make the host allocate gigabytes.
const (
	MaxSide   = 1 << 15 // 32768 pixels
	MaxPixels = 1 << 26 // 67M pixels, 192 MiB of RGB8
)

// Frame is an RGB8 image: row-major, 3 bytes per pixel (R, G, B). Row y starts at Pix[y*Stride].
// Stride 0 means tightly packed (3*Width). Bytes after the last pixel of a row are ignored.
type Frame struct {
	Width, Height int
	Stride        int
	Pix           []byte
}

// ErrInvalid is wrapped by every validation error, so callers can tell bad input from other failures.
var ErrInvalid = errors.New("invalid frame")

// New returns a zeroed, tightly packed frame of the given size.
func New(width, height int) (*Frame, error) {
	if err := checkSize(width, height); err != nil {
		return nil, err
	}
	return &Frame{Width: width, Height: height, Stride: 3 * width, Pix: make([]byte, 3*width*height)}, nil
}

// RowStride is the distance in bytes between the starts of two rows.
func (f *Frame) RowStride() int {
	if f.Stride == 0 {
		return 3 * f.Width
	}
	return f.Stride
}

// Validate checks the sizes, the stride and that Pix holds every pixel. It never panics, whatever
// the fields hold.
func (f *Frame) Validate() error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrInvalid)
	}
	if err := checkSize(f.Width, f.Height); err != nil {
		return err
	}
	row := 3 * f.Width // cannot overflow: Width <= MaxSide
	stride := f.RowStride()
	if stride < row {
		return fmt.Errorf("%w: stride %d is less than 3*width = %d", ErrInvalid, f.Stride, row)
	}
	if f.Pix == nil {
		return fmt.Errorf("%w: nil pixel buffer for %dx%d", ErrInvalid, f.Width, f.Height)
	}
	// need = (Height-1)*stride + row, computed without overflow.
	const maxInt = int(^uint(0) >> 1)
	if f.Height > 1 && stride > (maxInt-row)/(f.Height-1) {
		return fmt.Errorf("%w: stride %d times height %d overflows", ErrInvalid, stride, f.Height)
	}
	need := (f.Height-1)*stride + row
	if len(f.Pix) < need {
		return fmt.Errorf("%w: pixel buffer holds %d bytes, %dx%d with stride %d needs %d",
			ErrInvalid, len(f.Pix), f.Width, f.Height, stride, need)
	}
	return nil
}

func checkSize(width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("%w: size %dx%d, both sides must be positive", ErrInvalid, width, height)
	}
	if width > MaxSide || height > MaxSide {
		return fmt.Errorf("%w: size %dx%d, a side exceeds %d", ErrInvalid, width, height, MaxSide)
	}
	if width*height > MaxPixels { // no overflow: both <= 2^15
		return fmt.Errorf("%w: size %dx%d exceeds %d pixels", ErrInvalid, width, height, MaxPixels)
	}
	return nil
}

// Packed returns a tightly packed copy of a valid frame.
func (f *Frame) Packed() *Frame {
	row := 3 * f.Width
	out := &Frame{Width: f.Width, Height: f.Height, Stride: row, Pix: make([]byte, row*f.Height)}
	stride := f.RowStride()
	for y := 0; y < f.Height; y++ {
		copy(out.Pix[y*row:(y+1)*row], f.Pix[y*stride:y*stride+row])
	}
	return out
}
