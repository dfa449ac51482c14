package fast

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/udvla/udvla/engine/textok"
)

// gpt2Bytes rebuilds the GPT-2 byte alphabet the way the original bytes_to_unicode does (a list
// of printable bytes, the rest appended from 256 upwards), independently of bytelevel.go.
func gpt2Bytes() map[rune]byte {
	var bs []int
	for b := int('!'); b <= int('~'); b++ {
		bs = append(bs, b)
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	cs := slices.Clone(bs)
	n := 0
	for b := 0; b < 256; b++ {
		if !slices.Contains(bs, b) {
			bs = append(bs, b)
			cs = append(cs, 256+n)
			n++
		}
	}
	m := map[rune]byte{}
	for i := range bs {
		m[rune(cs[i])] = byte(bs[i])
	}
	return m
}

// expectedValues decodes one token string by the reference rules, recomputed here.
func expectedValues(tok string, alphabet map[rune]byte, minToken int32, cleanUp bool) []int {
	var b []byte
	for _, c := range tok {
		x, ok := alphabet[c]
		if !ok {
			b = []byte(tok)
			break
		}
		b = append(b, x)
	}
	s := textok.LossyString(b)
	if cleanUp {
		s = cleanUpTokenization(s)
	}
	var out []int
	for _, c := range s {
		out = append(out, int(c)+int(minToken))
	}
	return out
}

func TestEveryIDOfRealVocabulariesDecodes(t *testing.T) {
	alphabet := gpt2Bytes()
	for _, r := range realTokenizers {
		tok, q01, q99 := loadReal(t, r)
		vocab := realVocab(t, r.dir)
		var pc struct {
			VocabSize int `json:"vocab_size"`
		}
		raw, _ := os.ReadFile(filepath.Join(testdata, r.dir, "processor_config.json"))
		if err := json.Unmarshal(raw, &pc); err != nil {
			t.Fatal(err)
		}
		if tok.NumTokens() != pc.VocabSize || tok.VocabSize() != pc.VocabSize {
			t.Fatalf("%s: %d tokens (ids up to %d), processor says %d", r.dir, tok.NumTokens(), tok.VocabSize(), pc.VocabSize)
		}
		n := r.T * r.D
		for s, id := range vocab {
			res, err := tok.Decode([]int32{id}, q01, q99)
			if err != nil {
				t.Fatalf("%s id %d: %v", r.dir, id, err)
			}
			want := expectedValues(s, alphabet, tok.MinToken(), tok.CleanUpSpaces)
			if res.Values != len(want) || res.Values == 0 {
				t.Fatalf("%s id %d (%q): %d values, want %d", r.dir, id, s, res.Values, len(want))
			}
			for i := 0; i < n; i++ {
				got := res.Coeffs[i/r.D][i%r.D]
				w := 0
				if i < len(want) {
					w = want[i]
				}
				if got != w {
					t.Fatalf("%s id %d (%q): coefficient %d = %d, want %d", r.dir, id, s, i, got, w)
				}
			}
			if res.Complete != (len(want) == n) || res.Skipped != 0 {
				t.Fatalf("%s id %d: Complete %v Skipped %d", r.dir, id, res.Complete, res.Skipped)
			}
			for j := range res.Actions {
				for d, a := range res.Actions[j] {
					if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) {
						t.Fatalf("%s id %d: action [%d][%d] = %v", r.dir, id, j, d, a)
					}
				}
			}
		}
	}
}

