package ref

import (
	"math"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// naiveAR decodes greedily without a cache: for every position, one causal pass over the prefix and
// the tokens decided so far, argmax of the last row over the decoding space.
func naiveAR(t *testing.T, ts *testStep) []int32 {
	l, m, v := ts.l, ts.m, ts.v
	region := append([]int32(nil), l.Region...)
	for j := 0; j < l.N(); j++ {
		if !l.Known[j] {
			ids := l.Sequence(region)[:l.P()+j]
			logits, err := m.Forward(ids, positions(0, len(ids)), ForwardOptions{Mask: seq.CausalMask(len(ids))})
			if err != nil {
				t.Fatal(err)
			}
			row := logits[(len(ids)-1)*ts.arch.Vocab:]
			best := math.Inf(-1)
			for _, id := range l.Allowed[l.Space[j]] {
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

func TestGreedyAREqualsUncachedAR(t *testing.T) {
	sawEOA := false
	// Random models rarely prefer EOA greedily: seeds 264 and 273 were picked because their runs
	// stop at an EOA two slots after BOA, which exercises the early stop.
	for _, seed := range []int64{200, 264, 273} {
		ts := newTestStep(t, seed)
		r, err := ts.m.GreedyAR(ts.l, Options{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		want := naiveAR(t, ts)
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

func TestIndependentDiffusion(t *testing.T) {
	for _, c := range []struct {
		seed int64
		opt  Options
	}{
		{300, Options{Seed: 11, Steps: 5, Mask: model.MaskPaper, Cache: true, Trace: true}},
		{301, Options{Seed: 12, Steps: 4, Mask: model.MaskRelease, Trace: true}},
	} {
		ts := newTestStep(t, c.seed)
		r, err := ts.m.IndependentDiffusion(ts.l, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		checkOutput(t, ts, r)
		if len(r.Trace.Steps) != 2*c.opt.Steps || r.Forwards != 2*c.opt.Steps {
			t.Fatalf("%d trace steps", len(r.Trace.Steps))
		}
		// Phase 0 covers the image positions with the actions held at BOA + MASK; phase 1 the
		// action positions with the images fixed to the output.
		for _, st := range r.Trace.Steps {
			for _, j := range st.Positions {
				if (ts.l.Space[j] == seq.SpaceAction) != (st.Phase == 1) {
					t.Fatalf("phase %d decides position %d of space %d", st.Phase, j, ts.l.Space[j])
				}
			}
			for j := range st.Input {
				switch {
				case st.Phase == 0 && ts.l.Space[j] == seq.SpaceAction && st.Input[j] != ts.l.Region[j]:
					t.Fatalf("image phase: action position %d fed %d", j, st.Input[j])
				case st.Phase == 1 && ts.l.Space[j] == seq.SpaceImage && st.Input[j] != r.Region[j]:
					t.Fatalf("action phase: image position %d fed %d, output %d", j, st.Input[j], r.Region[j])
				}
			}
		}
		if n := len(r.Trace.Steps[0].Positions); n != ts.l.BOA || r.Trace.Steps[0].Unknown != ts.l.BOA-4 {
			t.Fatalf("image loop over %d positions, %d unknown", n, r.Trace.Steps[0].Unknown)
		}
		replay(t, ts, c.opt, r.Trace, ts.l.Region)
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
