package ref

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

// StepSelect must make exactly the decisions the decoding loops make: replay the traces of JD3P
// and of independent diffusion (both loops, purposes 0/1 and 2/3) step by step from the traced
// samples and confidences.
func TestStepSelectReplaysTraces(t *testing.T) {
	for _, seed := range []int64{41, 42} {
		ts := newTestStep(t, seed)
		opt := Options{Mask: model.MaskPaper, Seed: uint64(seed) * 977, Steps: 6, ActionSteps: 5, Trace: true}
		jd, err := ts.m.JD3P(ts.l, opt)
		if err != nil {
			t.Fatal(err)
		}
		id, err := ts.m.IndependentDiffusion(ts.l, opt)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*Result{"jd3p": jd, "independent": id} {
			g := append([]int32(nil), ts.l.Region...)
			if name == "independent" {
				g = g[:ts.l.BOA] // the image loop's sequence has no action slot
			}
			var out []int32
			for i, st := range r.Trace.Steps {
				if i > 0 && st.Phase != r.Trace.Steps[i-1].Phase {
					// the action loop starts from the image loop's output, BOA and MASK slots
					g = append(append([]int32(nil), out...), ts.l.Region[ts.l.BOA:]...)
				}
				if !slices.Equal(ModelInput(g, ts.v), st.Input) {
					t.Fatalf("%s step %d: model input differs", name, i)
				}
				confidence, steps, rule := PurposeConfidence, opt.Steps, LoopRule{}
				if st.Phase == 1 {
					confidence, steps, rule = PurposeActionConfidence, opt.ActionSteps, LoopRule{TauZero: true, FreezeAfterEOA: true}
				}
				sel, err := StepSelectRule(g, st.Positions, st.Sampled, st.Conf, ts.v, opt.Seed, st.Step, steps, confidence, nil, rule)
				if err != nil {
					t.Fatal(err)
				}
				if sel.Unknown != st.Unknown || sel.MaskLen != st.MaskLen || sel.Cutoff != st.Cutoff ||
					!slices.Equal(sel.C, st.C) || !slices.Equal(sel.Remasked, st.Remasked) || !slices.Equal(sel.State, st.State) {
					t.Fatalf("%s step %d: selection differs from the trace", name, i)
				}
				// Given the same c values, the same decisions.
				again, err := StepSelectRule(g, st.Positions, st.Sampled, st.Conf, ts.v, opt.Seed, st.Step, steps, confidence, st.C, rule)
				if err != nil || !slices.Equal(again.State, st.State) {
					t.Fatalf("%s step %d: given c: %v", name, i, err)
				}
				g, out = sel.State, sel.Out
			}
			if !slices.Equal(out, r.Region) {
				t.Fatalf("%s: the last step's Out is not the result's region", name)
			}
		}
	}
}

func TestStepSelectRejectsBadInput(t *testing.T) {
	v, _ := model.ScaledVocab(200, 48, 24)
	g := []int32{v.Mask, v.Mask, v.Mask}
	cases := []struct {
		pos     []int
		sampled []int32
		conf    []float64
		s       int
	}{
		{nil, nil, nil, 0},
		{[]int{0, 1}, []int32{1}, []float64{0.5, 0.5}, 0},
		{[]int{1, 0}, []int32{1, 2}, []float64{0.5, 0.5}, 0},
		{[]int{0, 3}, []int32{1, 2}, []float64{0.5, 0.5}, 0},
		{[]int{0, 1}, []int32{1, 2}, []float64{0.5, 0.5}, 4},
	}
	for i, c := range cases {
		if _, err := StepSelect(g, c.pos, c.sampled, c.conf, v, 1, c.s, 4, PurposeConfidence, nil); err == nil {
			t.Errorf("case %d: accepted", i)
		}
	}
}

// The exported decisions are the loops' own: GumbelMax and Argmax agree with a direct evaluation.
func TestGumbelMaxAndArgmaxExported(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, n := range []int{1, 5, 1025} {
		logits := randomVec(rng, n, 3)
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(3*i + 1)
		}
		tok, p, margin, err := GumbelMax(logits, ids, 99, 3, 17, PurposeSample)
		if err != nil {
			t.Fatal(err)
		}
		best, bi := math.Inf(-1), 0
		for i, id := range ids {
			if z := float64(logits[i]) + Gumbel(99, 3, 17, int(id), PurposeSample); z > best {
				best, bi = z, i
			}
		}
		if tok != ids[bi] || !(p > 0 && p <= 1) || !(margin > 0) {
			t.Fatalf("n=%d: gumbel-max %d (p %g, margin %g), want %d", n, tok, p, margin, ids[bi])
		}
		am, _, err := Argmax(logits, ids)
		if err != nil || am != ids[slices.Index(logits, slices.Max(logits))] {
			t.Fatalf("n=%d: argmax %d %v", n, am, err)
		}
	}
	if _, _, _, err := GumbelMax([]float32{1}, nil, 0, 0, 0, 0); err == nil {
		t.Fatal("gumbel-max accepted mismatched lengths")
	}
	if _, _, err := Argmax(nil, nil); err == nil {
		t.Fatal("argmax accepted an empty space")
	}
}
