package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// sampleTieMargin is the Gumbel-max margin (best minus second-best perturbed logit, in the
// reference's float64) below which the device may pick the other candidate. The device adds a
// float32 Gumbel number (within gumbelTol·max(1,|G|) of float64, so ≤ 1.7e-5 at G = 16.6) to a
// float32 logit and rounds the sum (half an ulp: 1e-6 at |z| = 30): two candidates' errors stay
// below 5e-5. A token may differ only where the margin is below this, and such cases must be rare.
const sampleTieMargin = 5e-5

// confTol bounds the relative error of the sampled token's probability against the float64
// reference. The device sums exp(l - max) in float32, sequentially over nAllowed/LOCAL_X terms per
// invocation (relative error ≤ that count × 2^-24: 3e-5 for 32790 ids over 64 invocations, far
// less on average) then by tree; exp adds a few ulps.
const confTol = 3e-5

type sampleCase struct {
	n, p0, np, nAllowed, stride int
	scale                       float64 // logit standard deviation: 1 is flat, 8 peaked (draws skipped)
	seed                        uint64
	step                        int
	purpose                     uint32
}

func testVocab() *model.Vocab {
	v, _ := model.ScaledVocab(200, 48, 24)
	return v
}

// tokensOf is the kernels' view of a vocabulary layout.
func tokensOf(v *model.Vocab) Tokens {
	return Tokens{Mask: v.Mask, BOA: v.BOA, EOA: v.EOA, BOI: v.BOI, EOI: v.EOI, Pad: v.Pad}
}

// sortedIDs draws n distinct ascending ids in [0, 4n+100), not containing mask.
func sortedIDs(r *rand.Rand, n int, mask int32) []int32 {
	ids := make([]int32, 0, n)
	next := int32(r.IntN(3))
	for len(ids) < n {
		if next != mask {
			ids = append(ids, next)
		}
		next += 1 + int32(r.IntN(4))
	}
	return ids
}

// TestSampleMatchesReference compares the sampler with ref.GumbelMax on fresh random logits:
// every known position passed through, every unknown one's token equal (but for rare near-ties
// below sampleTieMargin, counted) and its probability within confTol, every position outside the
// run left as poisoned.
func TestSampleMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	cases := []sampleCase{
		{n: 1, p0: 0, np: 1, nAllowed: 1, scale: 1, seed: 1, step: 0},
		{n: 7, p0: 0, np: 7, nAllowed: 5, scale: 1, seed: 2, step: 3},
		{n: 33, p0: 4, np: 20, nAllowed: 1025, scale: 1, seed: 3, step: 71, purpose: 2},
		{n: 33, p0: 0, np: 33, nAllowed: 4099, stride: 4099 + 13, scale: 8, seed: 1 << 40, step: 5},
		{n: 817, p0: 0, np: 817, nAllowed: 5, scale: 3, seed: 0xdeadbeefcafe, step: 9},
		{n: 817, p0: 747, np: 70, nAllowed: 1025, scale: 3, seed: 77, step: 40, purpose: 2},
		{n: 817, p0: 0, np: 817, nAllowed: 4099, scale: 1, seed: 123456789, step: 1},
		{n: 817, p0: 100, np: 600, nAllowed: 4099, scale: 8, seed: 99, step: 70},
	}
	r := rand.New(rand.NewPCG(11, 12))
	near, decided := 0, 0
	for _, sh := range testShapes(dev, reductionShape(dev)) {
		k, err := newSample(dev, tokensOf(v), sh)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			if sh != reductionShape(dev) && c.np*c.nAllowed > 1e6 && i != len(cases)-1 {
				continue // the other shape: one large case suffices, the small ones cover the edges
			}
			t.Run(fmt.Sprintf("%v/N%d_run%d+%d_A%d_scale%g", sh, c.n, c.p0, c.np, c.nAllowed, c.scale), func(t *testing.T) {
				nr, dr := runSampleCase(t, dev, k, v, r, c)
				near += nr
				decided += dr
			})
		}
	}
	t.Logf("%d of %d sampled tokens differ at a near-tie (margin < %g)", near, decided, sampleTieMargin)
	if near > max(1, decided/1000) {
		t.Fatalf("%d near-tie differences in %d decisions: more than rare", near, decided)
	}
}

