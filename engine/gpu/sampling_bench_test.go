package gpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/vk"
)

// The CALVIN shapes: 817 generated positions, the image space of 32,790 ids (32,768 visual, IMG,
// EOF and the five header ids) and a prefix of 770 tokens.
const (
	benchN       = 817
	benchAllowed = 32790
	benchPrefix  = 770
)

// BenchmarkSample samples every position of a CALVIN region over the image space (the whole
// region as one run, the worst case: the action run is 70 × 1025). flat logits (std 1) draw a
// Gumbel number for every id; peaked ones (std 4, a trained model's spread) skip most draws.
// GB/s counts the logits read once.
func BenchmarkSample(b *testing.B) {
	dev := benchDevice(b)
	v := testVocab()
	k, err := NewSample(dev, tokensOf(v))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(71, 72))
	ids := sortedIDs(r, benchAllowed, v.Mask)
	state := make([]int32, benchN)
	for j := range state {
		state[j] = v.Mask
	}
	for _, scale := range []float64{1, 4} {
		b.Run(fmt.Sprintf("N%d_A%d_std%g", benchN, benchAllowed, scale), func(b *testing.B) {
			logits := randFloats(r, benchN*benchAllowed, scale)
			p := StepParams{Seed: 9, Step: 3, A1: benchN}
			params, lb := uploadBytes(b, dev, smpParamBytes(p)), upload(b, dev, logits)
			ab, gb := uploadI32(b, dev, ids), uploadI32(b, dev, state)
			sb, cb := smpPoisonedInts(b, dev, benchN), poisoned(b, dev, benchN)
			benchRun(b, dev, 4*float64(benchN*benchAllowed), 0, func(s *vk.Sequence) {
				err := k.Record(s, SampleArgs{Params: bind(b, params), Logits: bind(b, lb), Allowed: bind(b, ab), State: bind(b, gb),
					Sampled: bind(b, sb), Conf: bind(b, cb), N: benchN, NP: benchN, NAllowed: benchAllowed})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkSelect is the selection of one step over a CALVIN region at the first step (every
// generated position unknown, the most re-masked).
func BenchmarkSelect(b *testing.B) {
	dev := benchDevice(b)
	v := testVocab()
	k, err := NewSelect(dev, tokensOf(v))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(73, 74))
	state, sampled, conf := selectInputs(r, v, selectCase{n: benchN, a0: 0, a1: benchN, known: 1})
	p, err := LoopParams(5, 0, 72, 0, benchN, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	params := uploadBytes(b, dev, smpParamBytes(p))
	gb, sb, cb := uploadI32(b, dev, state), uploadI32(b, dev, sampled), upload(b, dev, conf)
	cv, ob, ib := poisoned(b, dev, benchN), smpPoisonedInts(b, dev, benchN), smpPoisonedInts(b, dev, benchPrefix+benchN)
	pristine := uploadI32(b, dev, state)
	benchRun(b, dev, 0, 0, func(s *vk.Sequence) {
		// The state is restored before each selection, so every submission does the same work.
		s.Copy(bind(b, pristine), bind(b, gb))
		err := k.Record(s, SelectArgs{Params: bind(b, params), State: bind(b, gb), Sampled: bind(b, sb), Conf: bind(b, cb),
			C: bind(b, cv), Out: bind(b, ob), IDs: bind(b, ib), IDsOff: benchPrefix, N: benchN})
		if err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkReleaseMask recomputes the release mask of a CALVIN sequence (prefix and region).
func BenchmarkReleaseMask(b *testing.B) {
	dev := benchDevice(b)
	v := testVocab()
	k, err := NewReleaseMask(dev, tokensOf(v))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(75, 76))
	markers := []int32{v.BOI, v.EOI, v.BOA, v.EOA, v.Mask}
	ids := make([]int32, benchPrefix+benchN)
	for i := range ids {
		ids[i] = r.Int32N(v.TextSize)
		if r.IntN(50) == 0 {
			ids[i] = markers[r.IntN(len(markers))]
		}
	}
	ib, wb := uploadI32(b, dev, ids), smpPoisonedInts(b, dev, len(ids))
	benchRun(b, dev, 8*float64(len(ids)), 0, func(s *vk.Sequence) {
		if err := k.Record(s, bind(b, ib), bind(b, wb), len(ids)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkArgmaxAR is one greedy-AR token over the image space (one row of 32,790 logits).
func BenchmarkArgmaxAR(b *testing.B) {
	dev := benchDevice(b)
	v := testVocab()
	k, err := NewArgmaxAR(dev, tokensOf(v))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(77, 78))
	ids := sortedIDs(r, benchAllowed, v.Mask)
	region := make([]int32, benchN)
	for j := range region {
		region[j] = v.Mask
	}
	p := ARParams(benchN - 1) // the last position: the EOA scan covers the whole region
	params, lb, ab := uploadBytes(b, dev, smpParamBytes(p)), upload(b, dev, randFloats(r, benchAllowed, 3)), uploadI32(b, dev, ids)
	pristine, gb, ib := uploadI32(b, dev, region), uploadI32(b, dev, region), smpPoisonedInts(b, dev, benchPrefix+benchN)
	benchRun(b, dev, 4*benchAllowed, 0, func(s *vk.Sequence) {
		s.Copy(bind(b, pristine), bind(b, gb)) // the position is MASK again at every submission
		err := k.Record(s, ArgmaxARArgs{Params: bind(b, params), Logits: bind(b, lb), Allowed: bind(b, ab), State: bind(b, gb),
			IDs: bind(b, ib), IDsOff: benchPrefix, N: benchN, NAllowed: benchAllowed})
		if err != nil {
			b.Fatal(err)
		}
	})
}
