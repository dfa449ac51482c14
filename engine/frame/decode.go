package frame

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

// Decode reads a PNG or JPEG image (detected from its first bytes) into a frame, with the
// colours PIL's Image.open(...).convert("RGB") gives:
//   - alpha is dropped, not composited: the stored (non-premultiplied) R, G, B are kept, as PIL
//     does for RGBA, LA and palettes with transparency;
//   - grey becomes R = G = B;
//   - palettes are looked up;
//   - 16-bit colour keeps the high byte of each sample (PIL's "RGB;16B" raw mode);
//   - 16-bit grey without alpha is clipped to 255 (PIL opens it as mode "I", whose conversion to
//     RGB clamps the integer value rather than scaling it), so a 16-bit depth image turns almost
//     white here just as it does in the release pipeline.
//
// JPEG goes through Go's decoder, whose IDCT and chroma upsampling differ from libjpeg's: pixels
// can differ from PIL's by a few levels. The header is checked against MaxSide and MaxPixels before
// the pixels are decoded.
func Decode(r io.Reader) (*Frame, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > maxFileBytes {
		return nil, fmt.Errorf("%w: image file larger than %d bytes", ErrInvalid, maxFileBytes)
	}
	var dec func(io.Reader) (image.Image, error)
	var cfg func(io.Reader) (image.Config, error)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		dec, cfg = png.Decode, png.DecodeConfig
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		dec, cfg = jpeg.Decode, jpeg.DecodeConfig
	default:
		return nil, fmt.Errorf("%w: not a PNG or JPEG file", ErrInvalid)
	}
	c, err := cfg(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := checkSize(c.Width, c.Height); err != nil {
		return nil, err
	}
	if c.Width*c.Height > maxDecodePixels {
		return nil, fmt.Errorf("%w: image of %dx%d exceeds %d pixels", ErrInvalid, c.Width, c.Height, maxDecodePixels)
	}
	img, err := dec(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return FromImage(img)
}

// maxFileBytes bounds what Decode reads, so an endless stream cannot exhaust memory.
var maxFileBytes int64 = 256 << 20

// maxDecodePixels is MaxPixels; the decoding fuzzer lowers it to keep each execution small.
var maxDecodePixels = MaxPixels

// FromImage converts any image.Image to a packed frame with the rules Decode describes.
func FromImage(img image.Image) (*Frame, error) {
	b := img.Bounds()
	f, err := New(b.Dx(), b.Dy())
	if err != nil {
		return nil, err
	}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = rgb8(img, x, y)
			i += 3
		}
	}
	return f, nil
}

// rgb8 returns PIL's RGB for one pixel: straight (non-premultiplied) colour with alpha dropped.
func rgb8(img image.Image, x, y int) (byte, byte, byte) {
	switch m := img.(type) {
	case *image.Gray16:
		v := m.Gray16At(x, y).Y
		if v > 255 {
			v = 255
		}
		return byte(v), byte(v), byte(v)
	case *image.Paletted:
		if i := int(m.ColorIndexAt(x, y)); i < len(m.Palette) {
			return straight(m.Palette[i])
		}
		return 0, 0, 0 // an index past the palette: PIL's palettes are zero-filled to 256 entries
	}
	return straight(img.At(x, y))
}

func straight(c color.Color) (byte, byte, byte) {
	switch v := c.(type) {
	case color.NRGBA:
		return v.R, v.G, v.B
	case color.NRGBA64:
		return byte(v.R >> 8), byte(v.G >> 8), byte(v.B >> 8)
	case color.Gray:
		return v.Y, v.Y, v.Y
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return byte(n.R >> 8), byte(n.G >> 8), byte(n.B >> 8)
}