func runSampleCase(t *testing.T, dev *vk.Device, k *Sample, v *model.Vocab, r *rand.Rand, c sampleCase) (near, decided int) {
	stride := c.stride
	if stride == 0 {
		stride = c.nAllowed
	}
	ids := sortedIDs(r, c.nAllowed, v.Mask)
	logits := randFloats(r, c.np*stride, c.scale)
	state := make([]int32, c.n)
	for j := range state {
		state[j] = v.Mask
		if r.IntN(10) < 3 { // pre-filled or kept positions
			state[j] = ids[r.IntN(len(ids))]
		}
	}
	params := uploadBytes(t, dev, smpParamBytes(StepParams{Seed: c.seed, Step: c.step, SamplePurpose: c.purpose, ConfPurpose: 1, A1: c.n}))
	lb, ab, gb := upload(t, dev, logits), uploadI32(t, dev, ids), uploadI32(t, dev, state)
	sb, cb := smpPoisonedInts(t, dev, c.n), poisoned(t, dev, c.n)
	run(t, dev, func(s *vk.Sequence) {
		err := k.Record(s, SampleArgs{Params: bind(t, params), Logits: bind(t, lb), Stride: c.stride, Allowed: bind(t, ab),
			State: bind(t, gb), Sampled: bind(t, sb), Conf: bind(t, cb), N: c.n, P0: c.p0, NP: c.np, NAllowed: c.nAllowed})
		if err != nil {
			t.Fatal(err)
		}
	})
	tok, conf := downloadI32(t, sb, c.n), download(t, cb, c.n)
	worst := 0.0
	for j := range c.n {
		if j < c.p0 || j >= c.p0+c.np {
			if tok[j] != int32(poison) || !smpIsPoison(conf[j]) {
				t.Fatalf("position %d outside the run was written", j)
			}
			continue
		}
		if state[j] != v.Mask {
			if tok[j] != state[j] || conf[j] != math.MaxFloat32 {
				t.Fatalf("known position %d: token %d conf %g, want %d and max float", j, tok[j], conf[j], state[j])
			}
			continue
		}
		row := logits[(j-c.p0)*stride : (j-c.p0)*stride+c.nAllowed]
		want, p, margin, err := ref.GumbelMax(row, ids, c.seed, c.step, j, c.purpose)
		if err != nil {
			t.Fatal(err)
		}
		decided++
		if tok[j] != want {
			if margin >= sampleTieMargin {
				t.Fatalf("position %d: token %d, want %d (margin %.3g is no near-tie)", j, tok[j], want, margin)
			}
			near++
			// The probability is then the other token's.
			i := indexOf(ids, tok[j])
			if i < 0 {
				t.Fatalf("position %d: token %d is not in the space", j, tok[j])
			}
			p = softmaxAt64(row, i)
		}
		e := smpRelTo(conf[j], p)
		if !(e <= confTol) {
			t.Fatalf("position %d: conf %g, want %g (relative error %.3g > %g)", j, conf[j], p, e, confTol)
		}
		worst = max(worst, e)
	}
	t.Logf("worst confidence error %.3g", worst)
	return near, decided
}

func indexOf(ids []int32, id int32) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// softmaxAt64 is softmax(row)[i] in float64 with the maximum subtracted.
func softmaxAt64(row []float32, i int) float64 {
	mx := math.Inf(-1)
	for _, z := range row {
		mx = math.Max(mx, float64(z))
	}
	var sum float64
	for _, z := range row {
		sum += math.Exp(float64(z) - mx)
	}
	return math.Exp(float64(row[i])-mx) / sum
}

// Logits with many equal values, -inf entries, rows with one finite candidate or none, and rows
// with several +inf (perturbed logits tie exactly): a -inf logit is never drawn, an exact tie goes
// to the smaller id and a row without candidates to the first id, as in the reference.
func TestSampleTiesAndInfinities(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	r := rand.New(rand.NewPCG(21, 22))
	const n, na = 64, 300
	ids := sortedIDs(r, na, v.Mask)
	logits := make([]float32, n*na)
	ninf := float32(math.Inf(-1))
	for j := range n {
		row := logits[j*na : (j+1)*na]
		for i := range row {
			row[i] = float32(r.IntN(3)) // coarse values: many equal logits
			if r.IntN(4) == 0 {
				row[i] = ninf
			}
		}
		switch j % 8 {
		case 0, 4: // a single finite candidate
			for i := range row {
				row[i] = ninf
			}
			row[r.IntN(na)] = 0.5
		case 1: // no finite candidate: the reference keeps index 0
			for i := range row {
				row[i] = ninf
			}
		case 3: // several +inf: perturbed logits tie exactly, the smaller id wins
			for range 3 {
				row[r.IntN(na)] = float32(math.Inf(1))
			}
		}
	}
	state := make([]int32, n)
	for j := range state {
		state[j] = v.Mask
	}
	params := uploadBytes(t, dev, smpParamBytes(StepParams{Seed: 5, Step: 2, A1: n}))
	lb, ab, gb := upload(t, dev, logits), uploadI32(t, dev, ids), uploadI32(t, dev, state)
	for _, sh := range testShapes(dev, reductionShape(dev)) {
		k, err := newSample(dev, tokensOf(v), sh)
		if err != nil {
			t.Fatal(err)
		}
		sb, cb := smpPoisonedInts(t, dev, n), poisoned(t, dev, n)
		run(t, dev, func(s *vk.Sequence) {
			err := k.Record(s, SampleArgs{Params: bind(t, params), Logits: bind(t, lb), Allowed: bind(t, ab),
				State: bind(t, gb), Sampled: bind(t, sb), Conf: bind(t, cb), N: n, NP: n, NAllowed: na})
			if err != nil {
				t.Fatal(err)
			}
		})
		checkTies(t, logits, ids, downloadI32(t, sb, n), download(t, cb, n))
	}
}

