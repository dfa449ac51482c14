package ref

import (
	"math"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// prefixOnly is the release-kv rule written as one mask over prefix + region: the release mask,
// except that a prefix query sees no region key. The uncached forward under it is what the
// release-kv cache must reproduce.
type prefixOnly struct {
	*seq.Mask
	p int
}

func (m prefixOnly) Allowed(q, k int) bool { return (q >= m.p || k < m.p) && m.Mask.Allowed(q, k) }

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// hiddenRows runs the first step's forward of a run and returns the rows that predict the region.
func hiddenRows(t *testing.T, ts *testStep, opt Options, input []int32) [][]float32 {
	t.Helper()
	f, err := newRegionForward(ts.m, ts.l, opt)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.hidden(input)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Caching the text under the release rule changes no bit: the hidden states that feed lm_head at
// the first step and at a later step (a state holding an EOA, which re-blocks the region), and
// every decision of whole runs.
func TestReleaseTextCacheExact(t *testing.T) {
	for seed := int64(400); seed < 404; seed++ {
		ts := newTestStep(t, seed)
		later := append([]int32(nil), ts.l.Region...)
		later[ts.l.BOA+3] = ts.v.EOA
		for _, input := range [][]int32{ts.l.Region, ModelInput(later, ts.v)} {
			plain := hiddenRows(t, ts, Options{Mask: model.MaskRelease}, input)
			cached := hiddenRows(t, ts, Options{Mask: model.MaskRelease, Cache: true}, input)
			for j := range plain {
				if !sameBits(plain[j], cached[j]) {
					t.Fatalf("seed %d: the text-cached hidden state of region position %d differs", seed, j)
				}
			}
		}
		run := func(cache bool) *Result {
			r, err := ts.m.JD3P(ts.l, Options{Seed: uint64(seed), Steps: 5, Mask: model.MaskRelease, Cache: cache, Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		a, b := run(false), run(true)
		for s := range a.Trace.Steps {
			for k, c := range a.Trace.Steps[s].C {
				if math.Float64bits(c) != math.Float64bits(b.Trace.Steps[s].C[k]) {
					t.Fatalf("seed %d step %d: c differs with the text cache", seed, s)
				}
			}
		}
	}
}

// Each rule caches what it may: the whole prefix under the paper rule and release-kv, the text
// under the release rule (its current images see the region), nothing without Cache.
func TestCachedPrefix(t *testing.T) {
	ts := newTestStep(t, 410)
	l := ts.l
	for _, c := range []struct {
		rule  model.MaskRule
		cache bool
		want  int
	}{
		{model.MaskPaper, true, l.P()}, {model.MaskRelease, true, l.TextLen}, {model.MaskReleaseKV, true, l.P()},
		{model.MaskPaper, false, 0}, {model.MaskRelease, false, 0}, {model.MaskReleaseKV, false, l.P()},
	} {
		if got := CachedPrefix(l, c.rule, c.cache); got != c.want {
			t.Errorf("%v cache %v: %d cached positions, want %d", c.rule, c.cache, got, c.want)
		}
	}
}

// Release-kv is the release rule with the prefix rows kept off the region: its cached forward
// equals the uncached forward under exactly that mask, bit for bit, and differs from the release
// rule's.
func TestReleaseKVIsPrefixOnlyRelease(t *testing.T) {
	ts := newTestStep(t, 420)
	l := ts.l
	got := hiddenRows(t, ts, Options{Mask: model.MaskReleaseKV}, l.Region)
	all := l.Sequence(l.Region)
	mask := prefixOnly{seq.ReleaseMask(all, l.Vocab), l.P()}
	h, err := ts.m.Hidden(all, positions(0, len(all)), ForwardOptions{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	hd := ts.arch.Hidden
	for j := range got {
		if want := h[(l.P()+j-1)*hd : (l.P()+j)*hd]; !sameBits(got[j], want) {
			t.Fatalf("region position %d: release-kv hidden state differs from the prefix-only release mask", j)
		}
	}
	release := hiddenRows(t, ts, Options{Mask: model.MaskRelease}, l.Region)
	differ := 0
	for j := range got {
		if !sameBits(got[j], release[j]) {
			differ++
		}
	}
	if differ != len(got) {
		t.Fatalf("release-kv equals the release rule at %d of %d positions: the prefix must not see the region", len(got)-differ, len(got))
	}
}
