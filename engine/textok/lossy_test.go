package textok

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// The classic cases of the WHATWG / Unicode "maximal subpart" rule, which Rust's
// from_utf8_lossy and Python's errors="replace" follow.
func TestLossyStringClassicCases(t *testing.T) {
	const R = "\uFFFD"
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte{0xE2, 0x82}, R},                              // truncated 3-byte sequence: one
		{[]byte{0xE2, 0x82, 'x'}, R + "x"},                   // ... also when followed by ASCII
		{[]byte{0xED, 0xA0, 0x80}, R + R + R},                // surrogate: three
		{[]byte{0xC0, 0x80}, R + R},                          // overlong NUL: two
		{[]byte{0xE0, 0x80, 0x80}, R + R + R},                // overlong 3-byte: three
		{[]byte{0xF4, 0x90, 0x80, 0x80}, R + R + R + R},      // past U+10FFFF: four
		{[]byte{0xF0, 0x9F, 0x98}, R},                        // truncated 4-byte: one
		{[]byte{0xF0, 0x9F, 0x98, 0x80}, "\U0001F600"},       // complete 4-byte: itself
		{[]byte{0xF5, 0x80}, R + R},                          // F5 never starts a sequence
		{[]byte{0x80, 0xBF}, R + R},                          // lone continuation bytes
		{[]byte{'a', 0xC3, 0xA9, 0xC3}, "a\u00e9" + R},       // valid then truncated 2-byte
		{[]byte{0xE2, 0x82, 0xE2, 0x82, 0xAC}, R + "\u20ac"}, // truncated, then a valid euro sign
	}
	for _, c := range cases {
		if got := LossyString(c.in); got != c.want {
			t.Errorf("LossyString(% x) = %q, want %q", c.in, got, c.want)
		}
	}
}

// lossyOracle applies the rule by its definition: at each position take the longest prefix that
// some well-formed sequence starts with (found by trying every completion), independently of
// the table-driven code under test.
func lossyOracle(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		if r, n := utf8.DecodeRune(b[i:]); r != utf8.RuneError || n > 1 {
			sb.Write(b[i : i+n])
			i += n
			continue
		}
		k := 1
		for l := 2; l <= 3 && i+l <= len(b); l++ {
			if isSeqPrefix(b[i : i+l]) {
				k = l
			} else {
				break
			}
		}
		if !isSeqPrefix(b[i : i+1]) {
			k = 1
		}
		sb.WriteRune(utf8.RuneError)
		i += k
	}
	return sb.String()
}

// seqPrefixes holds every proper prefix of the UTF-8 encoding of every scalar value.
var seqPrefixes = func() map[string]bool {
	m := map[string]bool{}
	buf := make([]byte, 4)
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		n := utf8.EncodeRune(buf, r)
		for l := 1; l < n; l++ {
			m[string(buf[:l])] = true
		}
	}
	return m
}()

// isSeqPrefix reports whether p can be completed into one well-formed UTF-8 sequence.
func isSeqPrefix(p []byte) bool { return seqPrefixes[string(p)] }

func TestLossyStringMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	// Bytes drawn mostly from the interesting ranges so that near-valid sequences are common.
	pool := []byte{'a', ' ', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
		0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	for n := 0; n < 3000; n++ {
		b := make([]byte, 1+rng.IntN(13))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = pool[rng.IntN(len(pool))]
			}
		}
		got, want := LossyString(b), lossyOracle(b)
		if got != want {
			t.Fatalf("LossyString(% x) = %q, definition gives %q", b, got, want)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("LossyString(% x) = %q is not valid UTF-8", b, got)
		}
	}
}
