package engine

import (
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// firstStepLogits runs the first denoising step of req alone and returns the raw bytes of the
// region's restricted logits (every position, both decoding spaces). The logits buffer is
// poisoned first, so stale values cannot pass for results.
func firstStepLogits(t testing.TB, g *Engine, req Request) []byte {
	t.Helper()
	vb := vkOf(g)
	req.Steps = 1
	if err := vb.PoisonLogits(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Step(context.Background(), &req); err != nil {
		t.Fatal(err)
	}
	raw, err := vb.RegionLogits()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Under the release rule the text prefix is forwarded once per control step, and that changes
// no bit: the first step's logits of every region position are bitwise those of the uncached
// run, and whole runs give the same region. Short instructions (one to eight text positions, BOS
// alone included) take the one- and few-token matmul paths unless the prefill keeps the
// many-token tile; q8_0 weights sum differently on those paths.
func TestReleaseTextCacheBitExact(t *testing.T) {
	for _, m := range []struct {
		name string
		path string
	}{
		{"tiny", tinyModel},
		{"q8", randomModel(t, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192}, quant.Q8_0, 31)},
	} {
		g, _ := openPair(t, m.path)
		r := rand.New(rand.NewPCG(41, 42))
		for i := 0; i < 6; i++ {
			req := randomRequest(g.Config(), r)
			req.Mask = model.MaskRelease
			req.Instruction = req.Instruction[:i%len(req.Instruction)]
			l, _, err := g.layout(req)
			if err != nil {
				t.Fatal(err)
			}
			if c := newJob(req, l, 1).CachedPrefix(); c != l.TextLen {
				t.Fatalf("%s: the release rule caches %d positions, want the text's %d", m.name, c, l.TextLen)
			}
			plain := *req
			plain.NoCache = true
			if newJob(&plain, l, 1).CachedPrefix() != 0 {
				t.Fatal("NoCache must forward the whole sequence at every step")
			}
			a, b := firstStepLogits(t, g, *req), firstStepLogits(t, g, plain)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s seed %d (text of %d): first-step logits differ with the text cache", m.name, req.Seed, l.TextLen)
			}
			ctx := context.Background()
			got, err := g.Step(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := g.Step(ctx, &plain)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Region, want.Region) {
				t.Fatalf("%s seed %d: the text-cached release run differs from the uncached one", m.name, req.Seed)
			}
			if got.Timings.Prefill <= 0 || want.Timings.Prefill != 0 {
				t.Fatalf("%s: prefill times %v cached, %v uncached", m.name, got.Timings.Prefill, want.Timings.Prefill)
			}
		}
	}
}

// Release-kv's first-step logits differ from the release rule's: the mode is no alias of it.
func TestReleaseKVDiffersFromRelease(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	req := randomRequest(g.Config(), rand.New(rand.NewPCG(61, 62)))
	req.Mask = model.MaskRelease
	rel := firstStepLogits(t, g, *req)
	req.Mask = model.MaskReleaseKV
	if kv := firstStepLogits(t, g, *req); bytes.Equal(rel, kv) {
		t.Fatal("release-kv gave the release rule's first-step logits")
	}
}

// PrefixCaching names what the recordings cache, for every mode, rule and NoCache.
func TestPrefixCachingNamesThePlan(t *testing.T) {
	e, err := Open(tinyModel, Options{Backend: BackendReference})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := randomRequest(e.Config(), rand.New(rand.NewPCG(81, 82)))
	l, _, err := e.layout(req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"none": 0, "text": l.TextLen, "prefix": l.P()}
	for _, mode := range []Mode{ModeJD3P, ModeAR, ModeID} {
		for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease, model.MaskReleaseKV} {
			for _, noCache := range []bool{false, true} {
				q := *req
				q.Mode, q.Mask, q.NoCache = mode, rule, noCache
				name := PrefixCaching(mode, rule, noCache)
				if c := newJob(&q, l, 1).CachedPrefix(); c != want[name] {
					t.Errorf("%v %v NoCache %v: PrefixCaching says %q, the plan caches %d positions", mode, rule, noCache, name, c)
				}
			}
		}
	}
}
