package textok

import (
	"strings"
	"unicode/utf8"
)

// LossyString decodes b as UTF-8 the way Rust's String::from_utf8_lossy and Python's
// bytes.decode("utf-8", "replace") do (the WHATWG rule): every maximal invalid subpart becomes one
// U+FFFD. A maximal subpart is the longest prefix of a well-formed sequence that the bytes begin,
// or a single byte when they begin none. Go's own decoders replace byte by byte instead, which
// would turn a truncated three-byte sequence into two replacement characters rather than one;
// the FAST detokenizer turns characters into numbers, so the count matters.
func LossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			i++
			continue
		}
		n := validPrefix(b[i:])
		if n > 0 && n == seqLen(c) {
			sb.Write(b[i : i+n])
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		if n == 0 {
			n = 1
		}
		i += n
	}
	return sb.String()
}

// seqLen is the length of the sequence a lead byte starts, 0 for a byte that starts none
// (continuation bytes, C0, C1 and F5..FF).
func seqLen(c byte) int {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// validPrefix returns how many bytes of b (b[0] >= 0x80) belong to a well-formed sequence or to a
// prefix of one: 0 when b[0] starts none, the full length when the sequence is complete.
func validPrefix(b []byte) int {
	want := seqLen(b[0])
	if want == 0 {
		return 0
	}
	// The second byte's range depends on the lead byte: it excludes overlongs (E0, F0),
	// surrogates (ED) and code points past U+10FFFF (F4).
	lo, hi := byte(0x80), byte(0xBF)
	switch b[0] {
	case 0xE0:
		lo = 0xA0
	case 0xED:
		hi = 0x9F
	case 0xF0:
		lo = 0x90
	case 0xF4:
		hi = 0x8F
	}
	n := 1
	for n < want && n < len(b) {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
