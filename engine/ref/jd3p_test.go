package ref

import (
	"math"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// replay re-derives every step of a traced diffusion run independently: the model input from the
// state before the step, full-vocabulary logits of one uncached forward with -Inf outside the
// decoding space, Gumbel-max and softmax over the whole vocabulary, the schedule, the confidence
// noise, and a re-mask set that must be exactly the mask_len smallest c. It returns how many steps
// began with an EOA in the state followed by other positions (the EOA rule was exercised). rule is
// the loops' LoopRule (the action loop of independent diffusion: tau 0, frozen after the EOA).
func replay(t *testing.T, ts *testStep, opt Options, tr *Trace, initial []int32, rule LoopRule) int {
	t.Helper()
	l, m, v := ts.l, ts.m, ts.v
	p, V := l.P(), ts.arch.Vocab
	prev := append([]int32(nil), initial...)
	phase, tau := -1, 1.0
	eoaSteps := 0
	for _, st := range tr.Steps {
		if st.Phase != phase { // a new loop starts from the previous loop's output
			if phase >= 0 {
				last := tr.Steps[indexOfLast(tr, phase)]
				for k, j := range last.Positions {
					prev[j] = last.Sampled[k]
				}
			}
			phase, tau = st.Phase, 1
		}
		s, n := st.Step, len(st.Positions)
		sample, confidence := PurposeSample, PurposeConfidence
		if phase == 1 {
			sample, confidence = PurposeActionSample, PurposeActionConfidence
		}
		// Step 1: positions after the first EOA of the state are MASK in the model input.
		e := -1
		for j, tok := range prev {
			if tok == v.EOA {
				e = j
				break
			}
		}
		if e >= 0 && e < len(prev)-1 {
			eoaSteps++
		}
		for j := range prev {
			want := prev[j]
			if e >= 0 && j > e {
				want = v.Mask
			}
			if st.Input[j] != want {
				t.Fatalf("phase %d step %d: input[%d] = %d, want %d", phase, s, j, st.Input[j], want)
			}
		}
		var mask *seq.Mask
		if opt.Mask == model.MaskRelease {
			mask = seq.ReleaseMask(l.Sequence(st.Input), v)
		} else {
			mask = seq.PaperMask(l)
		}
		logits, err := m.Forward(l.Sequence(st.Input), positions(0, p+l.N()), ForwardOptions{Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		frozen := len(prev)
		if rule.FreezeAfterEOA && e >= 0 {
			frozen = e + 1
		}
		unknown := 0
		conf := make([]float64, n)
		for k, j := range st.Positions {
			if prev[j] != v.Mask || j >= frozen {
				if st.Sampled[k] != prev[j] || st.Conf[k] != math.MaxFloat32 {
					t.Fatalf("phase %d step %d: known position %d sampled %d conf %v", phase, s, j, st.Sampled[k], st.Conf[k])
				}
				conf[k] = math.MaxFloat32
				continue
			}
			unknown++
			row := logits[(p+j-1)*V : (p+j)*V] // shifted: position j takes the logits of P+j-1
			allowed := make([]bool, V)
			for _, id := range l.Allowed[l.Space[j]] {
				allowed[id] = true
			}
			best, bestID, mx := math.Inf(-1), -1, math.Inf(-1)
			for id := 0; id < V; id++ {
				z := math.Inf(-1)
				if allowed[id] {
					z = float64(row[id])
				}
				mx = math.Max(mx, z)
				if zg := z + Gumbel(opt.Seed, s, j, id, sample); zg > best {
					best, bestID = zg, id
				}
			}
			var sum float64
			for id := 0; id < V; id++ {
				if allowed[id] {
					sum += math.Exp(float64(row[id]) - mx)
				}
			}
			conf[k] = math.Exp(float64(row[bestID])-mx) / sum
			if st.Sampled[k] != int32(bestID) || math.Abs(st.Conf[k]-conf[k]) > 1e-12 {
				t.Fatalf("phase %d step %d position %d: sampled %d conf %v, replay %d %v", phase, s, j, st.Sampled[k], st.Conf[k], bestID, conf[k])
			}
		}
		wantLen := MaskLen(n, s, opt.Steps, unknown) // checked against the release's float32 by TestMaskLenBaseMatchesReleaseFloat32
		tau *= 1 - float64(s+1)/float64(opt.Steps)
		if rule.TauZero {
			tau = 0
		}
		if st.Unknown != unknown || st.MaskLen != wantLen || st.Tau != tau {
			t.Fatalf("phase %d step %d: unknown %d mask_len %d tau %v, replay %d %d %v", phase, s, st.Unknown, st.MaskLen, st.Tau, unknown, wantLen, tau)
		}
		masked := 0
		for k, j := range st.Positions {
			c := math.Log(conf[k]) + tau*Gumbel(opt.Seed, s, j, 0, confidence)
			if math.Abs(c-st.C[k]) > 1e-12 {
				t.Fatalf("phase %d step %d position %d: c %v, replay %v", phase, s, j, st.C[k], c)
			}
			if j >= frozen {
				if st.State[j] != prev[j] {
					t.Fatalf("phase %d step %d: frozen position %d changed from %d to %d", phase, s, j, prev[j], st.State[j])
				}
			} else if st.State[j] == v.Mask {
				masked++
			} else if st.State[j] != st.Sampled[k] {
				t.Fatalf("phase %d step %d: kept position %d holds %d, not its sample %d", phase, s, j, st.State[j], st.Sampled[k])
			}
		}
		// Exactly mask_len positions re-masked (no ties), and they are the smallest c.
		if masked != st.MaskLen {
			t.Fatalf("phase %d step %d: %d positions re-masked, mask_len %d", phase, s, masked, st.MaskLen)
		}
		for a, ja := range st.Positions {
			for b, jb := range st.Positions {
				if ja < frozen && jb < frozen && st.State[ja] == v.Mask && st.State[jb] != v.Mask && !(st.C[a] < st.C[b]) {
					t.Fatalf("phase %d step %d: re-masked %d has c %v above kept %d's %v", phase, s, ja, st.C[a], jb, st.C[b])
				}
			}
		}
		inLoop := map[int]bool{}
		for _, j := range st.Positions {
			inLoop[j] = true
		}
		for j := range prev {
			if !inLoop[j] && st.State[j] != prev[j] {
				t.Fatalf("phase %d step %d: position %d outside the loop changed", phase, s, j)
			}
		}
		prev = append(prev[:0], st.State...)
	}
	return eoaSteps
}

func indexOfLast(tr *Trace, phase int) int {
	last := -1
	for i, st := range tr.Steps {
		if st.Phase == phase {
			last = i
		}
	}
	return last
}

func checkOutput(t *testing.T, ts *testStep, r *Result) { checkOutputRule(t, ts, r, LoopRule{}) }

// checkOutputRule is checkOutput for a run whose action loop follows rule: with FreezeAfterEOA, a
// slot after the first EOA may still hold MASK (it was frozen before it was ever sampled).
func checkOutputRule(t *testing.T, ts *testStep, r *Result, rule LoopRule) {
	t.Helper()
	l, v := ts.l, ts.v
	first := firstIndex(r.Region, v.EOA)
	for j, tok := range r.Region {
		if rule.FreezeAfterEOA && first >= 0 && j > first && tok == v.Mask {
			continue
		}
		if l.Known[j] {
			if tok != l.Region[j] {
				t.Fatalf("pre-filled position %d changed to %d", j, tok)
			}
		} else if !inSpace(l, j, tok) {
			t.Fatalf("output token %d at %d is outside its decoding space", tok, j)
		}
	}
	e := firstIndex(r.Region, v.EOA)
	if r.EOAFound != (e >= 0) {
		t.Fatalf("EOAFound %v, first EOA at %d", r.EOAFound, e)
	}
	end := l.N()
	if e >= 0 {
		end = e
	}
	want := r.Region[l.BOA+1 : end]
	if len(r.Actions) != len(want) {
		t.Fatalf("%d actions, want %d", len(r.Actions), len(want))
	}
	for i := range want {
		if r.Actions[i] != want[i] || v.FastIndex(want[i]) < 0 {
			t.Fatalf("action %d is %d, want FAST token %d", i, r.Actions[i], want[i])
		}
	}
	for c, b := range l.FutureImages {
		for i, code := range r.FutureCodes[c] {
			tok := r.Region[b.Visual+i]
			if (code >= 0 && tok != v.VisualOffset+code) || (code < 0 && v.IsVisual(tok)) {
				t.Fatalf("camera %d code %d = %d for token %d", c, i, code, tok)
			}
		}
	}
}

func TestJD3PReplayAndInvariants(t *testing.T) {
	eoaSteps := 0
	for _, c := range []struct {
		seed int64
		opt  Options
	}{
		{101, Options{Seed: 7, Steps: 6, Mask: model.MaskPaper, Cache: true, Trace: true}},
		{102, Options{Seed: 8, Steps: 6, Mask: model.MaskPaper, Trace: true}},
		{103, Options{Seed: 9, Steps: 6, Mask: model.MaskRelease, Trace: true}},
		{104, Options{Seed: 1 << 40, Steps: 9, Mask: model.MaskRelease, Trace: true}},
	} {
		ts := newTestStep(t, c.seed)
		r, err := ts.m.JD3P(ts.l, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		checkOutput(t, ts, r)
		if len(r.Trace.Steps) != c.opt.Steps || r.Forwards != c.opt.Steps || r.Generated != ts.l.N() {
			t.Fatalf("%d trace steps, %d forwards", len(r.Trace.Steps), r.Forwards)
		}
		eoaSteps += replay(t, ts, c.opt, r.Trace, ts.l.Region, LoopRule{})
		last := r.Trace.Steps[c.opt.Steps-1]
		for k, j := range last.Positions {
			if r.Region[j] != last.Sampled[k] {
				t.Fatal("the output must be the last step's sampled tokens")
			}
		}
	}
	if eoaSteps == 0 {
		t.Fatal("no run had an EOA in its state: the EOA rule went untested")
	}
}

func TestJD3PScheduleByHand(t *testing.T) {
	ts := newTestStep(t, 111)
	if ts.l.N() != 44 {
		t.Fatalf("N = %d, the hand-computed schedule assumes 44", ts.l.N())
	}
	r, err := ts.m.JD3P(ts.l, Options{Mask: model.MaskPaper, Seed: 3, Steps: 6, Trace: true, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	// N = 44, 39 unknown at first, T = 6, r = s/6:
	// floor(44·cos(π/2·r)) = 42, 38, 31, 21, 11, -1 in the release's float32 (44·cos(π/3) falls
	// just below 22; float64 gives 22); clamped to [1, unknown-1], and every step re-masks exactly
	// mask_len positions, which become the next step's unknown count.
	wantLen := []int{38, 37, 31, 21, 11, 1}
	wantUnknown := []int{39, 38, 37, 31, 21, 11}
	wantTau := []float64{5.0 / 6, 20.0 / 36, 60.0 / 216, 120.0 / 1296, 120.0 / 7776, 0}
	for s, st := range r.Trace.Steps {
		if st.MaskLen != wantLen[s] || st.Unknown != wantUnknown[s] || math.Abs(st.Tau-wantTau[s]) > 1e-15 {
			t.Fatalf("step %d: mask_len %d unknown %d tau %v, want %d %d %v", s, st.MaskLen, st.Unknown, st.Tau, wantLen[s], wantUnknown[s], wantTau[s])
		}
		if st.Tau != TauAfter(s, 6) {
			t.Fatalf("step %d: tau %v, TauAfter %v", s, st.Tau, TauAfter(s, 6))
		}
	}
	// The state keeps the one MASK of the last step; the output has none.
	masks := 0
	for _, tok := range r.Trace.Steps[5].State {
		if tok == ts.v.Mask {
			masks++
		}
	}
	if masks != 1 {
		t.Fatalf("final state holds %d MASK, want 1", masks)
	}
	if firstIndex(r.Region, ts.v.Mask) >= 0 {
		t.Fatal("the output holds a MASK")
	}
}

func TestMaskLenByHand(t *testing.T) {
	for _, c := range []struct{ n, s, steps, unknown, want int }{
		{817, 0, 72, 812, 811},  // floor(817·cos(π/144)) = 816, clamped to 812-1
		{817, 35, 72, 500, 499}, // r = 1/2: floor(817·cos(π/4)) = 577, clamped to 500-1
		{817, 35, 72, 900, 577}, // the same step unclamped
		{70, 47, 72, 60, 34},    // float32: 70·cos(π/3) falls below 35 (float64 gives 35.000000000000007)
		{817, 71, 72, 3, 1},     // r = 1: floor(817·6e-17) = 0, raised to 1
		{10, 0, 10, 1, 1},       // one unknown: min(0, 9) = 0, raised to 1
		{10, 0, 10, 0, 1},       // none unknown: min(-1, 9), raised to 1
	} {
		if got := MaskLen(c.n, c.s, c.steps, c.unknown); got != c.want {
			t.Errorf("MaskLen(%d, %d, %d, %d) = %d, want %d", c.n, c.s, c.steps, c.unknown, got, c.want)
		}
	}
}

func TestJD3PDeterminismSeedsAndCache(t *testing.T) {
	ts := newTestStep(t, 120)
	run := func(opt Options) *Result {
		r, err := ts.m.JD3P(ts.l, opt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := run(Options{Mask: model.MaskPaper, Seed: 5, Steps: 5, Trace: true})
	b := run(Options{Mask: model.MaskPaper, Seed: 5, Steps: 5, Trace: true})
	cached := run(Options{Mask: model.MaskPaper, Seed: 5, Steps: 5, Trace: true, Cache: true})
	for _, other := range []*Result{b, cached} {
		for j := range a.Region {
			if a.Region[j] != other.Region[j] {
				t.Fatalf("same seed (cache %v) gave another token at %d", other == cached, j)
			}
		}
		for s := range a.Trace.Steps {
			for k := range a.Trace.Steps[s].C {
				if a.Trace.Steps[s].C[k] != other.Trace.Steps[s].C[k] {
					t.Fatalf("step %d: c differs between runs of the same seed", s)
				}
			}
		}
	}
	differ := 0
	for seed := uint64(6); seed < 9; seed++ {
		r := run(Options{Mask: model.MaskPaper, Seed: seed, Steps: 5})
		for j := range r.Region {
			if r.Region[j] != a.Region[j] {
				differ++
				break
			}
		}
	}
	if differ != 3 {
		t.Fatalf("only %d of 3 other seeds changed the output", differ)
	}
}

func TestJD3PRejects(t *testing.T) {
	ts := newTestStep(t, 130)
	for _, opt := range []Options{
		{Steps: 4, Mask: model.MaskRelease, Cache: true},
		{Steps: 4, Mask: model.MaskCausal},
		{Steps: 4}, // the model's rule is not the reference's to guess: callers resolve it
		{Steps: 0},
	} {
		if _, err := ts.m.JD3P(ts.l, opt); err == nil {
			t.Errorf("options %+v must be rejected", opt)
		}
		if _, err := ts.m.IndependentDiffusion(ts.l, opt); err == nil {
			t.Errorf("independent diffusion: options %+v must be rejected", opt)
		}
	}
	small := newRandomModel(t, smallArch(100), 1) // its vocabulary lacks the layout's ids
	if _, err := small.JD3P(ts.l, Options{Mask: model.MaskPaper, Steps: 2}); err == nil {
		t.Fatal("a layout with ids beyond the model's vocabulary must be rejected")
	}
}

func TestJD3PCalvinSized(t *testing.T) {
	if testing.Short() {
		t.Skip("CALVIN-sized sequence")
	}
	v, size := model.ScaledVocab(300, 64, 32)
	d := &model.Decoding{ActionLen: 70, Cameras: []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}}
	instr := make([]int32, 20)
	codes := [][]int32{make([]int32, 625), make([]int32, 100)}
	for i := range instr {
		instr[i] = int32(100 + 7*i)
	}
	for c := range codes {
		for i := range codes[c] {
			codes[c][i] = int32((i*31 + c*5) % 64)
		}
	}
	l, err := seq.Build(v, d, instr, codes)
	if err != nil {
		t.Fatal(err)
	}
	arch := model.Arch{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: size, RopeTheta: 1e6, RMSEps: 1e-5}
	m := newRandomModel(t, arch, 9)
	r, err := m.JD3P(l, Options{Mask: model.MaskPaper, Seed: 1, Steps: 2, Cache: true, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.N() != 817 || len(r.Region) != 817 {
		t.Fatalf("N = %d", l.N())
	}
	// Step 0: floor(817·cos(π/4)) = 577 positions re-masked of 812 unknown.
	if st := r.Trace.Steps[0]; st.Unknown != 812 || st.MaskLen != 577 {
		t.Fatalf("step 0: unknown %d mask_len %d", st.Unknown, st.MaskLen)
	}
	for j, tok := range r.Region {
		if !l.Known[j] && !inSpace(l, j, tok) {
			t.Fatalf("token %d at %d outside its space", tok, j)
		}
	}
}
