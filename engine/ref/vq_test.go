package ref

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

// vqVectors are the outputs of testdata/vq/gen_vectors.py: PyTorch modules with the release's
// computations, in float64, on deterministic weights and a deterministic image.
type vqVectors struct {
	Config struct {
		CodebookSize             int   `json:"codebook_size"`
		EmbedDim                 int   `json:"embed_dim"`
		ZChannels                int   `json:"z_channels"`
		InChannels               int   `json:"in_channels"`
		OutChannels              int   `json:"out_channels"`
		TemporalDownsampleFactor int   `json:"temporal_downsample_factor"`
		Ch                       int   `json:"ch"`
		ChMult                   []int `json:"ch_mult"`
		NumResBlocks             int   `json:"num_res_blocks"`
		AttnResolutions          []int `json:"attn_resolutions"`
	} `json:"config"`
	Height, Width int
	Grid          []int
	Tensors       int
	Codebook      []float32
	Latent        []float64
	Codes         []int32
	Margin        []float64
	Frame         []float64
	RGB           []int
}

// The generator's deterministic values (weight_values and uniform in gen_vectors.py).
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85EBCA6B
	h ^= h >> 13
	h *= 0xC2B2AE35
	h ^= h >> 16
	return h
}

func fnv1a32(s string) uint32 {
	h := uint32(0x811C9DC5)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 0x01000193
	}
	return h
}

func vectorUniform(name string, n int) []float64 {
	base := fnv1a32(name)
	out := make([]float64, n)
	for i := range out {
		out[i] = 2*float64(fmix32(base^(uint32(i)*0x9E3779B1))>>8)/16777216 - 1
	}
	return out
}

func vectorWeights(t model.VQTensor) []float32 {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	mean, scale := 0.0, 0.2
	switch {
	case len(t.Shape) >= 3:
		scale = math.Sqrt(3 / float64(n/t.Shape[0]))
	case t.Name == "quantize.embedding.weight":
		scale = 1
	case len(t.Name) > 12 && t.Name[len(t.Name)-12:] == ".running_var":
		mean, scale = 1, 0.25
	case len(t.Name) > 7 && t.Name[len(t.Name)-7:] == ".weight":
		mean = 1
	}
	out := make([]float32, n)
	for i, u := range vectorUniform(t.Name, n) {
		out[i] = float32(mean + scale*u)
	}
	return out
}

func loadVQVectors(t *testing.T) (*vqVectors, *VQ) {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/vq/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vqVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	c := v.Config
	cfg := &model.VQConfig{CodebookSize: c.CodebookSize, EmbedDim: c.EmbedDim, ZChannels: c.ZChannels,
		InChannels: c.InChannels, OutChannels: c.OutChannels, TemporalDownsampleFactor: c.TemporalDownsampleFactor,
		Ch: c.Ch, ChMult: c.ChMult, NumResBlocks: c.NumResBlocks, AttnResolutions: c.AttnResolutions}
	weights := map[string][]float32{}
	for _, x := range cfg.Tensors() {
		weights[x.Name] = vectorWeights(x)
	}
	weights["quantize.embedding.weight"] = v.Codebook // placed among the latents by the generator
	if len(weights) != v.Tensors {
		t.Fatalf("the configuration has %d tensors, the PyTorch modules %d", len(weights), v.Tensors)
	}
	m, err := NewVQ(cfg, func(name string) ([]float32, error) { return weights[name], nil })
	if err != nil {
		t.Fatal(err)
	}
	return &v, m
}

