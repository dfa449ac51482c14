package textok

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// testMerges are the multi-byte tokens of the small test vocabulary, in rank order after the 256
// single bytes. They include merges the pre-tokenizer must keep from applying: digit pairs and
// tokens spanning a letter and a digit.
var testMerges = []string{
	"th", "he", "the", " t", " the", "in", "ing", " a", "er", "an", "and", " and", "12", "00",
	"a1", "  ", "\n\n", " \n", "ll", "'ll", "re", "'re", "o", "é", "\xc3", "ca", "caf", "café",
	"中文", "文", " 中", "ck", "pi", "pick", " pick", "up", " up", "ed", " red", "bl", "ock", " block",
}

// testVocab writes a tiktoken file: every byte at ranks 0..255, then testMerges (skipping any
// already present), in a random line order so that parsing cannot depend on it.
func testVocab(rng *rand.Rand) (string, map[string]int32) {
	ranks := map[string]int32{}
	var lines []string
	add := func(s string) {
		if _, ok := ranks[s]; ok {
			return
		}
		ranks[s] = int32(len(ranks))
		lines = append(lines, fmt.Sprintf("%s %d", base64.StdEncoding.EncodeToString([]byte(s)), ranks[s]))
	}
	for b := 0; b < 256; b++ {
		add(string([]byte{byte(b)}))
	}
	for _, m := range testMerges {
		add(m)
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return strings.Join(lines, "\n") + "\n", ranks
}

var testSpecials = map[string]int32{
	"<|endoftext|>": 1000, "<|extra_0|>": 1001, "<|extra_01|>": 1002, "<|image token|>": 1003,
}

func newTestTokenizer(t testing.TB, rng *rand.Rand) (*Tokenizer, map[string]int32) {
	t.Helper()
	src, ranks := testVocab(rng)
	tok, err := Load(strings.NewReader(src), testSpecials)
	if err != nil {
		t.Fatal(err)
	}
	return tok, ranks
}

// randomText mixes ASCII letters, digits (ASCII and others), punctuation, apostrophes, spaces,
// tabs, newlines, accented and combining characters, CJK and emoji.
func randomText(rng *rand.Rand, n int) string {
	alphabets := []string{
		"abcdefghijklmnopqrstuvwxyzABCXYZ", "0123456789", "٠١٢٣४५", " ", "  \t", "\n\r",
		".,;:!?-()[]{}\"/", "'", "éèüßÅøſ", "\u0301\u0308", "中文字機器人", "😀🤖👍", "\u00a0\u2003\u3000",
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		a := []rune(alphabets[rng.IntN(len(alphabets))])
		sb.WriteRune(a[rng.IntN(len(a))])
	}
	return sb.String()
}

func TestRoundTripArbitraryText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tok, _ := newTestTokenizer(t, rng)
	for i := 0; i < 500; i++ {
		s := randomText(rng, 1+rng.IntN(97))
		ids := tok.Encode(s)
		got, err := tok.DecodeString(ids)
		if err != nil {
			t.Fatal(err)
		}
		if want := norm.NFC.String(s); got != want {
			t.Fatalf("round trip of %q: got %q (ids %v)", s, got, ids)
		}
	}
}

func TestRoundTripRandomRunes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tok, _ := newTestTokenizer(t, rng)
	for i := 0; i < 300; i++ {
		var sb strings.Builder
		for n := 1 + rng.IntN(40); n > 0; n-- {
			r := rune(rng.IntN(0x110000))
			if r >= 0xD800 && r <= 0xDFFF {
				r = 'x'
			}
			sb.WriteRune(r)
		}
		s := sb.String()
		got, err := tok.DecodeString(tok.EncodeOrdinary(s))
		if err != nil {
			t.Fatal(err)
		}
		if want := norm.NFC.String(s); got != want {
			t.Fatalf("round trip of %q: got %q", s, got)
		}
	}
}

func TestNFCApplied(t *testing.T) {
	tok, ranks := newTestTokenizer(t, rand.New(rand.NewPCG(5, 6)))
	decomposed := "cafe\u0301" // NFD of "café"
	ids := tok.Encode(decomposed)
	if len(ids) != 1 || ids[0] != ranks["café"] {
		t.Fatalf("Encode(%q) = %v, want the single composed token %d", decomposed, ids, ranks["café"])
	}
}

// pieces returns the pre-tokenizer pieces of s.
func pieces(tok *Tokenizer, s string) []string {
	var out []string
	tok.split.split(s, func(p string) { out = append(out, p) })
	return out
}