func checkTies(t *testing.T, logits []float32, ids, tok []int32, conf []float32) {
	n, na := len(tok), len(ids)
	for j := range n {
		row := logits[j*na : (j+1)*na]
		want, p, margin, _ := ref.GumbelMax(row, ids, 5, 2, j, 0)
		if j%8 == 1 || j%8 == 3 { // exact ties or no candidate: the rule alone decides
			if tok[j] != want {
				t.Fatalf("position %d: token %d, want %d", j, tok[j], want)
			}
			continue
		}
		if tok[j] != want && margin >= sampleTieMargin {
			t.Fatalf("position %d: token %d, want %d (margin %g)", j, tok[j], want, margin)
		}
		if tok[j] == want && !(smpRelTo(conf[j], p) <= confTol) {
			t.Fatalf("position %d: conf %g, want %g", j, conf[j], p)
		}
	}
}

func TestSampleRejectsBadArgs(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewSample(dev, tokensOf(testVocab()))
	if err != nil {
		t.Fatal(err)
	}
	small := bind(t, poisoned(t, dev, 16))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := SampleArgs{Params: small, Logits: small, Allowed: small, State: small, Sampled: small, Conf: small, N: 4, NP: 4, NAllowed: 4}
	bad := []func(a *SampleArgs){
		func(a *SampleArgs) { a.NP = 0 },
		func(a *SampleArgs) { a.P0 = 1 },          // run past N
		func(a *SampleArgs) { a.NAllowed = 5 },    // logits too small
		func(a *SampleArgs) { a.Stride = 2 },      // stride below the width
		func(a *SampleArgs) { a.N, a.NP = 17, 1 }, // state too small
		func(a *SampleArgs) { a.Params = small; a.Params.Size = 32 },
	}
	for i, f := range bad {
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

// gumbelTol bounds |G_device - G| / max(1, |G|) against the float64 reference. The recipe of
// docs/RNG.md is within 4e-7 of float64 in exact float32 arithmetic (ref.GumbelF32's test); GLSL's
// log and division may be a few ulps off, which this allows (8 ulps at |G| = 1).
const gumbelTol = 1e-6

// gumbelBound is GUMBEL_BOUND of shaders/include/philox.glsl.
const gumbelBound = 16.75

// cheapGumbelBound is sample.comp's bound of G from the exponent of t = 1 - u, in float32.
func cheapGumbelBound(u float32) float32 {
	t := 1 - u
	return float32(0.6931472)*float32(127-int(math.Float32bits(t)>>23)) + 1e-3
}

// The sampler skips a candidate on two upper bounds of its Gumbel number (GUMBEL_BOUND and the
// exponent bound): both must hold over the whole range of u, extremes included (u = 2^-24, 1/2
// and 1 - 2^-24), for the device's G, which is the float32 recipe within gumbelTol.
func TestSamplerGumbelBounds(t *testing.T) {
	words := []uint32{0, 1 << 9, 0x7fffffff, 0x80000000, 0x80000200, 0xfffffdff, 0xffffffff}
	r := rand.New(rand.NewPCG(5, 6))
	for len(words) < 1<<16 {
		// Dense near u = 1 and u = 0, where the recipe's branches and the logs are most delicate.
		switch len(words) % 3 {
		case 0:
			words = append(words, 0xffffffff-r.Uint32N(1<<20))
		case 1:
			words = append(words, r.Uint32N(1<<20))
		default:
			words = append(words, r.Uint32())
		}
	}
	for _, w := range words {
		u := ref.UniformFromWord(w)
		g := float64(ref.GumbelF32(u))
		g += gumbelTol * math.Max(1, math.Abs(g)) // the device's G at worst
		if g > gumbelBound || g > float64(cheapGumbelBound(u)) {
			t.Fatalf("word %08x: G up to %v exceeds the sampler's bounds %v and %v", w, g, gumbelBound, cheapGumbelBound(u))
		}
	}
}
