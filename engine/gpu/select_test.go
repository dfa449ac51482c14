package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// cTol bounds |c_device - c| / max(1, |c|) against the float64 reference, for the same float32
// confidence: GLSL's log is within 3 ulps (3.6e-7 of |log conf|), the Gumbel number within
// gumbelTol·max(1,|G|), and the product and sum round once each.
const cTol = 2e-6

// maskTieMargin is the distance of a c value to the re-mask boundary (as ref's Trace.MaskMargin
// measures it) below which the device, whose c differs from the reference's by up to
// cTol·max(1,|c|) (1.8e-4 at the c of a pre-filled position, 88.7, which never lies near the
// boundary; 1e-4 at |c| = 46, the log of the 1e-20 clamp), may decide the other way. Such cases
// must be rare.
const maskTieMargin = 2e-4

type selectCase struct {
	n, a0, a1   int
	steps, s    int
	seed        uint64
	known       int  // percent of loop positions already known
	eoa         bool // EOAs in the state and among the sampled tokens
	tiedC       bool // c from a coarse set (ties at the cutoff)
	confPurpose uint32
}

// selectInputs draws a state, sampled tokens and confidences for a case.
func selectInputs(r *rand.Rand, v *model.Vocab, c selectCase) (state, sampled []int32, conf []float32) {
	token := func() int32 {
		if c.eoa && r.IntN(8) == 0 {
			return v.EOA
		}
		return v.VisualOffset + r.Int32N(v.CodebookSize)
	}
	state = make([]int32, c.n)
	sampled = make([]int32, c.n)
	conf = make([]float32, c.n)
	for j := range state {
		state[j] = v.Mask
		if r.IntN(100) < c.known || j < c.a0 || j >= c.a1 && r.IntN(2) == 0 {
			state[j] = token()
		}
		sampled[j] = token()
		// Probabilities over many decades, some below the 1e-20 clamp.
		conf[j] = float32(math.Exp(-math.Abs(r.NormFloat64()) * 8))
		if r.IntN(50) == 0 {
			conf[j] = 1e-30
		}
	}
	return state, sampled, conf
}

type selectRun struct {
	state, out, ids []int32
	c               []float32
}

const idsPrefix = 5 // the region input lands after a poisoned prefix of the ids buffer

func runSelect(t *testing.T, dev *vk.Device, k *Select, p StepParams, state, sampled []int32, conf, given []float32) selectRun {
	t.Helper()
	n := len(state)
	if err := p.Check(n); err != nil {
		t.Fatal(err)
	}
	params := uploadBytes(t, dev, smpParamBytes(p))
	gb, sb, cb := uploadI32(t, dev, state), uploadI32(t, dev, sampled), upload(t, dev, conf)
	var cv *vk.Buffer
	if given != nil {
		cv = upload(t, dev, given)
	} else {
		cv = poisoned(t, dev, n)
	}
	ob, ib := smpPoisonedInts(t, dev, n), smpPoisonedInts(t, dev, idsPrefix+n)
	run(t, dev, func(s *vk.Sequence) {
		err := k.Record(s, SelectArgs{Params: bind(t, params), State: bind(t, gb), Sampled: bind(t, sb), Conf: bind(t, cb),
			C: bind(t, cv), Out: bind(t, ob), IDs: bind(t, ib), IDsOff: idsPrefix, N: n, GivenC: given != nil})
		if err != nil {
			t.Fatal(err)
		}
	})
	ids := downloadI32(t, ib, idsPrefix+n)
	for i := range idsPrefix {
		if ids[i] != int32(poison) {
			t.Fatalf("ids[%d] before the region was written", i)
		}
	}
	return selectRun{state: downloadI32(t, gb, n), out: downloadI32(t, ob, n), ids: ids[idsPrefix:], c: download(t, cv, n)}
}

func loopPositions(a0, a1 int) []int {
	pos := make([]int, 0, a1-a0)
	for j := a0; j < a1; j++ {
		pos = append(pos, j)
	}
	return pos
}

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

