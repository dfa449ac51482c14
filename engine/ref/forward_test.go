package ref

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

func equalRows(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d values", what, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: value %d differs: %v vs %v", what, i, a[i], b[i])
		}
	}
}

func TestCausalPrefixIgnoresLaterTokens(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	arch := smallArch(211)
	m := newRandomModel(t, arch, 10)
	n, k := 29, 17
	ids := randomIDs(rng, n, arch.Vocab)
	full, err := m.Forward(ids, positions(0, n), ForwardOptions{Mask: seq.CausalMask(n)})
	if err != nil {
		t.Fatal(err)
	}
	other := append([]int32(nil), ids[:k]...)
	other = append(other, randomIDs(rng, n-k, arch.Vocab)...)
	changed, _ := m.Forward(other, positions(0, n), ForwardOptions{Mask: seq.CausalMask(n)})
	short, _ := m.Forward(ids[:k], positions(0, k), ForwardOptions{Mask: seq.CausalMask(k)})
	equalRows(t, "prefix logits, later tokens changed", full[:k*arch.Vocab], changed[:k*arch.Vocab])
	equalRows(t, "prefix logits, sequence cut", full[:k*arch.Vocab], short)
	// The logits are not flat: the model is a meaningful test subject.
	var lo, hi float32
	for _, z := range full[:arch.Vocab] {
		lo, hi = min(lo, z), max(hi, z)
	}
	if hi-lo < 5 {
		t.Fatalf("logit range %v is too flat for a test model", hi-lo)
	}
	// And the later logits do depend on the later tokens.
	same := true
	for i := k * arch.Vocab; i < n*arch.Vocab; i++ {
		same = same && full[i] == changed[i]
	}
	if same {
		t.Fatal("logits after the change did not change")
	}
}

