package gpu

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// The decoding loops end to end against the reference's own loops on a small random model: the
// reference decodes with a trace; the device replays one recorded command buffer per loop
// (sample the image run, sample the action run, select, release mask) for every step, the host
// writing only the step parameters and the logits the reference model gives for the device's own
// model input. Every step's samples, confidences, c values, state, next input and mask must be
// the reference's, near-ties (counted) aside.

// decodeFixture is a control step of N = 70 positions (cameras 5x6 and 3x4, 10 action slots) and
// a 2-layer random model over a scaled vocabulary.
type decodeFixture struct {
	v    *model.Vocab
	l    *seq.Layout
	m    *ref.Model
	arch model.Arch
}

func newDecodeFixture(t *testing.T, seed uint64) *decodeFixture {
	t.Helper()
	v, size := model.ScaledVocab(200, 48, 24)
	d := &model.Decoding{Steps: 8, ActionLen: 10, Cameras: []model.Camera{{Name: "main", H: 5, W: 6}, {Name: "wrist", H: 3, W: 4}}}
	codes := [][]int32{make([]int32, 30), make([]int32, 12)}
	for c := range codes {
		for i := range codes[c] {
			codes[c][i] = int32((uint64(i)*7 + seed + uint64(c)) % uint64(v.CodebookSize))
		}
	}
	l, err := seq.Build(v, d, []int32{3, 1, 4, 1, 5}, codes)
	if err != nil {
		t.Fatal(err)
	}
	arch := model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 96, Vocab: size, RopeTheta: 10000, RMSEps: 1e-5}
	m, err := ref.NewModel(arch, func(name string) ([]float32, error) {
		x, err := build.RandomTensor(arch, seed, name)
		if name == model.LMHead { // logits of std about 3: peaked, as a trained model's are
			for i := range x {
				x[i] *= 3
			}
		}
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &decodeFixture{v: v, l: l, m: m, arch: arch}
}

// stepLogits are the logits of one forward pass over the model input, restricted to each
// position's space and shifted (position j takes row P+j-1): [BOA][image space] and
// [N-BOA][action space].
func (f *decodeFixture) stepLogits(t *testing.T, input []int32, rule model.MaskRule) (img, act []float32) {
	t.Helper()
	l, hd := f.l, f.arch.Hidden
	mask, err := seq.ForRule(rule, l, input)
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.m.Hidden(l.Sequence(input), positions32(l.P()+l.N()), ref.ForwardOptions{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(p0, p1 int) []float32 {
		out, err := f.m.Logits(h[(l.P()+p0-1)*hd:(l.P()+p1-1)*hd], l.Allowed[l.Space[p0]])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return rows(0, l.BOA), rows(l.BOA, l.N())
}

func positions32(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return p
}

// decodeDevice holds the buffers and kernels of the device side of the loop.
type decodeDevice struct {
	dev                                    *vk.Device
	params, logitsImg, logitsAct, allowImg *vk.Buffer
	allowAct, state, sampled, conf, c, out *vk.Buffer
	ids, words                             *vk.Buffer
	sample                                 *Sample
	sel                                    *Select
	rmask                                  *ReleaseMask
}

func newDecodeDevice(t *testing.T, dev *vk.Device, f *decodeFixture) *decodeDevice {
	l, v := f.l, f.v
	n, P, boa := l.N(), l.P(), l.BOA
	d := &decodeDevice{dev: dev}
	var err error
	if d.sample, err = NewSample(dev, tokensOf(v)); err != nil {
		t.Fatal(err)
	}
	if d.sel, err = NewSelect(dev, tokensOf(v)); err != nil {
		t.Fatal(err)
	}
	if d.rmask, err = NewReleaseMask(dev, tokensOf(v)); err != nil {
		t.Fatal(err)
	}
	d.params = uploadBytes(t, dev, make([]byte, StepParamsSize))
	d.logitsImg = poisoned(t, dev, boa*len(l.Allowed[seq.SpaceImage]))
	d.logitsAct = poisoned(t, dev, (n-boa)*len(l.Allowed[seq.SpaceAction]))
	d.allowImg, d.allowAct = uploadI32(t, dev, l.Allowed[seq.SpaceImage]), uploadI32(t, dev, l.Allowed[seq.SpaceAction])
	d.state = uploadI32(t, dev, l.Region)
	d.sampled, d.conf, d.c, d.out = smpPoisonedInts(t, dev, n), poisoned(t, dev, n), poisoned(t, dev, n), smpPoisonedInts(t, dev, n)
	d.ids = uploadI32(t, dev, l.Sequence(l.Region))
	d.words = smpPoisonedInts(t, dev, P+n)
	return d
}

// recordLoop records one step of a loop over [a0, a1): the samplers of the spaces it covers,
// the selection and the release mask of the next input.
func (d *decodeDevice) recordLoop(t *testing.T, f *decodeFixture, a0, a1 int) *vk.Sequence {
	t.Helper()
	l := f.l
	n, boa := l.N(), l.BOA
	s, err := d.dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	common := SampleArgs{Params: bind(t, d.params), State: bind(t, d.state), Sampled: bind(t, d.sampled), Conf: bind(t, d.conf), N: n}
	if a0 < boa {
		a := common
		a.Logits, a.Allowed, a.P0, a.NP, a.NAllowed = bind(t, d.logitsImg), bind(t, d.allowImg), 0, boa, len(l.Allowed[seq.SpaceImage])
		mustRecord(t, d.sample.Record(s, a))
	}
	if a1 > boa {
		a := common
		a.Logits, a.Allowed, a.P0, a.NP, a.NAllowed = bind(t, d.logitsAct), bind(t, d.allowAct), boa, n-boa, len(l.Allowed[seq.SpaceAction])
		mustRecord(t, d.sample.Record(s, a))
	}
	mustRecord(t, d.sel.Record(s, SelectArgs{Params: bind(t, d.params), State: bind(t, d.state), Sampled: bind(t, d.sampled),
		Conf: bind(t, d.conf), C: bind(t, d.c), Out: bind(t, d.out), IDs: bind(t, d.ids), IDsOff: l.P(), N: n}))
	mustRecord(t, d.rmask.Record(s, bind(t, d.ids), bind(t, d.words), l.P()+n))
	return s
}

type nearTies struct{ sample, mask, decided int }

// runLoop replays the steps of one traced loop on the device and compares each with the trace.
func (d *decodeDevice) runLoop(t *testing.T, f *decodeFixture, opt ref.Options, steps []ref.StepTrace, a0, a1 int, sample, confidence uint32, nt *nearTies) {
	l, v := f.l, f.v
	n, P := l.N(), l.P()
	s := d.recordLoop(t, f, a0, a1)
	for _, st := range steps {
		ids := downloadI32(t, d.ids, P+n)
		input := ids[P:]
		if !slices.Equal(input, st.Input) {
			t.Fatalf("step %d: the device's model input differs from the reference's", st.Step)
		}
		p, err := LoopParams(opt.Seed, st.Step, opt.Steps, a0, a1, sample, confidence)
		if err != nil {
			t.Fatal(err)
		}
		smpWriteParams(t, d.params, p)
		img, act := f.stepLogits(t, input, opt.Mask)
		if err := vk.WriteFloat32s(d.logitsImg, 0, img); err != nil {
			t.Fatal(err)
		}
		if err := vk.WriteFloat32s(d.logitsAct, 0, act); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		tok, conf, c := downloadI32(t, d.sampled, n), download(t, d.conf, n), download(t, d.c, n)
		state := downloadI32(t, d.state, n)
		sampleDiff := map[int]bool{}
		for k, j := range st.Positions {
			nt.decided++
			if tok[j] != st.Sampled[k] {
				if !(st.SampleMargin[k] < sampleTieMargin) {
					t.Fatalf("step %d position %d: sampled %d, want %d (margin %.3g)", st.Step, j, tok[j], st.Sampled[k], st.SampleMargin[k])
				}
				nt.sample++
				sampleDiff[j] = true
				continue
			}
			if e := smpRelTo(conf[j], st.Conf[k]); st.Conf[k] != math.MaxFloat32 && !(e <= confTol) || st.Conf[k] == math.MaxFloat32 && conf[j] != math.MaxFloat32 {
				t.Fatalf("step %d position %d: conf %g, want %g", st.Step, j, conf[j], st.Conf[k])
			}
			if e := math.Abs(float64(c[j])-st.C[k]) / math.Max(1, math.Abs(st.C[k])); !(e <= cTol) {
				t.Fatalf("step %d position %d: c %v, want %v", st.Step, j, c[j], st.C[k])
			}
		}
		resync := len(sampleDiff) > 0
		for k, j := range st.Positions {
			if state[j] != st.State[j] && !sampleDiff[j] {
				if !(st.MaskMargin[k] < maskTieMargin) {
					t.Fatalf("step %d position %d: state %d, want %d (mask margin %.3g)", st.Step, j, state[j], st.State[j], st.MaskMargin[k])
				}
				nt.mask++
				resync = true
			}
		}
		if !resync && !slices.Equal(state, st.State) {
			t.Fatalf("step %d: positions outside the loop changed", st.Step)
		}
		next := downloadI32(t, d.ids, P+n)
		if !slices.Equal(next[P:], ref.ModelInput(state, v)) || !slices.Equal(next[:P], l.Prefix) {
			t.Fatalf("step %d: next model input is not the state's", st.Step)
		}
		if got, want := downloadI32(t, d.words, P+n), words(t, seq.ReleaseMask(next, v)); !slices.Equal(got, want) {
			t.Fatalf("step %d: release mask of the next input differs at %d", st.Step, firstDiff(got, want))
		}
		if resync { // a near-tie went the other way: continue from the reference's state
			if err := vk.WriteInt32s(d.state, 0, st.State); err != nil {
				t.Fatal(err)
			}
			if err := vk.WriteInt32s(d.ids, 4*int64(P), ref.ModelInput(st.State, v)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDecodeLoopsMatchReference(t *testing.T) {
	dev := vktest.Device(t)
	// Independent diffusion, whose image loop runs over a shorter sequence, is checked end to end
	// against the reference by the engine (TestIndependentDiffusionVulkanEqualsReference).
	for _, c := range []struct {
		seed uint64
		rule model.MaskRule
	}{{4, model.MaskPaper}, {35, model.MaskRelease}} { // seeds whose JD3P runs predict an EOA early
		f := newDecodeFixture(t, c.seed)
		l := f.l
		opt := ref.Options{Seed: c.seed * 1000003, Steps: 8, Mask: c.rule, Trace: true}
		nt := &nearTies{}
		eoaSteps := 0 // steps whose model input holds an EOA before the last position
		t.Run(fmt.Sprintf("jd3p_seed%d_%v", c.seed, c.rule), func(t *testing.T) {
			r, err := f.m.JD3P(l, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range r.Trace.Steps {
				if e := slices.Index(st.Input, f.v.EOA); e >= 0 && e < l.N()-1 {
					eoaSteps++
				}
			}
			d := newDecodeDevice(t, dev, f)
			d.runLoop(t, f, opt, r.Trace.Steps, 0, l.N(), ref.PurposeSample, ref.PurposeConfidence, nt)
			if got := downloadI32(t, d.out, l.N()); nt.sample+nt.mask == 0 && !slices.Equal(got, r.Region) {
				t.Fatalf("region %v, want %v", got, r.Region)
			}
		})
		t.Logf("seed %d: %d sample and %d mask near-ties in %d decisions; %d JD3P steps with an EOA in the input",
			c.seed, nt.sample, nt.mask, nt.decided, eoaSteps)
		if nt.sample+nt.mask > max(1, nt.decided/1000) {
			t.Fatalf("more than rare near-tie differences")
		}
		if eoaSteps == 0 {
			t.Fatalf("seed %d: no step exercised the EOA rule", c.seed)
		}
	}
}

// Greedy AR end to end: the device generates the region pass by pass, one recorded command
// buffer per decoding space replayed with the position in the params, from the logits of the
// reference model's KV-cached forward over the device's own tokens (the reference's very logits),
// and ends with exactly the reference's region, the positions after the EOA left MASK.
func TestGreedyARMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	f := newDecodeFixture(t, 5)
	l, v := f.l, f.v
	n, P, hd := l.N(), l.P(), f.arch.Hidden
	r, err := f.m.GreedyARRestricted(l, ref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.EOAFound || r.Generated >= n {
		t.Fatalf("the fixture should stop at an EOA before the end (generated %d of %d)", r.Generated, n)
	}
	k, err := NewArgmaxAR(dev, tokensOf(v))
	if err != nil {
		t.Fatal(err)
	}
	maxA := max(len(l.Allowed[0]), len(l.Allowed[1]))
	params, logits := uploadBytes(t, dev, make([]byte, StepParamsSize)), poisoned(t, dev, maxA)
	state, ids := uploadI32(t, dev, l.Region), uploadI32(t, dev, l.Sequence(l.Region))
	allowed := [2]*vk.Buffer{uploadI32(t, dev, l.Allowed[0]), uploadI32(t, dev, l.Allowed[1])}
	var seqs [2]*vk.Sequence
	for sp := range seqs {
		s, err := dev.NewSequence()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		lb, err := logits.Bind(0, 4*int64(len(l.Allowed[sp])))
		if err != nil {
			t.Fatal(err)
		}
		mustRecord(t, k.Record(s, ArgmaxARArgs{Params: bind(t, params), Logits: lb, Allowed: bind(t, allowed[sp]),
			State: bind(t, state), IDs: bind(t, ids), IDsOff: P, N: n, NAllowed: len(l.Allowed[sp])}))
		seqs[sp] = s
	}
	mask := seq.CausalMask(P + n)
	cache := ref.NewKVCache(f.arch)
	h, err := f.m.Hidden(l.Prefix, positions32(P), ref.ForwardOptions{Mask: mask, Cache: cache, Append: true})
	if err != nil {
		t.Fatal(err)
	}
	last := h[(P-1)*hd:]
	for j := range n { // every pass runs, also after the EOA: they must change nothing
		sp := l.Space[j]
		row, err := f.m.Logits(last, l.Allowed[sp])
		if err != nil {
			t.Fatal(err)
		}
		if err := vk.WriteFloat32s(logits, 0, row); err != nil {
			t.Fatal(err)
		}
		p := ARParams(j)
		smpWriteParams(t, params, p)
		if err := seqs[sp].Run(); err != nil {
			t.Fatal(err)
		}
		if j+1 < n {
			tok := downloadI32(t, ids, P+n)[P+j]
			if j >= r.Generated {
				tok = v.Mask // past the EOA the forward pass input is irrelevant
			}
			h, err := f.m.Hidden([]int32{tok}, []int32{int32(P + j)}, ref.ForwardOptions{Mask: mask, Cache: cache, Append: true})
			if err != nil {
				t.Fatal(err)
			}
			last = h
		}
	}
	if got := downloadI32(t, state, n); !slices.Equal(got, r.Region) {
		t.Fatalf("region %v, want %v", got, r.Region)
	}
	gotIDs := downloadI32(t, ids, P+n)
	for j := range n {
		want := l.Sequence(r.Region)[P+j]
		if j >= r.Generated {
			want = l.Region[j] // nothing written after the EOA
		}
		if gotIDs[P+j] != want {
			t.Fatalf("ids[P+%d] = %d, want %d", j, gotIDs[P+j], want)
		}
	}
	t.Logf("%d tokens generated, EOA found", r.Generated)
}
