package build

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// vqRandomStream draws one tensor of a random vision tokenizer, keyed like the language model's
// by the seed and the name. Kernels get 1/sqrt(fan in), so activations stay of order 1 through
// the stacks; norm scales and BatchNorm variances lie around 1 (variances stay above 0.6: the
// Irwin-Hall draws are bounded), shifts, biases and running means around 0; the codebook has
// unit spread, the scale of the latents.
func vqRandomStream(t model.VQTensor, seed uint64) *randomStream {
	h := fnv.New64a()
	h.Write([]byte(t.Name))
	s := &randomStream{r: rand.NewPCG(seed, h.Sum64())}
	switch {
	case len(t.Shape) > 2:
		fan := 1
		for _, d := range t.Shape[1:] {
			fan *= d
		}
		s.std = 1 / math.Sqrt(float64(fan))
	case t.Name == "quantize.embedding.weight":
		s.std = 1
	case strings.HasSuffix(t.Name, ".running_var") || strings.HasSuffix(t.Name, ".weight"):
		s.mean, s.std = 1, 0.1
	default: // biases and running means
		s.std = 0.1
	}
	return s
}

// RandomVQTensors returns every tensor of a random vision tokenizer as float32 values in the
// checkpoint's element order: what WriteRandom writes with VQDType f32.
func RandomVQTensors(c *model.VQConfig, seed uint64) map[string][]float32 {
	out := map[string][]float32{}
	for _, t := range c.Tensors() {
		st := t.Stored()
		n := st[0]
		if len(st) == 2 {
			n *= st[1]
		}
		x := make([]float32, n)
		vqRandomStream(t, seed).fill(x)
		out[t.Name] = x
	}
	return out
}

// randomSource returns the stream and storage type of one tensor of a random model.
func (o RandomOptions) randomSource(cfg *model.Config, name string, shape []int) (*randomStream, quant.DType) {
	if cfg.VQ != nil {
		for _, t := range cfg.VQ.Tensors() {
			if t.Name == name {
				dt := o.VQDType
				if len(shape) == 1 {
					dt = quant.F32
				}
				return vqRandomStream(t, o.Seed), dt
			}
		}
	}
	dt := o.DType
	if len(shape) == 1 {
		dt = quant.F32
	}
	return newRandomStream(cfg.Arch, o.Seed, name), dt
}

// TinyVQOptions describes testdata/tiny_vq.udvla, a file that holds model.TinyVQConfig alone: matrices
// f16 (the file stays small), seed 1.
func TinyVQOptions() RandomOptions {
	return RandomOptions{VQ: model.TinyVQConfig(), VQDType: quant.F16, Seed: 1}
}

// RandomVQTensor is one tensor of RandomVQTensors, drawn alone (a benchmark of the encoder needs
// only the encoder's).
func RandomVQTensor(c *model.VQConfig, seed uint64, name string) ([]float32, error) {
	for _, t := range c.Tensors() {
		if t.Name != name {
			continue
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		x := make([]float32, n)
		vqRandomStream(t, seed).fill(x)
		return x, nil
	}
	return nil, fmt.Errorf("%q is not a tensor of this vision tokenizer", name)
}
