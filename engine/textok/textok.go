// Package textok is the Qwen/Emu3 text tokenizer (spec §8): ranked byte-level BPE over a
// tiktoken vocabulary, NFC normalisation (as Python's, see NFC), the Qwen pre-tokenizer regex and
// special-token strings.
// It adds no BOS: the engine builds sequences itself (spec §3).
package textok

import (
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// Tokenizer encodes text to token ids and back. It is safe for concurrent use.
type Tokenizer struct {
	ranks    map[string]int32 // byte string -> rank (= token id)
	byRank   [][]byte         // rank -> byte string, nil where no token has that rank
	specials map[string]int32
	special  map[int32]string // id -> special string
	// lengthsByFirst lists, for each first byte, the distinct lengths of the specials that start
	// with it, longest first, so that at one position the longest special wins.
	lengthsByFirst [256][]int
	split          *splitter
}

// Load reads a tiktoken vocabulary ("base64(bytes) rank" lines; the rank is the token id and the
// merge priority) and the special tokens, which the text may contain literally and which encode to
// the given ids. Special ids must not collide with ranks or with each other.
func Load(r io.Reader, specials map[string]int32) (*Tokenizer, error) {
	ranks, byRank, err := readRanks(r)
	if err != nil {
		return nil, err
	}
	sp, err := newSplitter(QwenPattern)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{ranks: ranks, byRank: byRank, specials: map[string]int32{}, special: map[int32]string{}, split: sp}
	for s, id := range specials {
		switch {
		case s == "":
			return nil, fmt.Errorf("textok: empty special token string (id %d)", id)
		case !utf8.ValidString(s):
			return nil, fmt.Errorf("textok: special token %q is not valid UTF-8", s)
		case id < 0:
			return nil, fmt.Errorf("textok: special token %q has negative id %d", s, id)
		case int(id) < len(byRank) && byRank[id] != nil:
			return nil, fmt.Errorf("textok: special token %q id %d is also the rank of %q", s, id, byRank[id])
		}
		if prev, dup := t.special[id]; dup {
			return nil, fmt.Errorf("textok: special tokens %q and %q share id %d", prev, s, id)
		}
		t.specials[s] = id
		t.special[id] = s
		if !slices.Contains(t.lengthsByFirst[s[0]], len(s)) {
			t.lengthsByFirst[s[0]] = append(t.lengthsByFirst[s[0]], len(s))
		}
	}
	for i := range t.lengthsByFirst {
		slices.Sort(t.lengthsByFirst[i])
		slices.Reverse(t.lengthsByFirst[i])
	}
	return t, nil
}

// NumRanks is one past the highest rank of the vocabulary.
func (t *Tokenizer) NumRanks() int { return len(t.byRank) }

// Special returns the id of a special token string.
func (t *Tokenizer) Special(s string) (int32, bool) {
	id, ok := t.specials[s]
	return id, ok
}

// Encode tokenizes text: NFC normalisation, then the text is cut at special-token strings
// (leftmost first, the longest at one position), which become their ids; the text between them
// is split by the pre-tokenizer regex and each piece is byte-pair encoded. Invalid UTF-8 in text
// is first replaced as LossyString does, since the reference works on Unicode strings.
func (t *Tokenizer) Encode(text string) []int32 {
	if !utf8.ValidString(text) {
		text = LossyString([]byte(text))
	}
	text = NFC(text)
	out := make([]int32, 0, len(text)/3+1)
	for len(text) > 0 {
		at, s := t.nextSpecial(text)
		if at < 0 {
			return t.encodeOrdinary(text, out)
		}
		out = t.encodeOrdinary(text[:at], out)
		out = append(out, t.specials[s])
		text = text[at+len(s):]
	}
	return out
}

// EncodeOrdinary is Encode without special-token recognition: special strings are plain text.
func (t *Tokenizer) EncodeOrdinary(text string) []int32 {
	if !utf8.ValidString(text) {
		text = LossyString([]byte(text))
	}
	return t.encodeOrdinary(NFC(text), nil)
}

func (t *Tokenizer) encodeOrdinary(text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	t.split.split(text, func(piece string) { out = t.bytePairEncode(piece, out) })
	return out
}

// nextSpecial finds the leftmost special string in text (the longest one at that position). It
// looks only at positions whose byte starts some special, and there only at the lengths specials
// starting with that byte have, so a vocabulary with tens of thousands of specials (Emu3 has one
// per visual code) costs a few map look-ups per candidate position.
func (t *Tokenizer) nextSpecial(text string) (int, string) {
	if len(t.specials) == 0 {
		return -1, ""
	}
	for i := 0; i < len(text); i++ {
		for _, n := range t.lengthsByFirst[text[i]] {
			if i+n <= len(text) {
				if _, ok := t.specials[text[i:i+n]]; ok {
					return i, text[i : i+n]
				}
			}
		}
	}
	return -1, ""
}

// Decode returns the bytes of ids: each rank's byte string, each special id's string. An id that
// is neither is an error (the reference raises on it too).
func (t *Tokenizer) Decode(ids []int32) ([]byte, error) {
	out := make([]byte, 0, 4*len(ids))
	for i, id := range ids {
		if id >= 0 && int(id) < len(t.byRank) && t.byRank[id] != nil {
			out = append(out, t.byRank[id]...)
			continue
		}
		if s, ok := t.special[id]; ok {
			out = append(out, s...)
			continue
		}
		return nil, fmt.Errorf("textok: id %d at position %d is not in the vocabulary", id, i)
	}
	return out, nil
}

// DecodeString is Decode followed by LossyString, which is how the reference turns bytes that
// end inside a character into text (errors="replace").
func (t *Tokenizer) DecodeString(ids []int32) (string, error) {
	b, err := t.Decode(ids)
	if err != nil {
		return "", err
	}
	return LossyString(b), nil
}