func TestDigitsSplitOnePerToken(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tok, _ := newTestTokenizer(t, rng)
	digits := []rune("0123456789٣४")
	for i := 0; i < 200; i++ {
		var sb strings.Builder
		var want []string
		prefix := []string{"", "a", " ", "x-", "\n"}[rng.IntN(5)]
		sb.WriteString(prefix)
		n := 1 + rng.IntN(12)
		for k := 0; k < n; k++ {
			d := string(digits[rng.IntN(len(digits))])
			sb.WriteString(d)
			want = append(want, d)
		}
		s := sb.String()
		ps := pieces(tok, s)
		if got := ps[len(ps)-n:]; !slices.Equal(got, want) {
			t.Fatalf("pieces of %q = %q, want the digits %q alone at the end", s, ps, want)
		}
		// Each digit is its own token (or tokens, for a multi-byte digit without a token of its
		// own): every digit's first and last byte lie on token boundaries.
		boundary := map[int]bool{0: true}
		off := 0
		for _, id := range tok.Encode(s) {
			b, _ := tok.Decode([]int32{id})
			off += len(b)
			boundary[off] = true
		}
		count := 0
		for i, r := range s {
			if unicode.IsDigit(r) {
				count++
				if !boundary[i] || !boundary[i+utf8.RuneLen(r)] {
					t.Fatalf("%q: digit %q at byte %d shares a token with its neighbours", s, r, i)
				}
			}
		}
		if count != n {
			t.Fatalf("%q: %d digits, want %d", s, count, n)
		}
		// ASCII digits are single-byte tokens: exactly one token each.
		if prefix == "" && !strings.ContainsAny(s, "٣४") && len(tok.Encode(s)) != n {
			t.Fatalf("%q: %d tokens for %d ASCII digits", s, len(tok.Encode(s)), n)
		}
	}
}