// The float64 reference encodes and decodes as the PyTorch modules do (run in float64): the
// latent after quant_conv and the decoded frame to 1e-9, every code, and every uint8 pixel.
func TestVQReferenceMatchesPyTorch(t *testing.T) {
	v, m := loadVQVectors(t)
	px := make([]float32, 3*v.Height*v.Width)
	for i, u := range vectorUniform("input", len(px)) {
		px[i] = float32(u)
	}
	x, err := MapFromFloat32(px, 3, v.Height, v.Width)
	if err != nil {
		t.Fatal(err)
	}
	z, err := m.Latent(x)
	if err != nil {
		t.Fatal(err)
	}
	if z.H != v.Grid[0] || z.W != v.Grid[1] || len(z.X) != len(v.Latent) {
		t.Fatalf("latent %dx%dx%d, want %v grid of %d values", z.C, z.H, z.W, v.Grid, len(v.Latent))
	}
	for i := range z.X {
		if math.Abs(z.X[i]-v.Latent[i]) > 1e-9*(1+math.Abs(v.Latent[i])) {
			t.Fatalf("latent[%d] = %.15g, PyTorch %.15g", i, z.X[i], v.Latent[i])
		}
	}
	codes, margin, err := m.Quantize(z)
	if err != nil {
		t.Fatal(err)
	}
	for i := range codes {
		if codes[i] != v.Codes[i] {
			t.Errorf("code %d = %d, PyTorch %d (margin %.3g)", i, codes[i], v.Codes[i], v.Margin[i])
		}
		if math.Abs(margin[i]-v.Margin[i]) > 1e-6*(1+v.Margin[i]) {
			t.Errorf("margin %d = %.6g, PyTorch %.6g", i, margin[i], v.Margin[i])
		}
	}
	frame, err := m.Decode(v.Codes, v.Grid[0], v.Grid[1])
	if err != nil {
		t.Fatal(err)
	}
	if frame.C != 3 || frame.H != v.Height || frame.W != v.Width {
		t.Fatalf("decoded %dx%dx%d", frame.C, frame.H, frame.W)
	}
	for i := range frame.X {
		if math.Abs(frame.X[i]-v.Frame[i]) > 1e-9*(1+math.Abs(v.Frame[i])) {
			t.Fatalf("frame[%d] = %.15g, PyTorch %.15g", i, frame.X[i], v.Frame[i])
		}
	}
	rgb, err := ToRGB8(frame)
	if err != nil {
		t.Fatal(err)
	}
	clipped := 0
	for i := range rgb {
		if int(rgb[i]) != v.RGB[i] {
			t.Errorf("rgb[%d] = %d, PyTorch %d", i, rgb[i], v.RGB[i])
		}
		if rgb[i] == 0 || rgb[i] == 255 {
			clipped++
		}
	}
	if clipped == len(rgb) {
		t.Fatal("every pixel is clipped: the comparison says nothing")
	}
}

// The shipped tiny vision tokenizer runs through the reference from its model file, and bad
// inputs get errors: a side that is not a multiple of the spatial factor, a short image, codes
// outside the codebook, a grid that does not match the codes, a tensor of the wrong size.
func TestVQReferenceOnTinyModelAndErrors(t *testing.T) {
	f, err := model.Open("../../testdata/tiny_vq.udvla")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := NewVQ(f.Config.VQ, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	h, w := 6, 10
	px := make([]float32, 3*h*w)
	for i, u := range vectorUniform("tiny input", len(px)) {
		px[i] = float32(u)
	}
	codes, margin, err := m.Encode(px, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 3*5 || len(margin) != len(codes) {
		t.Fatalf("%d codes for a 10x6 image", len(codes))
	}
	for i, c := range codes {
		if c < 0 || int(c) >= f.Config.VQ.CodebookSize || !(margin[i] >= 0) {
			t.Fatalf("code %d = %d, margin %g", i, c, margin[i])
		}
	}
	frame, err := m.Decode(codes, 3, 5)
	if err != nil || frame.H != h || frame.W != w {
		t.Fatalf("decode: %v, %dx%d", err, frame.W, frame.H)
	}
	if _, _, err := m.Encode(px[:len(px)-1], h, w); err == nil {
		t.Error("a short image was encoded")
	}
	if _, _, err := m.Encode(make([]float32, 3*7*10), 7, 10); err == nil {
		t.Error("an odd height was encoded")
	}
	if _, err := m.Decode([]int32{0, 1, 256}, 1, 3); err == nil {
		t.Error("code 256 of a 256-code book was decoded")
	}
	if _, err := m.Decode([]int32{0, 1, 2}, 2, 2); err == nil {
		t.Error("3 codes were decoded as a 2x2 grid")
	}
	short := func(name string) ([]float32, error) {
		x, err := f.Float32(name)
		if name == "decoder.conv_out.bias" {
			x = x[:1]
		}
		return x, err
	}
	if _, err := NewVQ(f.Config.VQ, short); err == nil {
		t.Error("a tensor of the wrong size was loaded")
	}
}
