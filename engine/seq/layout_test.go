package seq

import (
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

func calvinDecoding() *model.Decoding {
	return &model.Decoding{Steps: 72, ActionLen: 70, Mask: model.MaskPaper,
		Cameras: []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}}
}

func randomCodes(rng *rand.Rand, v *model.Vocab, cams []model.Camera) [][]int32 {
	codes := make([][]int32, len(cams))
	for c, cam := range cams {
		for i := 0; i < cam.H*cam.W; i++ {
			codes[c] = append(codes[c], rng.Int31n(v.CodebookSize))
		}
	}
	return codes
}

func randomText(rng *rand.Rand, v *model.Vocab, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = rng.Int31n(v.TextSize)
	}
	return out
}

func TestCalvinLayoutCounts(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	v, d := model.Emu3Vocab(1024), calvinDecoding()
	instr := randomText(rng, v, 19)
	codes := randomCodes(rng, v, d.Cameras)
	l, err := Build(v, d, instr, codes)
	if err != nil {
		t.Fatal(err)
	}
	if l.N() != 817 {
		t.Fatalf("N = %d, spec says 817", l.N())
	}
	if a, b := l.PrefixImages[0].Len(), l.PrefixImages[1].Len(); a != 636 || b != 111 {
		t.Fatalf("prefix image blocks %d + %d tokens, spec says 636 + 111", a, b)
	}
	if l.P() != 1+19+636+111 || l.TextLen != 20 {
		t.Fatalf("P = %d, text %d", l.P(), l.TextLen)
	}
	// The image block of the main camera, token by token.
	b := l.PrefixImages[0]
	want := append([]int32{v.BOI}, v.HeaderTokens(25, 25)...)
	want = append(want, v.IMG)
	for _, c := range codes[0] {
		want = append(want, v.VisualOffset+c)
	}
	want = append(want, v.EOF, v.EOI)
	got := l.Prefix[b.Start : b.End+1]
	if len(got) != len(want) {
		t.Fatalf("main block has %d tokens, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("main block token %d = %d, want %d", i, got[i], want[i])
		}
	}
	if l.Prefix[b.Visual] != v.VisualOffset+codes[0][0] || l.Prefix[b.Visual-1] != v.IMG {
		t.Fatal("Visual offset of the main block is wrong")
	}
	// Region: known BOI/EOI/BOA only, MASK elsewhere; last 70 positions are action space.
	known := 0
	for j, tok := range l.Region {
		if l.Known[j] {
			known++
			if tok != v.BOI && tok != v.EOI && tok != v.BOA {
				t.Fatalf("known region token %d is %d", j, tok)
			}
		} else if tok != v.Mask {
			t.Fatalf("unknown region token %d is %d, not MASK", j, tok)
		}
		wantSpace := SpaceImage
		if j >= l.N()-70 {
			wantSpace = SpaceAction
		}
		if l.Space[j] != wantSpace {
			t.Fatalf("space of region position %d is %d, want %d", j, l.Space[j], wantSpace)
		}
	}
	if known != 5 || l.BOA != 747 || l.Region[747] != v.BOA {
		t.Fatalf("known %d, BOA at %d", known, l.BOA)
	}
	fb := l.FutureImages[1]
	if fb.Start != 636 || fb.End != 746 || fb.Visual != 636+1+7+1 || l.Region[fb.Start] != v.BOI {
		t.Fatalf("wrist future block %+v", fb)
	}
	// Decoding spaces: exactly the release's sets.
	img := l.AllowedIDs(SpaceImage)
	if len(img) != 32768+2+5 || !sort.SliceIsSorted(img, func(i, j int) bool { return img[i] < img[j] }) {
		t.Fatalf("image space has %d ids", len(img))
	}
	for _, id := range []int32{9, 15, 16, 17, 20, v.IMG, v.EOF, v.VisualOffset, v.VisualOffset + 32767} {
		if !contains(img, id) {
			t.Fatalf("image space lacks %d", id)
		}
	}
	for _, id := range []int32{18, v.BOI, v.EOI, v.Mask, v.EOA, v.FastBase} {
		if contains(img, id) {
			t.Fatalf("image space holds %d", id)
		}
	}
	act := l.AllowedIDs(SpaceAction)
	if len(act) != 1025 || act[len(act)-1] != v.EOA || act[0] != v.FastBase-1023 || act[1023] != v.FastBase {
		t.Fatalf("action space: %d ids, first %d, last %d", len(act), act[0], act[len(act)-1])
	}
}

