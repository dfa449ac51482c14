package frame

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The vectors come from testdata/frames/gen_vectors.py (Debian's python3-pil); see that file.
const vectorDir = "../../testdata/frames"

// frameVector names a splitmix64-filled input frame and the SHA-256 of what became of it.
type frameVector struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Seed   uint64 `json:"seed"`
	In     [2]int `json:"in"`
	Out    [2]int `json:"out"`
	SHA256 string `json:"sha256"`
}

type vectorFile struct {
	Pillow string `json:"pillow"`
	Resize []struct {
		frameVector
		File string `json:"file"` // the output bytes, when small enough to store
	} `json:"resize"`
	Process     []frameVector `json:"process"`
	Levels      []uint32      `json:"levels_f32_bits"`
	SmartResize [][4]int      `json:"smart_resize"`
	Decode      []struct {
		File   string `json:"file"`
		Mode   string `json:"mode"`
		W      int    `json:"w"`
		H      int    `json:"h"`
		RGBHex string `json:"rgb_hex"`
	} `json:"decode"`
}

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Resize) == 0 || len(v.Process) == 0 || len(v.Levels) != 256 || len(v.SmartResize) == 0 || len(v.Decode) == 0 {
		t.Fatal("vectors.json lacks a section")
	}
	return &v
}

// splitmixBytes reproduces the generator's frame filler: splitmix64 outputs, little-endian.
func splitmixBytes(seed uint64, n int) []byte {
	out := make([]byte, 0, n+8)
	s := seed
	for len(out) < n {
		s += 0x9E3779B97F4A7C15
		z := s
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		out = binary.LittleEndian.AppendUint64(out, z)
	}
	return out[:n]
}

func vectorFrame(t testing.TB, kind string, seed uint64, w, h int) *Frame {
	px := splitmixBytes(seed, 3*w*h)
	switch kind {
	case "noise":
	case "binary":
		for i, v := range px {
			px[i] = byte(0 - v&1) // 255 where the low bit is set, else 0
		}
	default:
		t.Fatalf("unknown frame kind %q", kind)
	}
	return &Frame{Width: w, Height: h, Pix: px}
}

// withStride copies f into a buffer with padding after every row, poisoned with 0xA5.
func withStride(f *Frame, pad int) *Frame {
	stride := 3*f.Width + pad
	px := bytes.Repeat([]byte{0xA5}, stride*f.Height)
	for y := 0; y < f.Height; y++ {
		copy(px[y*stride:], f.Pix[y*3*f.Width:(y+1)*3*f.Width])
	}
	return &Frame{Width: f.Width, Height: f.Height, Stride: stride, Pix: px}
}

