package build

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// RandomOptions describe a random model: any architecture, with a vocabulary layout (usually
// ScaledVocab) or none, decoding defaults and a FAST tokenizer.
type RandomOptions struct {
	Arch     model.Arch // Arch.Vocab must match the layout's vocabulary size
	Vocab    *model.Vocab
	Decoding *model.Decoding
	Fast     *model.Fast
	DType    quant.DType // of the matrices; vectors (norm weights) stay f32
	Seed     uint64
	TextBPE  []byte          // a tiktoken-style text vocabulary to pack, or nil
	VQ       *model.VQConfig // a vision tokenizer to add, or nil; with a zero Arch the file holds it alone
	VQDType  quant.DType     // of the vision tokenizer's matrices: f32 or f16
}

// RandomConfig returns the validated configuration of a random model.
func RandomConfig(o RandomOptions) (*model.Config, error) {
	cfg := &model.Config{Arch: o.Arch, Vocab: o.Vocab, Decoding: o.Decoding, Fast: o.Fast, TextBPE: o.TextBPE, VQ: o.VQ}
	if err := model.CheckVQDType(o.VQDType); o.VQ != nil && err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// randomStream draws the values of one tensor. Each tensor has its own stream, keyed by the seed
// and the tensor's name, so a tensor does not depend on the others or on the order they are drawn.
//
// The values are approximately normal: the sum of four uniforms (Irwin-Hall), scaled to unit
// variance. It uses only additions and multiplications, which IEEE arithmetic rounds the same way
// on every machine, where math.Log and friends may differ in the last bit between architectures:
// the shipped test model must regenerate bit for bit anywhere.
type randomStream struct {
	r         *rand.PCG
	std, mean float64
}

func newRandomStream(a model.Arch, seed uint64, name string) *randomStream {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := &randomStream{r: rand.NewPCG(seed, h.Sum64())}
	shape, _ := a.TensorShape(name)
	switch {
	case len(shape) == 1: // norm weights: around 1, with some spread
		s.mean, s.std = 1, 0.1
	case name == model.TokEmbeddings:
		s.std = 1
	default: // projections and lm_head: 1/sqrt(fan in) keeps activations and logits of order 1
		s.std = 1 / math.Sqrt(float64(shape[1]))
	}
	return s
}

func (s *randomStream) fill(dst []float32) {
	const unit = 1.0 / (1 << 53)
	sqrt3 := math.Sqrt(3) // sum of 4 uniforms on [0,1) has variance 1/3
	for i := range dst {
		var u float64
		for k := 0; k < 4; k++ {
			u += float64(s.r.Uint64()>>11) * unit
		}
		n := (u - 2) * sqrt3
		dst[i] = float32(s.mean + float64(s.std*n)) // the conversion keeps the product unfused
	}
}

// RandomTensor returns one tensor of a random model as float32 values (row-major).
func RandomTensor(a model.Arch, seed uint64, name string) ([]float32, error) {
	shape, ok := a.TensorShape(name)
	if !ok {
		return nil, fmt.Errorf("%q is not a tensor of this architecture", name)
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	x := make([]float32, n)
	newRandomStream(a, seed, name).fill(x)
	return x, nil
}

// RandomTensors returns every tensor of a random model as float32 values: what WriteRandom writes
// with DType f32, for building a reference without a file. The architecture must be valid.
func RandomTensors(a model.Arch, seed uint64) map[string][]float32 {
	out := map[string][]float32{}
	for _, name := range a.TensorNames() {
		out[name], _ = RandomTensor(a, seed, name)
	}
	return out
}

// WriteRandom writes a random model, streaming each tensor, so models of any size can be made.
func WriteRandom(path string, o RandomOptions) error {
	cfg, err := RandomConfig(o)
	if err != nil {
		return err
	}
	w, err := NewWriter(path, cfg)
	if err != nil {
		return err
	}
	shapes := cfg.TensorShapes()
	for _, name := range cfg.TensorNames() {
		shape := shapes[name]
		s, dt := o.randomSource(cfg, name, shape)
		// WriteRows asks for the rows in order, so the stream continues chunk after chunk.
		err := w.WriteRows(name, dt, shape, func(_ int, dst []float32) error { s.fillParallel(dst); return nil })
		if err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// TinyFastDir and TinyNormStats name the FAST tokenizer and statistics of the shipped tiny model,
// relative to the FAST data directory (testdata/fast in the repository).
const (
	TinyFastDir   = "fast_calvin_norm_a10_s50"
	TinyNormStats = "norm_stats_calvin.json"
)

// TinyOptions describes testdata/tiny.udvla, the model the tests and the README use: 2 layers,
// hidden 64, GQA 4/2 heads of 16, FFN 192, the real layout scaled to 1100 text ids, 256 codes and
// 1024 FAST ids, cameras of 5x5 and 3x3 tokens, 8 steps, L_a = 16, the release mask rule (as every
// released checkpoint), and the CALVIN FAST tokenizer and statistics read from fastRoot. Weights
// are f32, seed 1.
func TinyOptions(fastRoot string) (RandomOptions, error) {
	v, n := model.ScaledVocab(1100, 256, 1024)
	cams := []model.Camera{{Name: "main", H: 5, W: 5}, {Name: "wrist", H: 3, W: 3}}
	v.HeaderIDs = v.HeaderIDSet(cams)
	fast, fastSize, err := LoadFastTokenizer(filepath.Join(fastRoot, TinyFastDir))
	if err != nil {
		return RandomOptions{}, err
	}
	if fastSize != v.FastSize {
		return RandomOptions{}, fmt.Errorf("tiny model: the FAST tokenizer has %d ids, the layout %d", fastSize, v.FastSize)
	}
	fast.Horizon, fast.Dims = 10, 7
	if fast.Q01, fast.Q99, _, err = LoadNormStats(filepath.Join(fastRoot, TinyNormStats), ""); err != nil {
		return RandomOptions{}, err
	}
	return RandomOptions{
		Arch: model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192, Vocab: n,
			RopeTheta: 1e6, RMSEps: 1e-5},
		Vocab:    v,
		Decoding: &model.Decoding{Steps: 8, ActionLen: 16, Cameras: cams, Mask: model.MaskRelease},
		Fast:     fast,
		DType:    quant.F32,
		Seed:     1,
	}, nil
}
