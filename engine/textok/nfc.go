package textok

import (
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// cgj is U+034F COMBINING GRAPHEME JOINER, which x/text's normalisation inserts after 30
// consecutive non-starters (the stream-safe text format of UAX #15).
const cgj = '\u034f'

// NFC normalises text as Python's unicodedata.normalize("NFC") does, which the reference
// tokenizer applies: the whole of a run of combining marks is reordered and composed, with no
// U+034F inserted. x/text gives the same result whenever it inserts no U+034F, which is every
// text without a run of more than 30 combining marks; the others take the plain UAX #15
// algorithm below.
func NFC(text string) string {
	out := norm.NFC.String(text)
	if strings.Count(out, string(cgj)) == strings.Count(text, string(cgj)) {
		return out
	}
	return composeAll(canonicalOrder(decomposeAll(text)))
}

// decomposeAll is the full canonical decomposition, one rune at a time (a single rune never
// reaches the stream-safe limit).
func decomposeAll(text string) []rune {
	out := make([]rune, 0, len(text))
	for _, r := range text {
		out = append(out, []rune(norm.NFD.String(string(r)))...)
	}
	return out
}

func ccc(r rune) uint8 { return norm.NFD.PropertiesString(string(r)).CCC() }

// canonicalOrder sorts every run of non-starters by combining class, stably.
func canonicalOrder(rs []rune) []rune {
	for i := 0; i < len(rs); {
		if ccc(rs[i]) == 0 {
			i++
			continue
		}
		j := i
		for j < len(rs) && ccc(rs[j]) != 0 {
			j++
		}
		run := rs[i:j]
		sort.SliceStable(run, func(a, b int) bool { return ccc(run[a]) < ccc(run[b]) })
		i = j
	}
	return rs
}

// compose returns the primary composite of a starter and a following rune, if there is one: the
// NFC of the pair when that is a single rune (NFC applies the composition exclusions).
func compose(a, b rune) (rune, bool) {
	c := []rune(norm.NFC.String(string([]rune{a, b})))
	if len(c) == 1 {
		return c[0], true
	}
	return 0, false
}

// composeAll is the canonical composition algorithm of UAX #15 over a decomposed, canonically
// ordered text: each rune composes with the last starter unless a rune between them blocks it
// (last is the class of the rune before; 256 while no starter has been seen).
func composeAll(d []rune) string {
	if len(d) == 0 {
		return ""
	}
	starterPos, last := 0, 256
	if ccc(d[0]) == 0 {
		last = 0
	}
	out := d[:1]
	for _, r := range d[1:] {
		class := int(ccc(r))
		if last < class || last == 0 { // not blocked from the last starter
			if c, ok := compose(out[starterPos], r); ok {
				out[starterPos] = c
				continue
			}
		}
		if class == 0 {
			starterPos = len(out)
		}
		last = class
		out = append(out, r)
	}
	return string(out)
}
