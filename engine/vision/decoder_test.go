package vision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// frameLimit: the decoded frame after ~30 convolutions, SpatialNorms and attention in fp32,
// against float64, normalised by its largest value.
const frameLimit = 1e-5

// checkDecoder decodes random codes on the device and with the float64 reference (checkDecoderCodes).
func checkDecoder(t *testing.T, name string, cfg *model.VQConfig, get func(string) ([]float32, error), gh, gw int, r *rand.Rand) {
	t.Helper()
	codes := make([]int32, gh*gw)
	for i := range codes {
		codes[i] = int32(r.IntN(cfg.CodebookSize))
	}
	checkDecoderCodes(t, name, cfg, get, codes, gh, gw)
}

// checkDecoderCodes decodes codes (row-major gh x gw) on the device and with the float64
// reference: the frame within frameLimit, and its uint8 pixels within one grey level at 99.9% of
// them or more.
func checkDecoderCodes(t *testing.T, name string, cfg *model.VQConfig, get func(string) ([]float32, error), codes []int32, gh, gw int) {
	t.Helper()
	rm, err := ref.NewVQ(cfg, get)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rm.Decode(codes, gh, gw)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(vktest.Device(t), cfg, get)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.Decode(codes, gh, gw)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.X) {
		t.Fatalf("%s: %d values, the reference %d", name, len(got), len(want.X))
	}
	var maxErr, maxVal float64
	for i, v := range want.X {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-v))
		maxVal = math.Max(maxVal, math.Abs(v))
	}
	t.Logf("%s: frame normalised error %.3g (limit %.3g)", name, maxErr/maxVal, frameLimit)
	if !(maxErr/maxVal <= frameLimit) {
		t.Fatalf("%s: frame normalised error %.3g exceeds %.3g", name, maxErr/maxVal, frameLimit)
	}
	gm, _ := ref.MapFromFloat32(got, want.C, want.H, want.W)
	g8, _ := ref.ToRGB8(gm)
	w8, _ := ref.ToRGB8(want)
	off, distinct := 0, map[byte]bool{}
	for i := range w8 {
		distinct[w8[i]] = true
		if d := int(g8[i]) - int(w8[i]); d > 1 || d < -1 {
			off++
		}
	}
	t.Logf("%s: %d of %d pixels more than one grey level off (%d distinct values)", name, off, len(w8), len(distinct))
	if float64(off) > 0.001*float64(len(w8)) || len(distinct) < 3 {
		t.Fatalf("%s: %d of %d pixels differ by more than one level (%d distinct values)", name, off, len(w8), len(distinct))
	}
}

func TestDecoderTinyModel(t *testing.T) {
	f := openTiny(t)
	r := rand.New(rand.NewPCG(uint64(len(t.Name())), 5))
	for _, s := range [][2]int{{7, 11}, {1, 1}, {4, 15}} {
		checkDecoder(t, fmt.Sprintf("tiny %dx%d codes", s[1], s[0]), f.Config.VQ, f.Float32, s[0], s[1], r)
	}
}

// randomConfig's paths (three res blocks per level in the decoder) with the temporal factors 2
// and 8.
func TestDecoderRandomConfig(t *testing.T) {
	for _, tdf := range []int{2, 8} {
		cfg := randomConfig(97, tdf)
		checkDecoder(t, fmt.Sprintf("temporal x%d", tdf), cfg, randomGet(cfg, uint64(tdf)), 5, 9, rand.New(rand.NewPCG(uint64(tdf), 9)))
	}
}

func TestDecoderRejectsBadCodes(t *testing.T) {
	f := openTiny(t)
	d, err := NewDecoder(vktest.Device(t), f.Config.VQ, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		codes  []int32
		gh, gw int
	}{{[]int32{0, 256}, 1, 2}, {[]int32{-1}, 1, 1}, {[]int32{0, 1, 2}, 2, 2}, {nil, 0, 0}} {
		if _, err := d.Decode(c.codes, c.gh, c.gw); err == nil {
			t.Errorf("codes %v as %dx%d accepted", c.codes, c.gw, c.gh)
		}
	}
	// The decoder still works after refusing.
	if _, err := d.Decode([]int32{3, 4}, 1, 2); err != nil {
		t.Fatal(err)
	}
}
