package fast

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The acceptance bound: each coefficient is off by at most 0.5/scale after rounding, and
// the orthonormal inverse DCT spreads a coefficient error vector of norm at most sqrt(T)*0.5/scale
// over time without amplifying it.
func roundTripBound(T int, scale float64) float64 { return math.Sqrt(float64(T)) * 0.5 / scale }

func TestRoundTripRealTokenizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, r := range realTokenizers {
		tok, q01, q99 := loadReal(t, r)
		bound := roundTripBound(r.T, tok.Scale())
		worst, tokens := 0.0, 0
		for trial := 0; trial < 300; trial++ {
			x := smoothTrajectory(rng, r.T, r.D, q01, q99)
			coeffs, err := tok.Coefficients(x, q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := tok.EncodeCoeffs(coeffs)
			if err != nil {
				t.Fatal(err)
			}
			tokens += len(ids)
			res, err := tok.Decode(ids, q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Complete {
				t.Fatalf("%s: round trip incomplete (%d values)", r.dir, res.Values)
			}
			if !slices.EqualFunc(res.Coeffs, coeffs, slices.Equal) {
				t.Fatalf("%s: decoded coefficients differ:\n got %v\nwant %v", r.dir, res.Coeffs, coeffs)
			}
			for j := 0; j < r.T; j++ {
				for d := 0; d < r.D; d++ {
					norm := 2*(x[j][d]-q01[d])/(q99[d]-q01[d]+1e-8) - 1
					norm = min(max(norm, -1), 1)
					e := math.Abs(res.Normalised[j][d] - norm)
					worst = max(worst, e)
					if e > bound {
						t.Fatalf("%s: step %d dim %d: normalised %v vs %v, error %.3g > bound %.3g",
							r.dir, j, d, res.Normalised[j][d], norm, e, bound)
					}
					raw := 0.5*(norm+1)*(q99[d]-q01[d]) + q01[d]
					tol := bound*(q99[d]-q01[d])/2 + 1e-6*(1+math.Abs(raw))
					if d == r.D-1 {
						// The gripper is the sign of the decoded value; it must match the input's
						// sign wherever the input is farther from 0 than the quantisation error.
						decoded := 0.5*(res.Normalised[j][d]+1)*(q99[d]-q01[d]) + q01[d]
						g := float64(res.Actions[j][d])
						if g != gripperSign(decoded, 0) || (math.Abs(raw) > tol && g != gripperSign(raw, 0)) {
							t.Fatalf("%s: step %d gripper %v for input %v (decoded %v)", r.dir, j, g, x[j][d], decoded)
						}
						continue
					}
					if math.Abs(float64(res.Actions[j][d])-raw) > tol {
						t.Fatalf("%s: step %d dim %d: action %v, want %v within %.3g", r.dir, j, d, res.Actions[j][d], raw, tol)
					}
				}
			}
		}
		t.Logf("%s (T=%d, scale %g): %.1f tokens a chunk, worst normalised error %.4g, bound %.4g",
			r.dir, r.T, tok.Scale(), float64(tokens)/300, worst, bound)
	}
}

// The universal tokenizer works for any action shape: awkward T and D, random statistics.
func TestRoundTripUniversalAwkwardShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	dir := realTokenizers[2].dir
	for _, shape := range [][2]int{{1, 1}, {3, 2}, {7, 5}, {13, 3}, {16, 9}} {
		T, D := shape[0], shape[1]
		tok, err := LoadDir(testdata+"/"+dir, T, D)
		if err != nil {
			t.Fatal(err)
		}
		q01, q99 := make([]float64, D), make([]float64, D)
		for d := range q01 {
			q01[d] = -rng.Float64()*3 - 0.1
			q99[d] = rng.Float64()*3 + 0.1
		}
		for trial := 0; trial < 50; trial++ {
			x := smoothTrajectory(rng, T, D, q01, q99)
			ids, err := tok.Encode(x, q01, q99)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tok.Decode(ids, q01, q99)
			if err != nil || !res.Complete {
				t.Fatalf("%dx%d: %v complete %v", T, D, err, res.Complete)
			}
			for j := range x {
				for d := 0; d < D-1; d++ {
					norm := min(max(2*(x[j][d]-q01[d])/(q99[d]-q01[d]+1e-8)-1, -1), 1)
					if e := math.Abs(res.Normalised[j][d] - norm); e > roundTripBound(T, tok.Scale()) {
						t.Fatalf("%dx%d step %d dim %d: error %.3g", T, D, j, d, e)
					}
				}
			}
		}
	}
}

