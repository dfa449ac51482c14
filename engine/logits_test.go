package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/internal/vkbackend"
	"github.com/udvla/udvla/engine/model"
)

// Engine.Logits on a sequence longer than the buffers a control step needs grows them; the
// logits equal the reference's, and the control steps recorded before and after the growth still
// give the reference's regions.
func TestLogitsGrowPastControlStepBuffers(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(21, 22))
	step := func(req *Request) { t.Helper(); checkStepEqualsRef(t, "a step", g, ref, req) }
	req := randomRequest(g.Config(), r)
	step(req)
	n := vkOf(g).MaxSequence() + 37
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = r.Int32N(int32(g.Config().Arch.Vocab))
	}
	got, err := g.Logits(ids, model.MaskCausal)
	if err != nil {
		t.Fatalf("%d tokens (the engine was sized for %d): %v", n, n-37, err)
	}
	want, err := ref.Logits(ids, model.MaskCausal)
	if err != nil {
		t.Fatal(err)
	}
	diff, scale := maxLogitDiff(got, want)
	if diff > 1e-5*scale {
		t.Errorf("%d tokens: max |vulkan - reference| = %g of max |logit| %g", n, diff, scale)
	}
	step(req)
	step(randomRequest(g.Config(), r))
	if _, err := g.Logits(make([]int32, vkbackend.MaxLogitsTokens+1), model.MaskCausal); err == nil {
		t.Error("a logits call beyond the workgroup limit was accepted")
	}
}
