package vision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// nearTie is the relative gap between the best and second-best distances under which fp32 may
// pick either code (the definition of a genuine near-tie).
const nearTie = 1e-4

// latentLimit: the latent after ~20 convolutions, norms and attention in fp32, against float64,
// normalised by its largest value; observed errors are 1e-7 to 1e-6.
const latentLimit = 1e-5

func randImage(r *rand.Rand, n int) []float32 {
	px := make([]float32, n)
	for i := range px {
		px[i] = float32(2*r.Float64() - 1)
	}
	return px
}

// withCodebook replaces the codebook by vectors placed among the reference latent z (spread
// positions plus noise), so that the argmin has real choices; the rest comes from get.
func withCodebook(get func(string) ([]float32, error), z ref.Map, k int, r *rand.Rand) func(string) ([]float32, error) {
	n := z.H * z.W
	book := make([]float32, k*z.C)
	for i := 0; i < k; i++ {
		for d := 0; d < z.C; d++ {
			book[i*z.C+d] = float32(z.X[d*n+i*n/k%n] + 0.05*(2*r.Float64()-1))
		}
	}
	return func(name string) ([]float32, error) {
		if name == "quantize.embedding.weight" {
			return book, nil
		}
		return get(name)
	}
}

// checkEncoder runs the device encoder and the float64 reference on a random frame, with a
// codebook placed among the reference latent (withCodebook): the latent within latentLimit, and
// the same code everywhere but at genuine near-ties.
func checkEncoder(t *testing.T, name string, cfg *model.VQConfig, get func(string) ([]float32, error), h, w int, r *rand.Rand) {
	t.Helper()
	px := randImage(r, cfg.InChannels*h*w)
	book := func(z ref.Map) func(string) ([]float32, error) { return withCodebook(get, z, cfg.CodebookSize, r) }
	checkEncoderFrame(t, name, cfg, get, book, px, h, w)
}

// checkEncoderFrame compares the device encoder with the float64 reference on the preprocessed
// frame px: the latent within latentLimit, and the same code everywhere but at genuine near-ties.
// book, when not nil, gives the weights once the reference latent is known (a codebook placed
// among it); nil keeps get's codebook. It returns the reference's codes and the near-tie count.
func checkEncoderFrame(t *testing.T, name string, cfg *model.VQConfig, get func(string) ([]float32, error),
	book func(z ref.Map) func(string) ([]float32, error), px []float32, h, w int) ([]int32, int) {
	t.Helper()
	dev := vktest.Device(t)
	rm, err := ref.NewVQ(cfg, get)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ref.MapFromFloat32(px, cfg.InChannels, h, w)
	z, err := rm.Latent(x)
	if err != nil {
		t.Fatal(err)
	}
	if book != nil {
		get = book(z)
		if rm, err = ref.NewVQ(cfg, get); err != nil {
			t.Fatal(err)
		}
	}
	want, margin, err := rm.Quantize(z)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncoder(dev, cfg, get)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	lat, gh, gw, err := e.Latent(px, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if gh != z.H || gw != z.W {
		t.Fatalf("%s: latent grid %dx%d, the reference %dx%d", name, gw, gh, z.W, z.H)
	}
	n := gh * gw
	var maxErr, maxVal float64
	for d := 0; d < z.C; d++ {
		for i := 0; i < n; i++ {
			maxErr = math.Max(maxErr, math.Abs(float64(lat[i*z.C+d])-z.X[d*n+i]))
			maxVal = math.Max(maxVal, math.Abs(z.X[d*n+i]))
		}
	}
	t.Logf("%s: latent normalised error %.3g (limit %.3g)", name, maxErr/maxVal, latentLimit)
	if !(maxErr/maxVal <= latentLimit) {
		t.Fatalf("%s: latent normalised error %.3g exceeds %.3g", name, maxErr/maxVal, latentLimit)
	}
	codes, err := e.Encode(px, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != len(want) {
		t.Fatalf("%s: %d codes, the reference %d", name, len(codes), len(want))
	}
	near, distinct := 0, map[int32]bool{}
	for i := range want {
		distinct[want[i]] = true
		if margin[i] < nearTie {
			near++
			continue
		}
		if codes[i] != want[i] {
			t.Fatalf("%s: code %d is %d, the reference %d (margin %.3g)", name, i, codes[i], want[i], margin[i])
		}
	}
	t.Logf("%s: %d codes (%d distinct) equal the reference's; %d genuine near-ties", name, len(want), len(distinct), near)
	return want, near
}

// openTiny opens the shipped tiny vision tokenizer for the test.
func openTiny(t *testing.T) *model.File {
	t.Helper()
	f, err := model.Open("../../testdata/tiny_vq.udvla")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// randomConfig has every path: a 1x1 shortcut (channels change), attention at both levels, two
// res blocks per level; randomGet gives its random weights.
func randomConfig(codebook, temporal int) *model.VQConfig {
	return &model.VQConfig{CodebookSize: codebook, EmbedDim: 3, ZChannels: 3, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: temporal, Ch: 32, ChMult: []int{1, 2}, NumResBlocks: 2, AttnResolutions: []int{0, 1}}
}

func randomGet(cfg *model.VQConfig, seed uint64) func(string) ([]float32, error) {
	w := build.RandomVQTensors(cfg, seed)
	return func(name string) ([]float32, error) { return w[name], nil }
}

// The shipped tiny vision tokenizer, from its file, on frames of awkward sizes.
func TestEncoderTinyModel(t *testing.T) {
	f := openTiny(t)
	r := rand.New(rand.NewPCG(uint64(len(t.Name())), 11))
	for _, s := range [][2]int{{14, 22}, {2, 2}, {30, 8}} {
		checkEncoder(t, fmt.Sprintf("tiny %dx%d", s[1], s[0]), f.Config.VQ, f.Float32, s[0], s[1], r)
	}
}

// randomConfig's paths with the temporal factors 2 (one time convolution) and 8 (three).
func TestEncoderRandomConfig(t *testing.T) {
	for _, tdf := range []int{2, 8} {
		cfg := randomConfig(211, tdf)
		checkEncoder(t, fmt.Sprintf("temporal x%d", tdf), cfg, randomGet(cfg, uint64(tdf)), 10, 18, rand.New(rand.NewPCG(uint64(tdf), 3)))
	}
}

func TestEncoderRejectsBadFrames(t *testing.T) {
	f := openTiny(t)
	e, err := NewEncoder(vktest.Device(t), f.Config.VQ, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct{ n, h, w int }{{3 * 4 * 4, 4, 5}, {3*4*4 - 1, 4, 4}, {0, 0, 0}, {3 * 3 * 4, 3, 4}} {
		if _, err := e.Encode(make([]float32, c.n), c.h, c.w); err == nil {
			t.Errorf("%d values as a %dx%d frame accepted", c.n, c.w, c.h)
		}
	}
	short := func(name string) ([]float32, error) {
		x, err := f.Float32(name)
		if name == "encoder.mid.attn_1.q.weight" {
			x = x[:10]
		}
		return x, err
	}
	if _, err := NewEncoder(vktest.Device(t), f.Config.VQ, short); err == nil {
		t.Error("a kernel of the wrong size loaded")
	}
}