// Coefficients below min_token are clamped to it by max(v-min_token, 0), as the reference does.
func TestCoefficientsBelowMinTokenClamp(t *testing.T) {
	tok, err := LoadDir(testdata+"/"+realTokenizers[0].dir, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	m := int(tok.MinToken())
	c := [][]int{{m - 5, m}, {m + 1, 3}, {0, -1}, {7, m - 100}}
	ids, err := tok.EncodeCoeffs(c)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tok.Decode(ids, nil, nil)
	want := [][]int{{m, m}, {m + 1, 3}, {0, -1}, {7, m}}
	if !slices.EqualFunc(res.Coeffs, want, slices.Equal) {
		t.Fatalf("got %v, want %v", res.Coeffs, want)
	}
}

// naiveMerge applies merges by the textbook rule: while some adjacent pair has a merge, apply the
// lowest-ranked one at its leftmost position.
func naiveMerge(tok *Tokenizer, ids []int32) []int32 {
	ids = slices.Clone(ids)
	for {
		best, at := int32(math.MaxInt32), -1
		for i := 0; i+1 < len(ids); i++ {
			if m, ok := tok.merges[[2]int32{ids[i], ids[i+1]}]; ok && m.rank < best {
				best, at = m.rank, i
			}
		}
		if at < 0 {
			return ids
		}
		ids = slices.Replace(ids, at, at+2, tok.merges[[2]int32{ids[at], ids[at+1]}].id)
	}
}

func TestMergeAllMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, r := range realTokenizers {
		tok, q01, q99 := loadReal(t, r)
		for trial := 0; trial < 300; trial++ {
			c, _ := tok.Coefficients(smoothTrajectory(rng, r.T, r.D, q01, q99), q01, q99)
			var sb strings.Builder
			for _, row := range c {
				for _, v := range row {
					sb.WriteRune(rune(max(v-int(tok.MinToken()), 0)))
				}
			}
			tok.pieces(sb.String(), func(piece string) {
				var ids []int32
				for _, ch := range byteLevelString(piece) {
					ids = append(ids, tok.vocab[string(ch)])
				}
				if got, want := tok.mergeAll(ids), naiveMerge(tok, ids); !slices.Equal(got, want) {
					t.Fatalf("%s: merges of %q: %v, definition gives %v", r.dir, piece, got, want)
				}
			})
		}
	}
}

func TestEncodeTextRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, r := range realTokenizers {
		tok, _, _ := loadReal(t, r)
		tok.CleanUpSpaces = false
		for trial := 0; trial < 200; trial++ {
			var sb strings.Builder
			for n := 1 + rng.IntN(60); n > 0; n-- {
				c := rune(rng.IntN(1200))
				if rng.IntN(8) == 0 {
					c = rune(rng.IntN(0x30000))
				}
				if c >= 0xD800 && c <= 0xDFFF {
					c = ' '
				}
				sb.WriteRune(c)
			}
			s := sb.String()
			ids, err := tok.EncodeText(s)
			if lacksByte(s, tok) {
				// The Bridge vocabulary has no token for bytes 0xE1..0xFF (lead bytes of
				// characters past U+0FFF): the reference drops them, Encode refuses.
				if err == nil {
					t.Fatalf("%s: %q encoded although a byte has no token", r.dir, s)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, skipped := tok.DecodeText(ids); got != s || skipped != 0 {
				t.Fatalf("%s: %q encodes to %v which decodes to %q", r.dir, s, ids, got)
			}
		}
	}
}

// The pre-tokenizer splits like the GPT-2 regex: letters, digits, punctuation and spaces apart.
func TestPreTokenizerPieces(t *testing.T) {
	tok, _, _ := loadReal(t, realTokenizers[0])
	var got []string
	tok.pieces("ab1 2'sÀÁ  \x00\x01x\n\n y", func(p string) { got = append(got, p) })
	want := []string{"ab", "1", " 2", "'s", "ÀÁ", " ", " \x00\x01", "x", "\n\n", " y"}
	if !slices.Equal(got, want) {
		t.Fatalf("pieces = %q, want %q", got, want)
	}
	if strings.Join(got, "") != "ab1 2'sÀÁ  \x00\x01x\n\n y" || !utf8.ValidString(strings.Join(got, "")) {
		t.Fatal("pieces lose text")
	}
}

func TestEncodeErrors(t *testing.T) {
	tok, q01, q99 := loadReal(t, realTokenizers[0])
	rng := rand.New(rand.NewPCG(13, 14))
	x := smoothTrajectory(rng, 10, 7, q01, q99)
	if _, err := tok.Encode(x[:9], q01, q99); err == nil {
		t.Error("accepted 9 steps")
	}
	bad := slices.Clone(x)
	bad[3] = bad[3][:6]
	if _, err := tok.Encode(bad, q01, q99); err == nil {
		t.Error("accepted a short step")
	}
	nan := make([][]float64, len(x))
	for j := range x {
		nan[j] = slices.Clone(x[j])
	}
	nan[2][1] = math.Inf(1)
	if _, err := tok.Encode(nan, q01, q99); err == nil {
		t.Error("accepted an infinite action")
	}
	c := make([][]int, 10)
	for k := range c {
		c[k] = make([]int, 7)
	}
	c[4][2] = 0xD800 + int(tok.MinToken())
	if _, err := tok.EncodeCoeffs(c); err == nil {
		t.Error("accepted a coefficient that makes a surrogate")
	}
	c[4][2] = 0x110000 + int(tok.MinToken())
	if _, err := tok.EncodeCoeffs(c); err == nil {
		t.Error("accepted a coefficient past U+10FFFF")
	}
}

// lacksByte reports whether some byte of s has no single-character token in tok's vocabulary.
func lacksByte(s string, tok *Tokenizer) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := tok.vocab[string(byteToChar[s[i]])]; !ok {
			return true
		}
	}
	return false
}