var selectCases = []selectCase{
	{n: 1, a0: 0, a1: 1, steps: 1, s: 0, seed: 1, known: 0},
	{n: 7, a0: 0, a1: 7, steps: 72, s: 0, seed: 2, known: 30, eoa: true},
	{n: 7, a0: 2, a1: 7, steps: 4, s: 3, seed: 3, known: 0, tiedC: true, confPurpose: 3},
	{n: 33, a0: 0, a1: 33, steps: 8, s: 5, seed: 4, known: 50, eoa: true, tiedC: true},
	{n: 33, a0: 0, a1: 25, steps: 10, s: 2, seed: 5, known: 10},
	{n: 817, a0: 0, a1: 817, steps: 72, s: 0, seed: 6, known: 1},
	{n: 817, a0: 0, a1: 817, steps: 72, s: 40, seed: 7, known: 60, eoa: true},
	{n: 817, a0: 747, a1: 817, steps: 72, s: 10, seed: 8, known: 20, eoa: true, confPurpose: 3},
	{n: 817, a0: 0, a1: 747, steps: 72, s: 71, seed: 9, known: 95, tiedC: true},
	{n: 3001, a0: 0, a1: 3001, steps: 96, s: 30, seed: 10, known: 40, eoa: true},
}

// Given exactly the same c values, the device re-masks exactly the reference's set (ties at the
// cutoff included), and its state, output tokens and next model input equal the reference's.
func TestSelectGivenCMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	r := rand.New(rand.NewPCG(31, 32))
	for _, k := range selectKernels(t, dev, v) {
		for _, c := range selectCases {
			t.Run(fmt.Sprintf("%v/N%d_loop%d-%d_s%d", k.shape, c.n, c.a0, c.a1, c.s), func(t *testing.T) {
				state, sampled, conf := selectInputs(r, v, c)
				given := make([]float32, c.n)
				for j := range given {
					given[j] = float32(r.NormFloat64() * 5)
					if c.tiedC {
						given[j] = float32(r.IntN(12)) / 4
					}
				}
				p, err := LoopParams(c.seed, c.s, c.steps, c.a0, c.a1, 0, c.confPurpose)
				if err != nil {
					t.Fatal(err)
				}
				got := runSelect(t, dev, k, p, state, sampled, conf, given)
				pos := loopPositions(c.a0, c.a1)
				want, err := ref.StepSelect(state, pos, sampled[c.a0:c.a1], f64s(conf[c.a0:c.a1]), v, c.seed, c.s, c.steps,
					c.confPurpose, f64s(given[c.a0:c.a1]))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.state, want.State) {
					t.Fatalf("state differs at %d positions (mask_len %d)", diffCount(got.state, want.State), want.MaskLen)
				}
				if !slices.Equal(got.out, want.Out) || !slices.Equal(got.ids, want.Input) {
					t.Fatal("output tokens or next input differ")
				}
				if !slices.Equal(got.c, given) {
					t.Fatal("the given c values were changed")
				}
				remasked := 0
				for _, m := range want.Remasked {
					if m {
						remasked++
					}
				}
				t.Logf("mask_len %d, re-masked %d of %d (unknown %d)", want.MaskLen, remasked, len(pos), want.Unknown)
			})
		}
	}
}

