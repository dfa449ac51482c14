package ref

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// randomTensors returns a tensor source of random weights at realistic scales: embedding std 1,
// projections std 1/sqrt(fan_in), norm weights near 1, and an lm_head of std 3/sqrt(hidden) so that
// logits (of normed hidden states, rms 1) have std about 3 and are far from flat. Each tensor is
// drawn from its own stream (seed and name), so the source is order-independent.
func randomTensors(arch model.Arch, seed int64) func(string) ([]float32, error) {
	return func(name string) ([]float32, error) {
		shape, ok := arch.TensorShape(name)
		if !ok {
			return nil, fmt.Errorf("no tensor %q", name)
		}
		h := fnv.New64a()
		h.Write([]byte(name))
		rng := rand.New(rand.NewSource(seed ^ int64(h.Sum64())))
		size := 1
		for _, d := range shape {
			size *= d
		}
		std, mean := 1.0, 0.0
		switch {
		case len(shape) == 1: // norm weights
			std, mean = 0.1, 1
		case name == model.TokEmbeddings:
		case name == model.LMHead:
			std = 3 / math.Sqrt(float64(arch.Hidden))
		default:
			std = 1 / math.Sqrt(float64(shape[1]))
		}
		out := make([]float32, size)
		for i := range out {
			out[i] = float32(mean + std*rng.NormFloat64())
		}
		return out, nil
	}
}

func newRandomModel(t testing.TB, arch model.Arch, seed int64) *Model {
	t.Helper()
	m, err := NewModel(arch, randomTensors(arch, seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func smallArch(vocab int) model.Arch {
	return model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 96, Vocab: vocab,
		RopeTheta: 10000, RMSEps: 1e-5}
}

// testStep is a small control step: a scaled vocabulary, two cameras (3x4 and 2x3), L_a = 8, and a
// random model over it. N = 21 + 15 + 8 = 44 positions, 5 of them pre-filled.
type testStep struct {
	v    *model.Vocab
	d    *model.Decoding
	l    *seq.Layout
	m    *Model
	arch model.Arch
}

func newTestStep(t testing.TB, seed int64) *testStep {
	t.Helper()
	v, size := model.ScaledVocab(200, 48, 24)
	d := &model.Decoding{Steps: 6, ActionLen: 8, Mask: model.MaskPaper,
		Cameras: []model.Camera{{Name: "main", H: 3, W: 4}, {Name: "wrist", H: 2, W: 3}}}
	rng := rand.New(rand.NewSource(seed))
	instr := make([]int32, 5)
	for i := range instr {
		instr[i] = rng.Int31n(v.TextSize)
	}
	codes := make([][]int32, len(d.Cameras))
	for c, cam := range d.Cameras {
		for i := 0; i < cam.H*cam.W; i++ {
			codes[c] = append(codes[c], rng.Int31n(v.CodebookSize))
		}
	}
	l, err := seq.Build(v, d, instr, codes)
	if err != nil {
		t.Fatal(err)
	}
	arch := smallArch(size)
	return &testStep{v: v, d: d, l: l, m: newRandomModel(t, arch, seed+1), arch: arch}
}

func randomIDs(rng *rand.Rand, n, vocab int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = rng.Int31n(int32(vocab))
	}
	return ids
}

func randomVec(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(std * rng.NormFloat64())
	}
	return x
}

func inSpace(l *seq.Layout, j int, id int32) bool {
	for _, a := range l.Allowed[l.Space[j]] {
		if a == id {
			return true
		}
	}
	return false
}