func TestPaperMaskVisionIgnoresActions(t *testing.T) {
	ts := newTestStep(t, 20)
	l, m := ts.l, ts.m
	rng := rand.New(rand.NewSource(20))
	p, n := l.P(), l.N()
	mask := seq.PaperMask(l)
	region := append([]int32(nil), l.Region...)
	for j := range region { // some future image tokens filled in, as during decoding
		if !l.Known[j] && l.Space[j] == seq.SpaceImage && rng.Intn(2) == 0 {
			region[j] = ts.v.VisualOffset + rng.Int31n(ts.v.CodebookSize)
		}
	}
	a, err := m.Forward(l.Sequence(region), positions(0, p+n), ForwardOptions{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	act := l.AllowedIDs(seq.SpaceAction)
	for j := l.BOA + 1; j < n; j++ {
		region[j] = act[rng.Intn(len(act))]
	}
	b, _ := m.Forward(l.Sequence(region), positions(0, p+n), ForwardOptions{Mask: mask})
	cut := (p + l.BOA) * ts.arch.Vocab
	equalRows(t, "prefix and future-image logits with other action tokens", a[:cut], b[:cut])
	// The release mask, by contrast, lets the images see the actions.
	ra, _ := m.Forward(l.Sequence(l.Region), positions(0, p+n), ForwardOptions{Mask: seq.ReleaseMask(l.Sequence(l.Region), ts.v)})
	rb, _ := m.Forward(l.Sequence(region), positions(0, p+n), ForwardOptions{Mask: seq.ReleaseMask(l.Sequence(region), ts.v)})
	same := true
	for i := l.PrefixImages[0].Start * ts.arch.Vocab; i < cut; i++ {
		same = same && ra[i] == rb[i]
	}
	if same {
		t.Fatal("under the release mask the images must depend on the action tokens")
	}
}

func TestKVCachedEqualsUncached(t *testing.T) {
	ts := newTestStep(t, 30)
	l, m := ts.l, ts.m
	p, n := l.P(), l.N()
	V := ts.arch.Vocab
	rng := rand.New(rand.NewSource(30))
	region := append([]int32(nil), l.Region...)
	for j := range region {
		if !l.Known[j] && rng.Intn(3) == 0 {
			ids := l.AllowedIDs(l.Space[j])
			region[j] = ids[rng.Intn(len(ids))]
		}
	}
	// Paper mask: prefix cached once, region forwarded against it.
	mask := seq.PaperMask(l)
	full, err := m.Forward(l.Sequence(region), positions(0, p+n), ForwardOptions{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	cache := NewKVCache(ts.arch)
	pre, err := m.Forward(l.Prefix, positions(0, p), ForwardOptions{Mask: mask, Cache: cache, Append: true})
	if err != nil {
		t.Fatal(err)
	}
	if cache.Len() != p {
		t.Fatalf("cache holds %d tokens after the prefill, want %d", cache.Len(), p)
	}
	reg, err := m.Forward(region, positions(p, n), ForwardOptions{Mask: mask, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, "cached prefix", full[:p*V], pre)
	equalRows(t, "cached region", full[p*V:], reg)
	if cache.Len() != p {
		t.Fatal("a forward without Append must leave the cache alone")
	}
	// Causal decoding token by token equals one causal pass.
	seqIDs := l.Sequence(region)[:p+9]
	causal := seq.CausalMask(len(seqIDs))
	whole, _ := m.Forward(seqIDs, positions(0, len(seqIDs)), ForwardOptions{Mask: causal})
	cache.Reset()
	for i, id := range seqIDs {
		row, err := m.Forward([]int32{id}, []int32{int32(i)}, ForwardOptions{Mask: causal, Cache: cache, Append: true})
		if err != nil {
			t.Fatal(err)
		}
		equalRows(t, "token-by-token causal", whole[i*V:(i+1)*V], row)
	}
}

func TestGQAModelEqualsMHAModel(t *testing.T) {
	// A GQA model equals the MHA model whose K/V projections repeat each K/V head for its group.
	rng := rand.New(rand.NewSource(40))
	gqa := smallArch(97)
	gqa.Heads, gqa.KVHeads, gqa.HeadDim = 4, 2, 16
	mha := gqa
	mha.KVHeads = gqa.Heads
	src := randomTensors(gqa, 40)
	group, hd := gqa.Heads/gqa.KVHeads, gqa.HeadDim
	repeat := func(w []float32) []float32 {
		out := make([]float32, 0, mha.KVHeads*hd*gqa.Hidden)
		for h := 0; h < mha.KVHeads; h++ {
			kvh := h / group
			out = append(out, w[kvh*hd*gqa.Hidden:(kvh+1)*hd*gqa.Hidden]...)
		}
		return out
	}
	a := newRandomModel(t, gqa, 40)
	b, err := NewModel(mha, func(name string) ([]float32, error) {
		w, err := src(name)
		if strings.HasSuffix(name, ".wk") || strings.HasSuffix(name, ".wv") {
			w = repeat(w)
		}
		return w, err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 21
	ids := randomIDs(rng, n, gqa.Vocab)
	mask := seq.CausalMask(n)
	for i := 0; i < n; i += 3 {
		mask.Bidir[i] = true // a mask with some bidirectional rows
	}
	la, err := a.Forward(ids, positions(0, n), ForwardOptions{Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := b.Forward(ids, positions(0, n), ForwardOptions{Mask: mask})
	equalRows(t, "gqa vs mha logits", la, lb)
}

func TestForwardRowsSubset(t *testing.T) {
	ts := newTestStep(t, 50)
	m, l := ts.m, ts.l
	rows := l.AllowedIDs(seq.SpaceAction)
	mask := seq.PaperMask(l)
	ids := l.Sequence(l.Region)
	full, _ := m.Forward(ids, positions(0, len(ids)), ForwardOptions{Mask: mask})
	sub, err := m.Forward(ids, positions(0, len(ids)), ForwardOptions{Mask: mask, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		for j, r := range rows {
			if sub[i*len(rows)+j] != full[i*ts.arch.Vocab+int(r)] {
				t.Fatalf("restricted logit (%d, row %d) differs from the full one", i, r)
			}
		}
	}
}

func TestNewModelAndForwardErrors(t *testing.T) {
	arch := smallArch(61)
	src := randomTensors(arch, 1)
	_, err := NewModel(arch, func(name string) ([]float32, error) {
		w, _ := src(name)
		if name == model.LayerTensor(1, "wv") {
			return w[:len(w)-1], nil
		}
		return w, nil
	})
	if err == nil || !strings.Contains(err.Error(), "layers.1.wv") {
		t.Fatalf("a short tensor must be rejected by name, got %v", err)
	}
	bad := arch
	bad.Heads = 3
	if _, err := NewModel(bad, src); err == nil {
		t.Fatal("an invalid architecture must be rejected")
	}
	m := newRandomModel(t, arch, 1)
	mask := seq.CausalMask(4)
	for _, c := range []struct {
		name string
		ids  []int32
		pos  []int32
		opt  ForwardOptions
	}{
		{"id too large", []int32{1, 61}, []int32{0, 1}, ForwardOptions{Mask: mask}},
		{"no mask", []int32{1}, []int32{0}, ForwardOptions{}},
		{"position beyond mask", []int32{1}, []int32{4}, ForwardOptions{Mask: mask}},
		{"lengths", []int32{1, 2}, []int32{0}, ForwardOptions{Mask: mask}},
		{"append without cache", []int32{1}, []int32{0}, ForwardOptions{Mask: mask, Append: true}},
		{"foreign cache", []int32{1}, []int32{0}, ForwardOptions{Mask: mask, Cache: NewKVCache(smallArch(62))}},
		{"bad rows", []int32{1}, []int32{0}, ForwardOptions{Mask: mask, Rows: []int32{61}}},
	} {
		if _, err := m.Forward(c.ids, c.pos, c.opt); err == nil {
			t.Errorf("%s: want an error", c.name)
		}
	}
}
