package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

// checkStepEqualsRef runs req on e and on the reference and demands the same region.
func checkStepEqualsRef(t *testing.T, what string, e, ref *Engine, req *Request) {
	t.Helper()
	want, err := ref.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Step(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(got.Region, want.Region) {
		t.Errorf("%s, seed %d:\n gpu %v\n ref %v", what, req.Seed, got.Region, want.Region)
	}
}

// Engine.Logits on a sequence longer than the buffers a control step needs grows them; the
// logits equal the reference's, and the control steps recorded before and after the growth still
// give the reference's regions.
func TestLogitsGrowPastControlStepBuffers(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	vb := g.be.(*vkBackend)
	r := rand.New(rand.NewPCG(21, 22))
	step := func(req *Request) { t.Helper(); checkStepEqualsRef(t, "a step", g, ref, req) }
	req := randomRequest(g.Config(), r)
	step(req)
	n := vb.maxL + 37
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
	var scale, diff float64
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
	}
	if diff > 1e-5*scale {
		t.Errorf("%d tokens: max |vulkan - reference| = %g of max |logit| %g", n, diff, scale)
	}
	step(req)
	step(randomRequest(g.Config(), r))
	if _, err := g.Logits(make([]int32, maxLogitsTokens+1), model.MaskCausal); err == nil {
		t.Error("a logits call beyond the workgroup limit was accepted")
	}
}

// The first step of a request shape reports its recording and pipeline compilation as Compile;
// later steps of that shape report none, and the outputs stay the reference's.
func TestCompileTimedApartOnFirstUse(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(23, 24))
	ctx := context.Background()
	for _, mode := range []Mode{ModeJD3P, ModeID, ModeAR} {
		req := randomRequest(g.Config(), r)
		req.Mode = mode
		want, err := ref.Step(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if want.Timings.Compile != 0 {
			t.Errorf("the reference reports compilation %v", want.Timings.Compile)
		}
		for i := 0; i < 2; i++ {
			got, err := g.Step(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if first := i == 0; first != (got.Timings.Compile > 0) {
				t.Errorf("%v run %d: compile %v", mode, i+1, got.Timings.Compile)
			}
			if !reflect.DeepEqual(got.Region, want.Region) {
				t.Errorf("%v run %d: region differs from the reference", mode, i+1)
			}
		}
	}
}
