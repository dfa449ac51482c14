package vision

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/ref"
)

// fidelitySide is the side the test images are brought to: small enough for the float64
// reference to run on every image within the suite's time (an 80x80 frame takes it most of a
// minute on a loaded machine).
const fidelitySide = 24

// smallProcessor is the release's image processor with min_pixels low enough to keep a
// fidelitySide frame (Release scales anything under 80x80 up).
var smallProcessor = frame.Processor{Factor: 8, MinPixels: 8 * 8, MaxPixels: frame.Release.MaxPixels}

// testdataFrames returns every committed test image resized with Pillow's filter to fidelitySide
// and run through the image processor: the decoder's images (PNG and JPEG in every colour model)
// and the resampler's 80x80 Pillow outputs of real camera shapes.
func testdataFrames(t *testing.T) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	decoded, err := filepath.Glob("../../testdata/frames/decode/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range decoded {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := frame.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = prepareSmall(t, p, f)
	}
	resized, err := filepath.Glob("../../testdata/frames/resize/*_to_80.rgb")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resized {
		pix, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(pix) != 3*80*80 {
			continue // an 80-wide strip, not a square frame
		}
		out[strings.TrimSuffix(filepath.Base(p), ".rgb")] = prepareSmall(t, p, &frame.Frame{Width: 80, Height: 80, Pix: pix})
	}
	if len(out) < 10 {
		t.Fatalf("%d test images", len(out))
	}
	return out
}

// prepareSmall resizes f (read from path) to fidelitySide and preprocesses it.
func prepareSmall(t *testing.T, path string, f *frame.Frame) []float32 {
	t.Helper()
	r, err := frame.Resize(f, fidelitySide, fidelitySide)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	px, h, w, err := smallProcessor.Preprocess(r)
	if err != nil || h != fidelitySide || w != fidelitySide {
		t.Fatalf("%s: %dx%d, %v", path, w, h, err)
	}
	return px
}

// Every committed test image through the shipped tiny tokenizer: the device's codes equal the
// float64 reference's but at genuine near-ties (counted and logged), with the model's own codebook
// (whose random vectors leave a frame few distinct codes) and with a codebook placed among the
// frame's latent (many close choices); decoding the latter codes with the shipped decoder gives the
// reference's frame within one grey level at 99.9% of the pixels.
func TestTinyTokenizerOnTestImages(t *testing.T) {
	f := openTiny(t)
	cfg := f.Config.VQ
	r := rand.New(rand.NewPCG(uint64(len(t.Name())), 13))
	book := func(z ref.Map) func(string) ([]float32, error) {
		return withCodebook(f.Float32, z, cfg.CodebookSize, r)
	}
	near, codes := 0, 0
	g := fidelitySide / cfg.SpatialFactor()
	frames := testdataFrames(t)
	names := make([]string, 0, len(frames))
	for name := range frames {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want, n := checkEncoderFrame(t, name, cfg, f.Float32, nil, frames[name], fidelitySide, fidelitySide)
		near, codes = near+n, codes+len(want)
		want, n = checkEncoderFrame(t, name+" placed codebook", cfg, f.Float32, book, frames[name], fidelitySide, fidelitySide)
		near, codes = near+n, codes+len(want)
		checkDecoderCodes(t, name+" decoded", cfg, f.Float32, want, g, g)
	}
	t.Logf("%d images, %d codes, %d genuine near-ties (relative gap under %g)", len(names), codes, near, nearTie)
}
