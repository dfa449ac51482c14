package ref

import (
	"math"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// naiveAR decodes greedily without a cache: for every position, one causal pass over the prefix and
// the tokens decided so far, argmax of the last row over the decoding space (free: over the whole
// vocabulary, with nothing pre-filled).
func naiveAR(t *testing.T, ts *testStep, free bool) []int32 {
	l, m, v := ts.l, ts.m, ts.v
	region := append([]int32(nil), l.Region...)
	if free {
		for j := range region {
			region[j] = v.Mask
		}
	}
	for j := 0; j < l.N(); j++ {
		if free || !l.Known[j] {
			ids := l.Sequence(region)[:l.P()+j]
			logits, err := m.Forward(ids, positions(0, len(ids)), ForwardOptions{Mask: seq.CausalMask(len(ids))})
			if err != nil {
				t.Fatal(err)
			}
			row := logits[(len(ids)-1)*ts.arch.Vocab:]
			best := math.Inf(-1)
			space := l.Allowed[l.Space[j]]
			if free {
				space = make([]int32, ts.arch.Vocab)
				for i := range space {
					space[i] = int32(i)
				}
			}
			for _, id := range space {
				if float64(row[id]) > best {
					best, region[j] = float64(row[id]), id
				}
			}
		}
		if region[j] == v.EOA {
			break
		}
	}
	return region
}

func TestGreedyARRestrictedEqualsUncachedAR(t *testing.T) {
	sawEOA := false
	// Random models rarely prefer EOA greedily: seeds 264 and 273 were picked because their runs
	// stop at an EOA two slots after BOA, which exercises the early stop.
	for _, seed := range []int64{200, 264, 273} {
		ts := newTestStep(t, seed)
		r, err := ts.m.GreedyARRestricted(ts.l, Options{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		want := naiveAR(t, ts, false)
		for j := range want {
			if r.Region[j] != want[j] {
				t.Fatalf("seed %d: cached AR token %d is %d, uncached %d", seed, j, r.Region[j], want[j])
			}
		}
		e := firstIndex(r.Region, ts.v.EOA)
		if e >= 0 {
			sawEOA = true
			for j := e + 1; j < ts.l.N(); j++ {
				if r.Region[j] != ts.v.Mask {
					t.Fatalf("position %d after the EOA was generated", j)
				}
			}
			if r.Generated != e+1 || r.Forwards != e {
				t.Fatalf("generated %d forwards %d with the EOA at %d", r.Generated, r.Forwards, e)
			}
		}
		for j := 0; j < r.Generated; j++ {
			if !ts.l.Known[j] && !inSpace(ts.l, j, r.Region[j]) {
				t.Fatalf("AR token %d at %d outside its space", r.Region[j], j)
			}
		}
		if len(r.Trace.Steps) != r.Generated {
			t.Fatalf("%d trace steps for %d tokens", len(r.Trace.Steps), r.Generated)
		}
	}
	if !sawEOA {
		t.Fatal("no AR run produced an EOA: stopping after it went untested")
	}
}

// The release's AR: greedy over the whole vocabulary with nothing pre-filled equals an uncached
// greedy decode; it stops at its first EOA or after N tokens, and its actions follow the first
// generated BOA.
func TestGreedyAREqualsUncachedFreeAR(t *testing.T) {
	for _, seed := range []int64{200, 201} {
		ts := newTestStep(t, seed)
		r, err := ts.m.GreedyAR(ts.l, Options{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		want := naiveAR(t, ts, true)
		if !slices.Equal(r.Region, want) {
			t.Fatalf("seed %d: cached %v, uncached %v", seed, r.Region, want)
		}
		e := firstIndex(r.Region, ts.v.EOA)
		if (e >= 0 && r.Generated != e+1) || (e < 0 && r.Generated != ts.l.N()) {
			t.Fatalf("seed %d: generated %d with the first EOA at %d", seed, r.Generated, e)
		}
		restricted, err := ts.m.GreedyARRestricted(ts.l, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(restricted.Region, r.Region) {
			t.Fatalf("seed %d: the free and the restricted AR agree: the restriction went untested", seed)
		}
		o := ts.l.FreeOutputs(r.Region)
		if !slices.Equal(r.Actions, o.Actions) || r.EOAFound != o.EOAFound {
			t.Fatalf("seed %d: actions %v, the generated BOA gives %v", seed, r.Actions, o.Actions)
		}
	}
}

// Independent diffusion as the release runs it: an image loop over the prefix and the image
// positions alone (no action slot in the sequence), then an action loop with tau held at 0 and the
// slots after the first EOA frozen. Each loop is replayed on its own sequence.
func TestIndependentDiffusion(t *testing.T) {
	eoaSteps := 0
	for _, c := range []struct {
		seed int64
		opt  Options
	}{
		{300, Options{Seed: 11, Steps: 5, ActionSteps: 4, Mask: model.MaskPaper, Cache: true, Trace: true}},
		{301, Options{Seed: 12, Steps: 4, ActionSteps: 6, Mask: model.MaskRelease, Trace: true}},
		// Seeds whose action loops hold an EOA with slots after it for most steps.
		{305, Options{Seed: 305, Steps: 3, ActionSteps: 9, Mask: model.MaskRelease, Trace: true}},
		{311, Options{Seed: 311, Steps: 3, ActionSteps: 9, Mask: model.MaskPaper, Trace: true}},
	} {
		ts := newTestStep(t, c.seed)
		l := ts.l
		r, err := ts.m.IndependentDiffusion(l, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		checkOutputRule(t, ts, r, LoopRule{FreezeAfterEOA: true})
		steps := c.opt.Steps + c.opt.ActionSteps
		if len(r.Trace.Steps) != steps || r.Forwards != steps || r.Generated != l.N() {
			t.Fatalf("%d trace steps, %d forwards, %d generated", len(r.Trace.Steps), r.Forwards, r.Generated)
		}
		image, action := &Trace{Mask: ts.v.Mask}, &Trace{Mask: ts.v.Mask}
		for _, st := range r.Trace.Steps {
			if st.Phase == 0 {
				image.Steps = append(image.Steps, st)
			} else {
				action.Steps = append(action.Steps, st)
			}
		}
		if len(image.Steps) != c.opt.Steps || len(action.Steps) != c.opt.ActionSteps {
			t.Fatalf("%d image steps, %d action steps", len(image.Steps), len(action.Steps))
		}
		// The image loop's sequence ends with the last future image: no action slot.
		for _, st := range image.Steps {
			if len(st.Input) != l.BOA || len(st.State) != l.BOA || len(st.Positions) != l.BOA {
				t.Fatalf("image loop over %d inputs, %d positions; the images end at %d", len(st.Input), len(st.Positions), l.BOA)
			}
		}
		its := *ts
		its.l = ImageLayout(l)
		replay(t, &its, c.opt, image, its.l.Region, LoopRule{})
		if last := image.Steps[len(image.Steps)-1]; last.Tau != 0 {
			t.Fatalf("the image loop ends with tau %v", last.Tau)
		}
		// The action loop starts from the image loop's last samples, BOA and MASK slots.
		initial := append(append([]int32(nil), image.Steps[len(image.Steps)-1].Sampled...), l.Region[l.BOA:]...)
		for j := 0; j < l.BOA; j++ {
			if r.Region[j] != initial[j] {
				t.Fatalf("output image position %d is %d, the image loop sampled %d", j, r.Region[j], initial[j])
			}
		}
		for _, st := range action.Steps {
			if st.Tau != 0 || len(st.Positions) != l.N()-l.BOA || st.Positions[0] != l.BOA {
				t.Fatalf("action step %d: tau %v over %d positions from %d", st.Step, st.Tau, len(st.Positions), st.Positions[0])
			}
		}
		ao := c.opt
		ao.Steps = c.opt.ActionSteps
		eoaSteps += replay(t, ts, ao, action, initial, LoopRule{TauZero: true, FreezeAfterEOA: true})
	}
	if eoaSteps == 0 {
		t.Fatal("no action loop had an EOA in its state: freezing the slots after it went untested")
	}
}

func TestFirstDifference(t *testing.T) {
	ts := newTestStep(t, 400)
	r, err := ts.m.JD3P(ts.l, Options{Mask: model.MaskPaper, Seed: 2, Steps: 5, Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	tr := r.Trace
	states := make([][]int32, len(tr.Steps))
	sampled := make([][]int32, len(tr.Steps))
	for i, st := range tr.Steps {
		states[i] = append([]int32(nil), st.State...)
		sampled[i] = append([]int32(nil), st.Sampled...)
	}
	if _, differs, err := tr.FirstDifference(states, sampled); err != nil || differs {
		t.Fatalf("identical runs reported as different (%v)", err)
	}
	// Flip one re-mask decision at step 2: a kept position re-masked.
	st := tr.Steps[2]
	k := -1
	for i, j := range st.Positions {
		if !st.Remasked[i] && !ts.l.Known[j] {
			k = i
			break
		}
	}
	j := st.Positions[k]
	states[2][j] = ts.v.Mask
	states[3][0] = ts.v.Mask // a later difference must not be the one reported
	d, differs, err := tr.FirstDifference(states, sampled)
	if err != nil || !differs || d.Index != 2 || d.Position != j || d.Kind != "mask" || d.Margin != st.MaskMargin[k] || d.Count != 1 {
		t.Fatalf("mask flip: %v %v %v", d, differs, err)
	}
	// Another draw at step 1 is the root cause when the samples are given.
	st1 := tr.Steps[1]
	for i, jj := range st1.Positions {
		if !ts.l.Known[jj] && st1.SampleMargin[i] < math.Inf(1) {
			sampled[1][i]++
			d, differs, _ = tr.FirstDifference(states, sampled)
			if !differs || d.Index != 1 || d.Kind != "sample" || d.Position != jj || d.Margin != st1.SampleMargin[i] {
				t.Fatalf("sample flip: %v", d)
			}
			break
		}
	}
	if d.Margin <= 0 || !(d.Margin < math.Inf(1)) {
		t.Fatalf("margin %v", d.Margin)
	}
	if _, _, err := tr.FirstDifference(states[:2], sampled); err == nil {
		t.Fatal("mismatched inputs must be rejected")
	}
}
