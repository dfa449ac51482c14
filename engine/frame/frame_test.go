package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValidateRejectsBadFrames(t *testing.T) {
	maxInt := int(^uint(0) >> 1)
	cases := []struct {
		name string
		f    *Frame
		msg  string
	}{
		{"nil frame", nil, "nil frame"},
		{"zero width", &Frame{Width: 0, Height: 2, Pix: make([]byte, 6)}, "positive"},
		{"negative height", &Frame{Width: 2, Height: -1, Pix: make([]byte, 6)}, "positive"},
		{"huge side", &Frame{Width: MaxSide + 1, Height: 1, Pix: make([]byte, 8)}, "exceeds"},
		{"huge area", &Frame{Width: MaxSide, Height: MaxSide, Pix: make([]byte, 8)}, "pixels"},
		{"overflowing side", &Frame{Width: maxInt/3 + 1, Height: 1, Pix: make([]byte, 8)}, "exceeds"},
		{"nil pixels", &Frame{Width: 2, Height: 2}, "nil pixel buffer"},
		{"short pixels", &Frame{Width: 2, Height: 2, Pix: make([]byte, 11)}, "needs 12"},
		{"short with stride", &Frame{Width: 2, Height: 2, Stride: 10, Pix: make([]byte, 15)}, "needs 16"},
		{"stride below a row", &Frame{Width: 2, Height: 2, Stride: 5, Pix: make([]byte, 12)}, "stride"},
		{"negative stride", &Frame{Width: 2, Height: 2, Stride: -6, Pix: make([]byte, 12)}, "stride"},
		{"overflowing stride", &Frame{Width: 2, Height: 3, Stride: maxInt / 2, Pix: make([]byte, 12)}, "overflows"},
	}
	for _, c := range cases {
		err := c.f.Validate()
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want an ErrInvalid naming %q", c.name, err, c.msg)
		}
		if _, err := Resize(c.f, 8, 8); err == nil {
			t.Errorf("%s: Resize accepted it", c.name)
		}
		if _, _, _, err := Release.Preprocess(c.f); err == nil {
			t.Errorf("%s: Preprocess accepted it", c.name)
		}
	}
	ok := &Frame{Width: 2, Height: 2, Stride: 7, Pix: make([]byte, 13)} // the last row needs no padding
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{0, 5}, {5, -1}, {MaxSide + 1, 1}} {
		if _, err := Resize(ok, size[0], size[1]); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("target %v: got %v", size, err)
		}
	}
}

func randomFrame(r *rand.Rand, w, h, pad int) *Frame {
	stride := 3*w + pad
	px := make([]byte, stride*h)
	for i := range px {
		px[i] = byte(r.Uint32())
	}
	return &Frame{Width: w, Height: h, Stride: stride, Pix: px}
}

// TestResizeIdentityIsACopy: at the target size the pixels come back untouched, in a new buffer.
func TestResizeIdentityIsACopy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := randomFrame(r, 23, 17, 5)
	got, err := Resize(f, 23, 17)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, f.Packed().Pix) || got.Stride != 3*23 {
		t.Fatal("identity resize changed the pixels")
	}
	got.Pix[0] ^= 0xff
	if got.Pix[0] == f.Pix[0] {
		t.Fatal("identity resize shares the input buffer")
	}
}

// TestResizeConstantStaysConstant: Pillow's coefficients sum to one after rounding closely
// enough that a flat colour survives any resize, upscale or downscale.
func TestResizeConstantStaysConstant(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 40 {
		w, h := 1+r.IntN(90), 1+r.IntN(90)
		ow, oh := 1+r.IntN(90), 1+r.IntN(90)
		c := [3]byte{byte(r.Uint32()), byte(r.Uint32()), 255 * byte(r.IntN(2))}
		f, _ := New(w, h)
		for i := range f.Pix {
			f.Pix[i] = c[i%3]
		}
		got, err := Resize(f, ow, oh)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got.Pix {
			if v != c[i%3] {
				t.Fatalf("%dx%d -> %dx%d colour %v: byte %d is %d", w, h, ow, oh, c, i, v)
			}
		}
	}
}

// TestResizeMatchesNaive: random awkward sizes, padded strides, and a poisoned reuse check.
func TestResizeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 60 {
		w, h := 1+r.IntN(70), 1+r.IntN(70)
		ow, oh := 1+r.IntN(120), 1+r.IntN(120)
		f := randomFrame(r, w, h, r.IntN(4))
		got, err := Resize(f, ow, oh)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveResize(f, ow, oh); !bytes.Equal(got.Pix, want) {
			t.Fatalf("%dx%d -> %dx%d: %s", w, h, ow, oh, firstDiff(got.Pix, want, ow))
		}
	}
}