func contains(ids []int32, id int32) bool {
	i := sort.Search(len(ids), func(i int) bool { return ids[i] >= id })
	return i < len(ids) && ids[i] == id
}

func TestScaledLayoutHeaderFallback(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	v, _ := model.ScaledVocab(300, 37, 29)
	d := &model.Decoding{Steps: 6, ActionLen: 9, Cameras: []model.Camera{{Name: "a", H: 3, W: 5}, {Name: "b", H: 2, W: 2}}}
	l, err := Build(v, d, randomText(rng, v, 4), randomCodes(rng, v, d.Cameras))
	if err != nil {
		t.Fatal(err)
	}
	// The scaled layout carries no header ids: the ones "1*3*5" and "1*2*2" spell are used.
	want := v.HeaderIDSet(d.Cameras)
	img := l.AllowedIDs(SpaceImage)
	if len(img) != 37+2+len(want) {
		t.Fatalf("image space has %d ids, want %d", len(img), 37+2+len(want))
	}
	for _, id := range want {
		if !contains(img, id) {
			t.Fatalf("image space lacks header id %d", id)
		}
	}
	if n := l.N(); n != (1+5+1+15+2)+(1+5+1+4+2)+9 {
		t.Fatalf("N = %d", n)
	}
	if len(l.AllowedIDs(SpaceAction)) != 30 {
		t.Fatalf("action space has %d ids", len(l.AllowedIDs(SpaceAction)))
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	v, _ := model.ScaledVocab(300, 37, 29)
	d := &model.Decoding{Steps: 6, ActionLen: 9, Cameras: []model.Camera{{Name: "a", H: 3, W: 5}, {Name: "b", H: 2, W: 2}}}
	good := randomCodes(rng, v, d.Cameras)
	instr := randomText(rng, v, 4)
	bad := func(f func(c [][]int32) [][]int32) [][]int32 {
		c := [][]int32{append([]int32(nil), good[0]...), append([]int32(nil), good[1]...)}
		return f(c)
	}
	dupVocab := *v
	dupVocab.EOA = dupVocab.BOA
	cases := []struct {
		name  string
		v     *model.Vocab
		d     *model.Decoding
		instr []int32
		codes [][]int32
		want  string
	}{
		{"nil vocab", nil, d, instr, good, "no vocabulary"},
		{"nil decoding", v, nil, instr, good, "no decoding"},
		{"duplicate specials", &dupVocab, d, instr, good, "both"},
		{"text id too large", v, d, []int32{1, v.TextSize}, good, "not a text id"},
		{"negative text id", v, d, []int32{-1}, good, "not a text id"},
		{"special in instruction", v, d, []int32{v.BOI}, good, "not a text id"},
		{"camera count", v, d, instr, good[:1], "cameras"},
		{"grid size", v, d, instr, bad(func(c [][]int32) [][]int32 { c[1] = c[1][:3]; return c }), "needs 4"},
		{"code too large", v, d, instr, bad(func(c [][]int32) [][]int32 { c[0][7] = 37; return c }), "outside the codebook"},
		{"negative code", v, d, instr, bad(func(c [][]int32) [][]int32 { c[1][0] = -2; return c }), "outside the codebook"},
		{"short actions", v, &model.Decoding{ActionLen: 1, Cameras: d.Cameras}, instr, good, "action length"},
		{"no camera", v, &model.Decoding{ActionLen: 4}, instr, nil, "no camera"},
		{"bad grid", v, &model.Decoding{ActionLen: 4, Cameras: []model.Camera{{Name: "z", H: 0, W: 3}}}, instr, [][]int32{nil}, "grid"},
	}
	for _, c := range cases {
		_, err := Build(c.v, c.d, c.instr, c.codes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