func TestCleanUpFlagFollowsTokenizerConfig(t *testing.T) {
	for _, r := range realTokenizers {
		tok, _, _ := loadReal(t, r)
		raw, err := os.ReadFile(filepath.Join(testdata, r.dir, "tokenizer_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var tc struct {
			CleanUp bool `json:"clean_up_tokenization_spaces"`
		}
		if err := json.Unmarshal(raw, &tc); err != nil {
			t.Fatal(err)
		}
		if tok.CleanUpSpaces != tc.CleanUp {
			t.Errorf("%s: CleanUpSpaces %v, tokenizer_config says %v", r.dir, tok.CleanUpSpaces, tc.CleanUp)
		}
	}
}

// byteIDs returns the ids of the single-byte tokens for bs.
func byteIDs(t *testing.T, vocab map[string]int32, bs ...byte) []int32 {
	t.Helper()
	ids := make([]int32, len(bs))
	for i, b := range bs {
		id, ok := vocab[string(byteToChar[b])]
		if !ok {
			t.Fatalf("no token for byte %#x", b)
		}
		ids[i] = id
	}
	return ids
}

func TestLossyUTF8CountsMaximalSubparts(t *testing.T) {
	r := realTokenizers[0]
	tok, _, _ := loadReal(t, r)
	vocab := realVocab(t, r.dir)
	const fffd = 0xFFFD
	cases := []struct {
		name  string
		bytes []byte
		runes []rune
	}{
		{"truncated 3-byte", []byte{0xE2, 0x82}, []rune{fffd}},
		{"surrogate", []byte{0xED, 0xA0, 0x80}, []rune{fffd, fffd, fffd}},
		{"overlong", []byte{0xC0, 0x80}, []rune{fffd, fffd}},
		{"past U+10FFFF", []byte{0xF4, 0x90, 0x80, 0x80}, []rune{fffd, fffd, fffd, fffd}},
		{"truncated 4-byte then ASCII", []byte{0xF0, 0x9F, 0x98, 'A'}, []rune{fffd, 'A'}},
		{"valid 2-byte", []byte{0xC4, 0x80}, []rune{0x100}},
	}
	for _, c := range cases {
		res, err := tok.Decode(byteIDs(t, vocab, c.bytes...), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Values != len(c.runes) {
			t.Errorf("%s: %d values, want %d", c.name, res.Values, len(c.runes))
			continue
		}
		for i, want := range c.runes {
			if got := res.Coeffs[i/r.D][i%r.D]; got != int(want)+int(tok.MinToken()) {
				t.Errorf("%s: value %d = %d, want %d", c.name, i, got, int(want)+int(tok.MinToken()))
			}
		}
	}
}

func TestIDsOutsideVocabularySkipped(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range realTokenizers {
		tok, q01, q99 := loadReal(t, r)
		for trial := 0; trial < 20; trial++ {
			ids, err := tok.Encode(smoothTrajectory(rng, r.T, r.D, q01, q99), q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			clean, err := tok.Decode(ids, q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			if !clean.Complete {
				t.Fatalf("%s: a full encoding decoded incomplete (%d values)", r.dir, clean.Values)
			}
			noisy := slices.Clone(ids)
			bad := []int32{-1, int32(tok.VocabSize()), int32(tok.VocabSize()) + int32(rng.IntN(1000)), math.MinInt32, math.MaxInt32}
			for _, b := range bad {
				at := rng.IntN(len(noisy) + 1)
				noisy = slices.Insert(noisy, at, b)
			}
			got, err := tok.Decode(noisy, q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			if got.Skipped != len(bad) || got.Complete {
				t.Fatalf("%s: Skipped %d Complete %v, want %d and false", r.dir, got.Skipped, got.Complete, len(bad))
			}
			if !slices.EqualFunc(got.Coeffs, clean.Coeffs, slices.Equal) {
				t.Fatalf("%s: skipping unknown ids changed the coefficients", r.dir)
			}
		}
	}
}

func TestPadAndTruncate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := realTokenizers[0]
	tok, q01, q99 := loadReal(t, r)
	a := smoothTrajectory(rng, r.T, r.D, q01, q99)
	b := smoothTrajectory(rng, r.T, r.D, q01, q99)
	ca, _ := tok.Coefficients(a, q01, q99)
	ia, _ := tok.EncodeCoeffs(ca)
	ib, _ := tok.Encode(b, q01, q99)
	n := r.T * r.D

	// Two chunks back to back: the second is dropped.
	long, _ := tok.Decode(append(slices.Clone(ia), ib...), q01, q99)
	if long.Complete || long.Values <= n || !slices.EqualFunc(long.Coeffs, ca, slices.Equal) {
		t.Fatalf("truncation: Complete %v Values %d", long.Complete, long.Values)
	}
	// A prefix of the ids: what it decodes to, then zeros.
	for cut := 0; cut < len(ia); cut++ {
		short, _ := tok.Decode(ia[:cut], q01, q99)
		text, _ := tok.DecodeText(ia[:cut])
		if short.Complete || short.Values != utf8.RuneCountInString(text) || short.Values >= n {
			t.Fatalf("prefix %d: Complete %v Values %d", cut, short.Complete, short.Values)
		}
		for i := short.Values; i < n; i++ {
			if short.Coeffs[i/r.D][i%r.D] != 0 {
				t.Fatalf("prefix %d: padding value %d is %d", cut, i, short.Coeffs[i/r.D][i%r.D])
			}
		}
	}
}

func TestGripperSignAndZero(t *testing.T) {
	r := realTokenizers[2]
	tok, _, _ := loadReal(t, r)
	zeros := make([][]int, r.T)
	for k := range zeros {
		zeros[k] = make([]int, r.D)
	}
	ids, err := tok.EncodeCoeffs(zeros)
	if err != nil {
		t.Fatal(err)
	}
	q01, q99 := make([]float64, r.D), make([]float64, r.D)
	for d := range q01 {
		q01[d], q99[d] = -1, 1 // normalised 0 un-normalises to exactly 0
	}
	res, err := tok.Decode(ids, q01, q99)
	if err != nil || !res.Complete {
		t.Fatalf("zero chunk: %v, complete %v", err, res.Complete)
	}
	for j := range res.Actions {
		for d, a := range res.Actions[j] {
			want := float32(0)
			if d == r.D-1 {
				want = -1 // 0 is not > 0: the gripper closes
			}
			if a != want || res.Normalised[j][d] != 0 {
				t.Fatalf("zero chunk [%d][%d]: action %v normalised %v", j, d, a, res.Normalised[j][d])
			}
		}
	}
	// Shift the statistics so the same zero decodes slightly positive: the gripper opens.
	q01[r.D-1], q99[r.D-1] = -0.999, 1.001
	res, _ = tok.Decode(ids, q01, q99)
	for j := range res.Actions {
		if res.Actions[j][r.D-1] != 1 {
			t.Fatalf("step %d: gripper %v, want +1", j, res.Actions[j][r.D-1])
		}
	}
}

func TestCleanUpTokenizationSpaces(t *testing.T) {
	cases := map[string]string{
		"a . b ?c !":      "a. b?c!",
		"x , y ' z":       "x, y'z",
		"don 't I 'm":     "don 't I'm",
		"is n't it 's":    "isn't it's",
		"we 've they 're": "we've they're",
		"a ' s":           "a's",
		"  .":             " .",
	}
	for in, want := range cases {
		if got := cleanUpTokenization(in); got != want {
			t.Errorf("cleanUpTokenization(%q) = %q, want %q", in, got, want)
		}
	}
	// Through the universal tokenizer, which enables it: " ." decodes to one value, not two.
	r := realTokenizers[2]
	tok, _, _ := loadReal(t, r)
	ids, err := tok.EncodeText(" .")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tok.Decode(ids, nil, nil)
	if res.Values != 1 || res.Coeffs[0][0] != '.'+int(tok.MinToken()) {
		t.Fatalf("clean-up on: %d values, first %d", res.Values, res.Coeffs[0][0])
	}
	tok.CleanUpSpaces = false
	res, _ = tok.Decode(ids, nil, nil)
	if res.Values != 2 {
		t.Fatalf("clean-up off: %d values, want 2", res.Values)
	}
}

func TestDecodeRejectsBadStatistics(t *testing.T) {
	tok, q01, q99 := loadReal(t, realTokenizers[0])
	for name, s := range map[string][2][]float64{
		"short q01":   {q01[:3], q99},
		"q99 missing": {q01, nil},
		"NaN":         {append(slices.Clone(q01[:6]), math.NaN()), q99},
	} {
		if _, err := tok.Decode([]int32{1, 2, 3}, s[0], s[1]); err == nil {
			t.Errorf("%s: Decode accepted the statistics", name)
		}
	}
}

func BenchmarkDecodeCALVINChunk(b *testing.B) {
	tok, q01, q99 := loadReal(b, realTokenizers[0])
	ids, err := tok.Encode(smoothTrajectory(rand.New(rand.NewPCG(9, 9)), 10, 7, q01, q99), q01, q99)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tok.Decode(ids, q01, q99); err != nil {
			b.Fatal(err)
		}
	}
}
