package seq

import (
	"math/rand"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

func calvinLayout(t *testing.T) *Layout {
	t.Helper()
	rng := rand.New(rand.NewSource(21))
	v, d := model.Emu3Vocab(1024), calvinDecoding()
	l, err := Build(v, d, randomText(rng, v, 13), randomCodes(rng, v, d.Cameras))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// releaseMaskLiteral transcribes the release code's build_blockwise_attn_mask array by array
// (cumsums, block_start = is_image != previous, key_block <= query_block, text rows causal, PAD
// columns off) into a dense matrix, independently of ReleaseMask.
func releaseMaskLiteral(ids []int32, v *model.Vocab) [][]bool {
	n := len(ids)
	isBoi, isEoi, isPad := make([]int, n), make([]int, n), make([]bool, n)
	for i, id := range ids {
		if id == v.BOI || id == v.BOA {
			isBoi[i] = 1
		}
		if id == v.EOI || id == v.EOA {
			isEoi[i] = 1
		}
		isPad[i] = id == v.Pad
	}
	startsCum, endsCum := make([]int, n), make([]int, n)
	for i := range ids {
		startsCum[i], endsCum[i] = isBoi[i], isEoi[i]
		if i > 0 {
			startsCum[i] += startsCum[i-1]
			endsCum[i] += endsCum[i-1]
		}
	}
	isImage := make([]bool, n)
	for i := range ids {
		level := startsCum[i] - endsCum[i]
		if level < 0 {
			level = 0
		}
		isImage[i] = level > 0 || isBoi[i] == 1 || isEoi[i] == 1
	}
	blockID := make([]int, n)
	for i := range ids {
		prev := false
		if i > 0 {
			prev = isImage[i-1]
		}
		b := 0
		if isImage[i] != prev {
			b = 1
		}
		blockID[i] = b
		if i > 0 {
			blockID[i] += blockID[i-1]
		}
	}
	out := make([][]bool, n)
	for q := range ids {
		out[q] = make([]bool, n)
		for k := range ids {
			a := blockID[k] <= blockID[q]
			a = a && (isImage[q] || k <= q)
			out[q][k] = a && !isPad[k]
		}
	}
	return out
}

func TestReleaseMaskMatchesLiteralTranscription(t *testing.T) {
	v := model.Emu3Vocab(1024)
	rng := rand.New(rand.NewSource(7))
	pool := []int32{v.BOI, v.EOI, v.BOA, v.EOA, v.Pad, v.Mask, v.IMG, v.EOF, 17, 3000, v.VisualOffset + 5}
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.Intn(57)
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = pool[rng.Intn(len(pool))]
		}
		m, want := ReleaseMask(ids, v), releaseMaskLiteral(ids, v)
		for q := 0; q < n; q++ {
			for k := 0; k < n; k++ {
				if m.Allowed(q, k) != want[q][k] {
					t.Fatalf("trial %d ids %v: Allowed(%d,%d) = %v, release code gives %v",
						trial, ids, q, k, m.Allowed(q, k), want[q][k])
				}
			}
		}
	}
}

func TestReleaseMaskOnCalvin(t *testing.T) {
	l := calvinLayout(t)
	v := l.Vocab
	p := l.P()
	region := append([]int32(nil), l.Region...)
	m := ReleaseMask(l.Sequence(region), v)
	// One bidirectional block from the first prefix BOI to the end of the region.
	first := l.PrefixImages[0].Start
	for i := first; i < p+l.N(); i++ {
		if m.Block[i] != m.Block[first] || !m.Bidir[i] {
			t.Fatalf("position %d: block %d bidir %v, want block %d bidirectional", i, m.Block[i], m.Bidir[i], m.Block[first])
		}
	}
	for i := 0; i < first; i++ {
		if m.Block[i] != 0 || m.Bidir[i] {
			t.Fatalf("text position %d: block %d bidir %v", i, m.Block[i], m.Bidir[i])
		}
	}
	// Current images see future images and actions: the release prefix is not cacheable.
	if !m.Allowed(first+3, p+l.N()-1) || !m.Allowed(p+l.BOA+5, first) {
		t.Fatal("release mask must let current images and actions see each other")
	}
	// A predicted EOA closes the block: the slots after it form a causal block.
	e := l.BOA + 11
	region[e] = v.EOA
	m = ReleaseMask(l.Sequence(region), v)
	if m.Block[p+e] != m.Block[first] || !m.Bidir[p+e] {
		t.Fatal("EOA belongs to the image/action block")
	}
	after := p + e + 1
	for i := after; i < p+l.N(); i++ {
		if m.Block[i] != m.Block[first]+1 || m.Bidir[i] {
			t.Fatalf("slot %d after EOA: block %d bidir %v, want a causal block %d", i, m.Block[i], m.Bidir[i], m.Block[first]+1)
		}
	}
	if m.Allowed(after, after+1) || !m.Allowed(after+1, after) || !m.Allowed(after, p+3) || m.Allowed(p+3, after) {
		t.Fatal("slots after EOA must be causal among themselves, see the block before and be unseen by it")
	}
}