func firstDiff(got, want []byte, w int) string {
	n := 0
	first := -1
	for i := range want {
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if first < 0 {
		return "no difference"
	}
	p := first / 3
	return "first at x=" + itoa(p%w) + " y=" + itoa(p/w) + " channel " + itoa(first%3) +
		": got " + itoa(int(got[first])) + ", want " + itoa(int(want[first])) + "; " + itoa(n) + " bytes differ"
}

func itoa(v int) string { return string(appendInt(nil, v)) }

func appendInt(b []byte, v int) []byte {
	if v < 0 {
		return appendInt(append(b, '-'), -v)
	}
	if v >= 10 {
		b = appendInt(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// TestResizeMatchesPillow: every vector's uint8 output equals Pillow's byte for byte, packed and
// with a padded stride.
func TestResizeMatchesPillow(t *testing.T) {
	v := loadVectors(t)
	t.Logf("vectors from Pillow %s", v.Pillow)
	full := 0
	for _, vec := range v.Resize {
		in := vectorFrame(t, vec.Kind, vec.Seed, vec.In[0], vec.In[1])
		var want []byte
		if vec.File != "" {
			var err error
			if want, err = os.ReadFile(filepath.Join(vectorDir, vec.File)); err != nil {
				t.Fatal(err)
			}
			full++
		}
		for _, pad := range []int{0, 7} {
			src := in
			if pad > 0 {
				src = withStride(in, pad)
			}
			got, err := Resize(src, vec.Out[0], vec.Out[1])
			if err != nil {
				t.Fatalf("%s: %v", vec.Name, err)
			}
			if got.Width != vec.Out[0] || got.Height != vec.Out[1] || len(got.Pix) != 3*vec.Out[0]*vec.Out[1] {
				t.Fatalf("%s: got %dx%d with %d bytes", vec.Name, got.Width, got.Height, len(got.Pix))
			}
			if want != nil && !bytes.Equal(got.Pix, want) {
				t.Fatalf("%s (pad %d): %s", vec.Name, pad, firstDiff(got.Pix, want, vec.Out[0]))
			}
			sum := sha256.Sum256(got.Pix)
			if hex.EncodeToString(sum[:]) != vec.SHA256 {
				t.Fatalf("%s (pad %d): SHA-256 %x differs from Pillow's %s", vec.Name, pad, sum, vec.SHA256)
			}
		}
	}
	if full == 0 {
		t.Fatal("no vector with stored bytes")
	}
}

// TestProcessMatchesEmu3: the processor's float32 CHW output is bit-identical to the numpy
// pipeline, including sizes smart resize changes (a second Pillow resize).
func TestProcessMatchesEmu3(t *testing.T) {
	v := loadVectors(t)
	for _, vec := range v.Process {
		in := vectorFrame(t, vec.Kind, vec.Seed, vec.In[0], vec.In[1])
		px, h, w, err := Release.Preprocess(in)
		if err != nil {
			t.Fatalf("%s: %v", vec.Name, err)
		}
		if w != vec.Out[0] || h != vec.Out[1] || len(px) != 3*w*h {
			t.Fatalf("%s: got %dx%d (%d values), want %dx%d", vec.Name, w, h, len(px), vec.Out[0], vec.Out[1])
		}
		raw := make([]byte, 0, 4*len(px))
		for _, x := range px {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
		}
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) != vec.SHA256 {
			t.Fatalf("%s: SHA-256 of the float32 output %x differs from the processor's %s", vec.Name, sum, vec.SHA256)
		}
	}
}

// TestLevelsMatchEmu3: each uint8 level maps to the processor's float32, bit for bit.
func TestLevelsMatchEmu3(t *testing.T) {
	v := loadVectors(t)
	for i, bits := range v.Levels {
		if got := math.Float32bits(normalise(byte(i))); got != bits {
			t.Fatalf("level %d: got %g (%#x), want %g (%#x)", i, math.Float32frombits(got), got,
				math.Float32frombits(bits), bits)
		}
	}
}

// TestSmartResizeMatchesEmu3: the size rule, including its refusals, over a grid of sizes.
func TestSmartResizeMatchesEmu3(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.SmartResize {
		h, w, err := Release.SmartResize(c[0], c[1])
		if c[2] == 0 {
			if err == nil {
				t.Fatalf("smart resize of h=%d w=%d: got %dx%d, the processor refuses it", c[0], c[1], h, w)
			}
			continue
		}
		if err != nil || h != c[2] || w != c[3] {
			t.Fatalf("smart resize of h=%d w=%d: got %d %d (%v), want %d %d", c[0], c[1], h, w, err, c[2], c[3])
		}
	}
}

// TestDecodeMatchesPIL: PNGs decode to PIL's convert("RGB") exactly; JPEGs, through Go's decoder
// instead of libjpeg, within a few levels.
func TestDecodeMatchesPIL(t *testing.T) {
	v := loadVectors(t)
	for _, d := range v.Decode {
		want, err := hex.DecodeString(d.RGBHex)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(filepath.Join(vectorDir, d.File))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", d.File, err)
		}
		if f.Width != d.W || f.Height != d.H || len(f.Pix) != len(want) {
			t.Fatalf("%s: got %dx%d", d.File, f.Width, f.Height)
		}
		if filepath.Ext(d.File) == ".png" {
			if !bytes.Equal(f.Pix, want) {
				t.Fatalf("%s (PIL mode %s): %s", d.File, d.Mode, firstDiff(f.Pix, want, d.W))
			}
			continue
		}
		worst := 0
		for i := range want {
			diff := int(f.Pix[i]) - int(want[i])
			if diff < 0 {
				diff = -diff
			}
			worst = max(worst, diff)
		}
		t.Logf("%s: largest difference from libjpeg %d", d.File, worst)
		if worst > jpegTolerance {
			t.Fatalf("%s: a pixel differs from PIL's by %d levels", d.File, worst)
		}
	}
}

// jpegTolerance bounds Go's JPEG decoder against libjpeg on the stored files.
const jpegTolerance = 8