// selectKernels are Select on the device's workgroup shape and on the other kind.
func selectKernels(t *testing.T, dev *vk.Device, v *model.Vocab) []*Select {
	def, err := NewSelect(dev, tokensOf(v))
	if err != nil {
		t.Fatal(err)
	}
	ks := []*Select{def}
	others := testShapes(dev, def.shape)[1:]
	if big := min(1024, dev.Info.MaxWorkgroupInvoc, dev.Info.MaxWorkgroupSize[0]); big != def.shape.local {
		others = append(others, groupShape{local: big}) // the shape of GPUs: a position per invocation
	}
	for _, sh := range others {
		k, err := newSelect(dev, tokensOf(v), sh)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return ks
}

func diffCount(a, b []int32) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// With c computed on the device (float32 log and Gumbel), c is within cTol of the reference's,
// and the re-mask decisions equal the reference's but for rare near-ties below maskTieMargin.
func TestSelectMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	r := rand.New(rand.NewPCG(41, 42))
	near, decided := 0, 0
	for _, k := range selectKernels(t, dev, v) {
		for _, c := range selectCases {
			t.Run(fmt.Sprintf("%v/N%d_loop%d-%d_s%d", k.shape, c.n, c.a0, c.a1, c.s), func(t *testing.T) {
				state, sampled, conf := selectInputs(r, v, c)
				p, err := LoopParams(c.seed, c.s, c.steps, c.a0, c.a1, 0, c.confPurpose)
				if err != nil {
					t.Fatal(err)
				}
				got := runSelect(t, dev, k, p, state, sampled, conf, nil)
				pos := loopPositions(c.a0, c.a1)
				want, err := ref.StepSelect(state, pos, sampled[c.a0:c.a1], f64s(conf[c.a0:c.a1]), v, c.seed, c.s, c.steps, c.confPurpose, nil)
				if err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i, j := range pos {
					e := math.Abs(float64(got.c[j])-want.C[i]) / math.Max(1, math.Abs(want.C[i]))
					if !(e <= cTol) {
						t.Fatalf("position %d: c %v, want %v (error %.3g > %g)", j, got.c[j], want.C[i], e, cTol)
					}
					worst = max(worst, e)
				}
				for j := range c.n {
					if (j < c.a0 || j >= c.a1) && !smpIsPoison(got.c[j]) {
						t.Fatalf("c of position %d outside the loop was written", j)
					}
				}
				margins := ref.MaskMargins(want.C, want.MaskLen)
				for i, j := range pos {
					decided++
					if got.state[j] == want.State[j] {
						continue
					}
					if margins[i] >= maskTieMargin {
						t.Fatalf("position %d: state %d, want %d (mask margin %.3g is no near-tie)", j, got.state[j], want.State[j], margins[i])
					}
					near++
				}
				for j := range c.n {
					if (j < c.a0 || j >= c.a1) && got.state[j] != state[j] {
						t.Fatalf("position %d outside the loop changed", j)
					}
				}
				if !slices.Equal(got.out, want.Out) || !slices.Equal(got.ids, ref.ModelInput(got.state, v)) {
					t.Fatal("output tokens or next input differ")
				}
				t.Logf("worst c error %.3g", worst)
			})
		}
	}
	t.Logf("%d of %d re-mask decisions differ at a near-tie (margin < %g)", near, decided, maskTieMargin)
	if near > max(1, decided/1000) {
		t.Fatalf("%d near-tie differences in %d decisions: more than rare", near, decided)
	}
}

func TestSelectRejectsBadArgs(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewSelect(dev, tokensOf(testVocab()))
	if err != nil {
		t.Fatal(err)
	}
	if k.MaxPositions() < 1024 {
		t.Errorf("a select loop of only %d positions", k.MaxPositions())
	}
	b := bind(t, poisoned(t, dev, 16))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := SelectArgs{Params: b, State: b, Sampled: b, Conf: b, C: b, Out: b, IDs: b, N: 8, IDsOff: 8}
	for i, f := range []func(a *SelectArgs){
		func(a *SelectArgs) { a.N = 0 },
		func(a *SelectArgs) { a.N = 17 },
		func(a *SelectArgs) { a.IDsOff = 9 },
		func(a *SelectArgs) { a.IDsOff = -1 },
	} {
		a := ok
		f(&a)
		if err := k.Record(s, a); err == nil {
			t.Errorf("case %d: accepted %+v", i, a)
		}
	}
	if err := k.Record(s, ok); err != nil {
		t.Fatalf("valid arguments rejected: %v", err)
	}
}
