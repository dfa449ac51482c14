package textok

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzRoundTrip: any valid UTF-8 text decodes back to its NFC form; invalid bytes never panic.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "pick up the red block", "a  \n\n b\t", "I'M 'ſ 12345", "中文😀\u0301", "<|endoftext|>x", "\xff\xe2\x82"} {
		f.Add(s)
	}
	tok, _ := newTestTokenizer(f, rand.New(rand.NewPCG(1, 1)))
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.EncodeOrdinary(s)
		got, err := tok.DecodeString(ids)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && got != norm.NFC.String(s) {
			t.Fatalf("round trip of %q: %q", s, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("decoded text %q is not valid UTF-8", got)
		}
	})
}
