package frame

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// validFrame decides validity independently of Validate, with arbitrary-precision arithmetic.
func validFrame(w, h, stride, n int) bool {
	if w <= 0 || h <= 0 || w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return false
	}
	if stride == 0 {
		stride = 3 * w
	}
	if stride < 3*w {
		return false
	}
	need := new(big.Int).Mul(big.NewInt(int64(h-1)), big.NewInt(int64(stride)))
	need.Add(need, big.NewInt(int64(3*w)))
	return need.Cmp(big.NewInt(int64(n))) <= 0
}

// FuzzResize: any width, height, stride, pixel bytes and target size either gives an ErrInvalid
// (exactly when the frame or the target is invalid) or a packed frame of the target size that
// equals the straightforward reading of Pillow's algorithm; a constant-colour frame stays that
// colour; nothing panics.
func FuzzResize(f *testing.F) {
	f.Add(int32(3), int32(2), int32(0), []byte("abcdefghijklmnopqr"), int32(5), int32(4), false)
	f.Add(int32(1), int32(1), int32(0), []byte{7, 8, 9}, int32(80), int32(80), true)
	f.Add(int32(2), int32(3), int32(7), bytes.Repeat([]byte{200}, 21), int32(1), int32(9), false)
	f.Add(int32(9), int32(1), int32(27), bytes.Repeat([]byte{0, 255, 31}, 9), int32(2), int32(1), true)
	f.Add(int32(-1), int32(2), int32(0), []byte{1}, int32(2), int32(2), false)
	f.Add(int32(2), int32(2), int32(-9), make([]byte, 12), int32(0), int32(2), false)
	f.Add(int32(40000), int32(1), int32(0), make([]byte, 12), int32(2), int32(2), false)
	f.Fuzz(func(t *testing.T, w, h, stride int32, pix []byte, ow, oh int32, constant bool) {
		if len(pix) == 0 {
			pix = nil // also exercise the nil buffer
		}
		fr := &Frame{Width: int(w), Height: int(h), Stride: int(stride), Pix: pix}
		valid := validFrame(fr.Width, fr.Height, fr.Stride, len(pix))
		if constant && valid && len(pix) >= 3 {
			c := [3]byte{pix[0], pix[1], pix[2]}
			for y := 0; y < fr.Height; y++ {
				row := pix[y*fr.RowStride() : y*fr.RowStride()+3*fr.Width]
				for i := range row {
					row[i] = c[i%3]
				}
			}
		}
		if err := fr.Validate(); (err == nil) != valid {
			t.Fatalf("%dx%d stride %d, %d bytes: Validate says %v, want valid=%v", w, h, stride, len(pix), err, valid)
		} else if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error without ErrInvalid: %v", err)
		}
		targetOK := ow > 0 && oh > 0 && ow <= MaxSide && oh <= MaxSide && int(ow)*int(oh) <= MaxPixels
		if valid && targetOK && int(ow)*int(oh) > 1<<12 {
			// Keep one execution cheap: big targets are only checked for acceptance above.
			ow, oh = ow%64+1, oh%64+1
		}
		out, err := Resize(fr, int(ow), int(oh))
		if !valid || !targetOK {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("invalid input accepted or wrong error: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid %dx%d -> %dx%d refused: %v", w, h, ow, oh, err)
		}
		if out.Width != int(ow) || out.Height != int(oh) || out.RowStride() != 3*int(ow) || len(out.Pix) != 3*int(ow)*int(oh) {
			t.Fatalf("output %dx%d stride %d, %d bytes for target %dx%d", out.Width, out.Height, out.Stride, len(out.Pix), ow, oh)
		}
		if constant {
			for i, v := range out.Pix {
				if v != pix[i%3] {
					t.Fatalf("constant colour %v changed at byte %d to %d", pix[:3], i, v)
				}
			}
		}
		if int(w)*int(h) <= 1<<12 {
			if want := naiveResize(fr, int(ow), int(oh)); !bytes.Equal(out.Pix, want) {
				t.Fatalf("%dx%d -> %dx%d: %s", w, h, ow, oh, firstDiff(out.Pix, want, int(ow)))
			}
		}
	})
}

// FuzzDecode: any bytes either decode to a valid packed frame or give an ErrInvalid; nothing
// panics. The seeds are the stored PNG and JPEG files of every colour model.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"rgb.png", "rgba.png", "l.png", "la.png", "p.png", "p_transparent.png",
		"i16.png", "rgb.jpg", "rgb444.jpg", "l.jpg"} {
		data, err := os.ReadFile(filepath.Join(vectorDir, "decode", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	maxDecodePixels = 1 << 16
	defer func() { maxDecodePixels = MaxPixels }()
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if err := fr.Validate(); err != nil || len(fr.Pix) != 3*fr.Width*fr.Height {
			t.Fatalf("decoded frame %dx%d with %d bytes: %v", fr.Width, fr.Height, len(fr.Pix), err)
		}
	})
}