func TestPaperMaskOnCalvin(t *testing.T) {
	l := calvinLayout(t)
	p, n := l.P(), l.N()
	m := PaperMask(l)
	if m.Len() != p+n {
		t.Fatalf("mask covers %d positions", m.Len())
	}
	isAction := func(i int) bool { return i >= p+l.BOA }
	for q := 0; q < p+n; q += 7 { // a stride keeps the 1564^2 check fast
		for k := 0; k < p+n; k++ {
			if !isAction(q) && isAction(k) && m.Allowed(q, k) {
				t.Fatalf("vision/text position %d sees action position %d", q, k)
			}
		}
	}
	// Text is causal, images bidirectional within their block, blocks causal between each other.
	if m.Allowed(2, 3) || !m.Allowed(3, 2) {
		t.Fatal("text must be causal")
	}
	cur := l.PrefixImages[0].Start
	if !m.Allowed(cur, p-1) || !m.Allowed(p-1, cur) || !m.Allowed(cur, 0) {
		t.Fatal("current images form one bidirectional block after the text")
	}
	if m.Allowed(p-1, p) || !m.Allowed(p, p-1) || !m.Allowed(p, p+l.BOA-1) {
		t.Fatal("future images: bidirectional, after the current images")
	}
	if !m.Allowed(p+l.BOA, p+n-1) || !m.Allowed(p+n-1, p+l.BOA) || !m.Allowed(p+n-1, 0) {
		t.Fatal("actions: bidirectional, see everything before")
	}
}

func TestCausalMask(t *testing.T) {
	m := CausalMask(37)
	for q := 0; q < 37; q++ {
		for k := 0; k < 37; k++ {
			if m.Allowed(q, k) != (k <= q) {
				t.Fatalf("causal Allowed(%d,%d) = %v", q, k, m.Allowed(q, k))
			}
		}
	}
}

func TestForRule(t *testing.T) {
	l := calvinLayout(t)
	for _, r := range []model.MaskRule{model.MaskPaper, model.MaskRelease, model.MaskCausal} {
		m, err := ForRule(r, l, l.Region)
		if err != nil || m.Len() != l.P()+l.N() {
			t.Fatalf("%v: %v", r, err)
		}
	}
	if _, err := ForRule(model.MaskRelease, l, l.Region[1:]); err == nil {
		t.Fatal("a short region must be rejected")
	}
	if _, err := ForRule(model.MaskRule(9), l, l.Region); err == nil {
		t.Fatal("an unknown rule must be rejected")
	}
	// release-kv masks as release does (its difference is the cached prefix)
	rel, _ := ForRule(model.MaskRelease, l, l.Region)
	kv, err := ForRule(model.MaskReleaseKV, l, l.Region)
	if err != nil || !reflect.DeepEqual(kv, rel) {
		t.Fatalf("release-kv: %v, or a mask other than release's", err)
	}
}

// Closed agrees with the definition, checked pair by pair, at every position of the paper,
// release and causal masks of a control step (with an EOA in the region for the release rule).
func TestClosedMatchesDefinition(t *testing.T) {
	l := calvinLayout(t)
	region := append([]int32(nil), l.Region...)
	region[l.BOA+5] = l.Vocab.EOA
	n := l.P() + l.N()
	for name, m := range map[string]*Mask{"paper": PaperMask(l), "release": ReleaseMask(l.Sequence(region), l.Vocab), "causal": CausalMask(n)} {
		closed := 0
		for c := 0; c <= n; c++ {
			want := true
			for q := 0; q < c && want; q++ {
				for k := c; k < n; k++ {
					if m.Allowed(q, k) {
						want = false
						break
					}
				}
			}
			if got := m.Closed(c); got != want {
				t.Fatalf("%s: Closed(%d) = %v, want %v", name, c, got, want)
			}
			if want {
				closed++
			}
		}
		t.Logf("%s: %d closed positions of %d", name, closed, n+1)
	}
}