func TestPreTokenizerCases(t *testing.T) {
	tok, _ := newTestTokenizer(t, rand.New(rand.NewPCG(9, 10)))
	cases := []struct {
		in   string
		want []string
	}{
		// Contractions in any case, including U+017F (long s), which case-folds to s.
		{"I'M here, they'RE we'll it's", []string{"I", "'M", " here", ",", " they", "'RE", " we", "'ll", " it", "'s"}},
		{"x'ſt 'LL 'Ve", []string{"x", "'ſ", "t", " '", "LL", " '", "Ve"}},
		// \s+(?!\S): a run of spaces before a word leaves its last space to the word.
		{"a   b", []string{"a", "  ", " b"}},
		{"end   ", []string{"end", "   "}},
		{"a \t b", []string{"a", " \t", " b"}},
		// Newlines gather the whitespace before them; punctuation takes trailing newlines.
		{"a  \n\n  b", []string{"a", "  \n\n", " ", " b"}},
		{"ok!?\n\nnext", []string{"ok", "!?\n\n", "next"}},
		// A letter run takes one leading non-letter, non-digit, non-newline character.
		{"(abc)-def", []string{"(abc", ")-", "def"}},
		{"\"pick up\"", []string{"\"pick", " up", "\""}},
		{"中文 robot🤖arm", []string{"中文", " robot", "🤖arm"}},
		{"x\u00a0\u00a0y", []string{"x", "\u00a0", "\u00a0y"}},
	}
	for _, c := range cases {
		if got := pieces(tok, c.in); !slices.Equal(got, c.want) {
			t.Errorf("pieces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The spec's regex run verbatim by regexp2 must split exactly like QwenPattern on text without
// U+017F: the rewrite of the (?i:...) group changes nothing else.
func TestPatternMatchesSpecRegex(t *testing.T) {
	spec, err := newSplitter(`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	tok, _ := newTestTokenizer(t, rng)
	for i := 0; i < 400; i++ {
		s := strings.ReplaceAll(randomText(rng, 1+rng.IntN(60)), "ſ", "s")
		if rng.IntN(3) == 0 {
			s = strings.ReplaceAll(s, " ", "'")
		}
		var want []string
		spec.split(s, func(p string) { want = append(want, p) })
		if got := pieces(tok, s); !slices.Equal(got, want) {
			t.Fatalf("pieces(%q) = %q, spec regex gives %q", s, got, want)
		}
		if strings.Join(want, "") != s {
			t.Fatalf("pieces of %q do not cover it: %q", s, want)
		}
	}
	if _, err := regexp2.Compile(QwenPattern, regexp2.None); err != nil {
		t.Fatal(err)
	}
}

// naiveBPE merges by the definition: while some adjacent pair's concatenation is a token, merge
// the one with the lowest rank (the leftmost on ties).
func naiveBPE(ranks map[string]int32, piece string) []int32 {
	if r, ok := ranks[piece]; ok {
		return []int32{r}
	}
	var parts []string
	for i := 0; i < len(piece); i++ {
		parts = append(parts, piece[i:i+1])
	}
	for {
		best, at := int32(-1), -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := ranks[parts[i]+parts[i+1]]; ok && (at < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		parts = append(parts[:at], append([]string{parts[at] + parts[at+1]}, parts[at+2:]...)...)
	}
	out := make([]int32, len(parts))
	for i, p := range parts {
		out[i] = ranks[p]
	}
	return out
}

func TestBytePairEncodeMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	tok, ranks := newTestTokenizer(t, rng)
	for i := 0; i < 2000; i++ {
		// Pieces built from token fragments so that many merges apply.
		var sb strings.Builder
		for n := 1 + rng.IntN(8); n > 0; n-- {
			m := testMerges[rng.IntN(len(testMerges))]
			sb.WriteString(m[:1+rng.IntN(len(m))])
		}
		piece := sb.String()
		if got, want := tok.bytePairEncode(piece, nil), naiveBPE(ranks, piece); !slices.Equal(got, want) {
			t.Fatalf("bytePairEncode(%q) = %v, want %v", piece, got, want)
		}
	}
	// Merges follow rank, not position: "the" beats " t" in " the" only through the " the" token.
	if got := tok.Encode(" thee"); !slices.Equal(got, []int32{ranks[" the"], ranks["e"]}) {
		t.Errorf("Encode(\" thee\") = %v", got)
	}
}

func TestSpecialTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	tok, ranks := newTestTokenizer(t, rng)
	ids := tok.Encode("pick<|endoftext|><|extra_01|>up<|extra_0|><|extra_2|>")
	want := []int32{ranks["pick"], 1000, 1002, ranks["up"], 1001}
	if !slices.Equal(ids[:5], want) {
		t.Fatalf("specials: got %v, want prefix %v", ids, want)
	}
	// "<|extra_2|>" is no special here: it stays text.
	if rest, _ := tok.DecodeString(ids[5:]); rest != "<|extra_2|>" {
		t.Fatalf("unknown special-like text decoded to %q", rest)
	}
	if s, err := tok.DecodeString(ids); err != nil || s != "pick<|endoftext|><|extra_01|>up<|extra_0|><|extra_2|>" {
		t.Fatalf("decode with specials: %q, %v", s, err)
	}
	for _, id := range tok.EncodeOrdinary("<|endoftext|>") {
		if id >= 1000 {
			t.Fatalf("EncodeOrdinary produced special id %d", id)
		}
	}
	// Random texts with specials spliced in: each special yields its id, the text in between
	// encodes as it would alone.
	names := []string{"<|endoftext|>", "<|extra_0|>", "<|extra_01|>", "<|image token|>"}
	for i := 0; i < 200; i++ {
		var sb strings.Builder
		var want []int32
		for k := rng.IntN(5); k >= 0; k-- {
			s := randomText(rng, rng.IntN(12))
			sb.WriteString(s)
			want = append(want, tok.EncodeOrdinary(s)...)
			name := names[rng.IntN(len(names))]
			sb.WriteString(name)
			want = append(want, testSpecials[name])
		}
		if got := tok.Encode(sb.String()); !slices.Equal(got, want) {
			t.Fatalf("Encode(%q) = %v, want %v", sb.String(), got, want)
		}
	}
	if id, ok := tok.Special("<|image token|>"); !ok || id != 1003 {
		t.Fatalf("Special lookup: %d %v", id, ok)
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tok, _ := newTestTokenizer(t, rand.New(rand.NewPCG(17, 18)))
	for _, id := range []int32{-1, int32(tok.NumRanks()), 999, 5000} {
		if _, err := tok.Decode([]int32{5, id}); err == nil {
			t.Errorf("Decode accepted unknown id %d", id)
		}
	}
	// A token that ends inside a character decodes to U+FFFD, as the reference's errors="replace".
	b, _ := tok.Decode([]int32{0xC3})
	if !bytes.Equal(b, []byte{0xC3}) {
		t.Fatalf("Decode of byte token: % x", b)
	}
	if s, _ := tok.DecodeString([]int32{0xC3, 'a'}); s != "\uFFFDa" {
		t.Fatalf("DecodeString of a partial character: %q", s)
	}
}

func TestLoadErrors(t *testing.T) {
	src, _ := testVocab(rand.New(rand.NewPCG(19, 20)))
	bad := map[string]string{
		"bad base64":     src + "!!!! 900\n",
		"bad rank":       src + "YWJj x\n",
		"negative rank":  src + "YWJj -3\n",
		"three fields":   src + "YWJj 900 1\n",
		"duplicate tok":  src + base64.StdEncoding.EncodeToString([]byte("the")) + " 901\n",
		"duplicate rank": src + "YWJjZA== 256\n",
		"missing byte":   strings.Replace(src, base64.StdEncoding.EncodeToString([]byte{0x41})+" 65\n", "", 1),
	}
	for name, s := range bad {
		if _, err := Load(strings.NewReader(s), nil); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
	for name, sp := range map[string]map[string]int32{
		"collides with rank": {"<|x|>": 3},
		"shared id":          {"<|x|>": 2000, "<|y|>": 2000},
		"empty":              {"": 2000},
		"negative":           {"<|x|>": -1},
	} {
		if _, err := Load(strings.NewReader(src), sp); err == nil {
			t.Errorf("specials %s: Load accepted them", name)
		}
	}
	if _, err := Load(strings.NewReader(src), testSpecials); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkEncodeInstruction(b *testing.B) {
	tok, _ := newTestTokenizer(b, rand.New(rand.NewPCG(21, 22)))
	instr := "Pick up the red block from the table and place it in the sliding drawer, then push the " +
		"drawer closed; afterwards turn on the LED (the 2nd switch) and move the slider to the left — " +
		"don't knock over the pink block!"
	instr = instr[:200]
	b.SetBytes(int64(len(instr)))
	for b.Loop() {
		tok.Encode(instr)
	}
}