func TestSmartResizeRules(t *testing.T) {
	cases := []struct{ h, w, wantH, wantW int }{
		{200, 200, 200, 200}, // the release's main camera: a no-op
		{80, 80, 80, 80},     // the wrist camera: a no-op
		{84, 84, 80, 80},     // 10.5 rounds to even
		{92, 92, 96, 96},     // 11.5 rounds to even
		{23, 37, 64, 104},    // below min_pixels: scaled up, ceiled
		{1000, 1100, 976, 1072},
	}
	for _, c := range cases {
		h, w, err := Release.SmartResize(c.h, c.w)
		if err != nil || h != c.wantH || w != c.wantW {
			t.Errorf("%dx%d: got %dx%d %v, want %dx%d", c.h, c.w, h, w, err, c.wantH, c.wantW)
		}
	}
	for _, bad := range [][2]int{{7, 100}, {100, 7}, {20, 101}, {0, 10}, {-8, 8}} {
		if _, _, err := Release.SmartResize(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, _, err := (Processor{Factor: 0, MinPixels: 1, MaxPixels: 1}).SmartResize(8, 8); err == nil {
		t.Error("factor 0 accepted")
	}
	if _, _, err := (Processor{Factor: 8, MinPixels: 0, MaxPixels: 1}).SmartResize(64, 64); err == nil {
		t.Error("a size that floors to zero accepted")
	}
}

// TestPrepareRelease: a 640x480 frame becomes the 200x200 CHW input, and the values are the
// normalised levels of Pillow's resize, plane by plane.
func TestPrepareRelease(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	f := randomFrame(r, 640, 480, 0)
	for _, side := range []int{200, 80} {
		px, err := Prepare(f, side, side)
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := Resize(f, side, side)
		n := side * side
		if len(px) != 3*n {
			t.Fatalf("got %d values", len(px))
		}
		for i := 0; i < n; i++ {
			for c := 0; c < 3; c++ {
				want := float32(float64(rs.Pix[3*i+c])/255*2 - 1)
				if d := math.Abs(float64(px[c*n+i] - want)); d > 1e-6 {
					t.Fatalf("side %d pixel %d channel %d: %g, want about %g", side, i, c, px[c*n+i], want)
				}
			}
		}
	}
	if _, err := Prepare(f, 84, 84); err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("a camera size the processor changes: %v", err)
	}
}

func TestNormaliseEnds(t *testing.T) {
	if normalise(0) != -1 || normalise(255) != 1 {
		t.Fatalf("0 -> %g, 255 -> %g", normalise(0), normalise(255))
	}
}

func TestDecodeRejectsBadFiles(t *testing.T) {
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	// A header claiming 100000 x 2 pixels, with a valid CRC: refused before decoding.
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint32(huge[16:], 100000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	cases := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("definitely not an image"),
		"truncated": good[:len(good)-20],
		"huge":      huge,
		"jpeg head": {0xff, 0xd8, 0xff, 0xe0, 0, 16},
		"gif":       []byte("GIF89a\x01\x00\x01\x00"),
	}
	for name, data := range cases {
		if _, err := Decode(bytes.NewReader(data)); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	f, err := Decode(bytes.NewReader(good))
	if err != nil || f.Width != 3 || f.Height != 2 {
		t.Fatalf("good PNG: %v", err)
	}
	defer func(n int64) { maxFileBytes = n }(maxFileBytes)
	maxFileBytes = int64(len(good) - 1)
	if _, err := Decode(bytes.NewReader(good)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over the limit: %v", err)
	}
}

// TestFromImageColourModels: alpha is dropped without compositing, grey is replicated and a
// palette index past the palette reads as black.
func TestFromImageColourModels(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	n.Pix = []byte{200, 100, 50, 0}
	p := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{9, 8, 7, 0}})
	p.Pix = []byte{0, 5}
	g := image.NewGray16(image.Rect(0, 0, 2, 1))
	g.Pix = []byte{0, 77, 3, 0}
	cases := []struct {
		img  image.Image
		want []byte
	}{
		{n, []byte{200, 100, 50}},
		{p, []byte{9, 8, 7, 0, 0, 0}},
		{g, []byte{77, 77, 77, 255, 255, 255}},
	}
	for i, c := range cases {
		f, err := FromImage(c.img)
		if err != nil || !bytes.Equal(f.Pix, c.want) {
			t.Errorf("case %d: got %v %v, want %v", i, f, err, c.want)
		}
	}
	sub := image.NewRGBA(image.Rect(0, 0, 4, 4)).SubImage(image.Rect(1, 2, 3, 4))
	if f, err := FromImage(sub); err != nil || f.Width != 2 || f.Height != 2 {
		t.Fatalf("sub-image: %v", err)
	}
	if _, err := FromImage(image.NewRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Fatal("an empty image was accepted")
	}
}

// DecodeFile reads what Decode reads and names the file in its errors.
func TestDecodeFile(t *testing.T) {
	f, err := DecodeFile("../../testdata/cameras/wrist.png")
	if err != nil || f.Width != 13 || f.Height != 11 || len(f.Pix) != 3*13*11 {
		t.Fatalf("wrist.png: %+v, %v", f, err)
	}
	if _, err := DecodeFile("../../testdata/cameras/gen.go"); err == nil || !strings.Contains(err.Error(), "gen.go") {
		t.Fatalf("a Go file as an image: %v", err)
	}
	if _, err := DecodeFile("../../testdata/cameras/none.png"); err == nil {
		t.Fatal("a missing file decoded")
	}
}
