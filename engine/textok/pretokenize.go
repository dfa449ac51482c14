package textok

import (
	"fmt"

	"github.com/dlclark/regexp2"
)

// QwenPattern is the Qwen/Emu3 pre-tokenizer regex of spec §8, written the way the reference
// (tiktoken, whose regex engine applies Unicode simple case folding under (?i)) matches it.
// regexp2 lowercases instead of folding, so "(?i:'s)" would miss "'ſ" (U+017F, which folds to
// s); the contractions are therefore spelled out with their case-fold sets. Everything else is
// the original pattern; \s is Unicode White_Space in both engines.
const QwenPattern = `'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])` +
	`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// splitter cuts text into the pieces BPE runs on. A regexp2.Regexp is safe for concurrent use.
type splitter struct{ re *regexp2.Regexp }

func newSplitter(pattern string) (*splitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("textok: pre-tokenizer pattern: %w", err)
	}
	return &splitter{re}, nil
}

// split calls fn with each match of the pattern in text, in order. Text the pattern does not
// match (the Qwen pattern matches every character, so only other patterns leave gaps) is passed
// as a piece of its own, which is what tiktoken's callers see as well: nothing is dropped.
func (s *splitter) split(text string, fn func(piece string)) {
	runes := []rune(text)
	// regexp2 reports rune offsets; byteAt converts them back so pieces are substrings of text.
	byteAt := make([]int, len(runes)+1)
	off := 0
	for i, r := range runes {
		byteAt[i] = off
		off += runeLen(r)
	}
	byteAt[len(runes)] = off
	last := 0
	m, err := s.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Index > last {
			fn(text[byteAt[last]:byteAt[m.Index]])
		}
		if m.Length > 0 {
			fn(text[byteAt[m.Index]:byteAt[m.Index+m.Length]])
		}
		last = m.Index + m.Length
		m, err = s.re.FindNextMatch(m)
	}
	if last < len(runes) {
		fn(text[byteAt[last]:])
	}
}

// runeLen is utf8.RuneLen for the runes []rune(string) produces (invalid bytes become U+FFFD,
// three bytes, but such text never reaches here: Encode works on valid, normalised strings).
func runeLen(r rune) int {
	switch {
	case r < 0x80:
		return 1
	case r < 0x800:
		return 2
	case r < 0x10000:
		return 3
	}
	return 4
}
