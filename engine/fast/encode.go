package fast

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Coefficients is the numeric half of FAST encoding: actions (T x D, time along rows) are
// normalised by the quantiles, 2(x-q01)/(q99-q01+1e-8)-1, and clipped to [-1, 1] (skipped when
// q01 and q99 are nil: the actions are then taken as normalised already), transformed by the
// orthonormal DCT-II along time, multiplied by the scale and rounded half to even (np.around).
// Row k of the result is frequency k.
func (t *Tokenizer) Coefficients(actions [][]float64, q01, q99 []float64) ([][]int, error) {
	if err := t.checkStats(q01, q99); err != nil {
		return nil, err
	}
	if len(actions) != t.horizon {
		return nil, fmt.Errorf("fast: %d action steps, want %d", len(actions), t.horizon)
	}
	x := make([][]float64, t.horizon)
	for j, row := range actions {
		if len(row) != t.dims {
			return nil, fmt.Errorf("fast: action step %d has %d dimensions, want %d", j, len(row), t.dims)
		}
		x[j] = make([]float64, t.dims)
		for d, v := range row {
			if !finite(v) {
				return nil, fmt.Errorf("fast: action step %d dimension %d is %g", j, d, v)
			}
			if q01 != nil {
				v = 2*(v-q01[d])/(q99[d]-q01[d]+1e-8) - 1
				v = min(max(v, -1), 1)
			}
			x[j][d] = v
		}
	}
	c := t.forwardDCT(x)
	out := make([][]int, t.horizon)
	for k, row := range c {
		out[k] = make([]int, t.dims)
		for d, v := range row {
			q := math.RoundToEven(v * t.scale)
			if math.Abs(q) > 1<<30 {
				return nil, fmt.Errorf("fast: coefficient %g out of range", q)
			}
			out[k][d] = int(q)
		}
	}
	return out, nil
}

// EncodeCoeffs is the token half of FAST encoding: the coefficients flattened row-major (all D
// of frequency 0 first), each v written as the character chr(max(v-min_token, 0)), and that
// string tokenized by the ByteLevel BPE.
func (t *Tokenizer) EncodeCoeffs(coeffs [][]int) ([]int32, error) {
	if len(coeffs) != t.horizon {
		return nil, fmt.Errorf("fast: %d coefficient rows, want %d", len(coeffs), t.horizon)
	}
	var sb strings.Builder
	for k, row := range coeffs {
		if len(row) != t.dims {
			return nil, fmt.Errorf("fast: coefficient row %d has %d values, want %d", k, len(row), t.dims)
		}
		for _, v := range row {
			c := max(int64(v)-int64(t.minToken), 0)
			// Python's chr accepts surrogates, but such a string cannot be UTF-8 encoded for
			// the tokenizer, so the reference fails on them too.
			if c > utf8.MaxRune || (c >= 0xD800 && c <= 0xDFFF) {
				return nil, fmt.Errorf("fast: coefficient %d makes character U+%X, which has no UTF-8 encoding", v, c)
			}
			sb.WriteRune(rune(c))
		}
	}
	return t.EncodeText(sb.String())
}

// Encode is Coefficients followed by EncodeCoeffs.
func (t *Tokenizer) Encode(actions [][]float64, q01, q99 []float64) ([]int32, error) {
	c, err := t.Coefficients(actions, q01, q99)
	if err != nil {
		return nil, err
	}
	return t.EncodeCoeffs(c)
}

// EncodeText tokenizes a string as HF tokenizers does with this tokenizer.json's ByteLevel
// pre-tokenizer and BPE model: split by the GPT-2 regex (when use_regex), each piece's UTF-8
// bytes mapped to the byte alphabet, then merged by rank.
func (t *Tokenizer) EncodeText(s string) ([]int32, error) {
	if t.encodeErr != nil {
		return nil, t.encodeErr
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("fast: text to encode is not valid UTF-8")
	}
	if t.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	var out []int32
	var err error
	t.pieces(s, func(piece string) {
		if err != nil {
			return
		}
		chars := byteLevelString(piece)
		ids := make([]int32, len(chars))
		for i, c := range chars {
			id, ok := t.vocab[string(c)]
			if !ok {
				err = fmt.Errorf("fast: byte 0x%02x (%q) has no token in the vocabulary", piece[i], c)
				return
			}
			ids[i] = id
		}
		out = append(out, t.mergeAll(ids)...)
	})
	return out, err
}

// pieces calls fn with the pre-tokenizer's pieces of s: the regex matches and any text between
// them (SplitDelimiterBehavior::Isolated), or s whole without the regex.
func (t *Tokenizer) pieces(s string, fn func(string)) {
	if t.split == nil {
		if s != "" {
			fn(s)
		}
		return
	}
	runes := []rune(s)
	byteAt := make([]int, len(runes)+1)
	for i, r := range runes {
		byteAt[i+1] = byteAt[i] + utf8.RuneLen(r)
	}
	last := 0
	m, err := t.split.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.Index > last {
			fn(s[byteAt[last]:byteAt[m.Index]])
		}
		if m.Length > 0 {
			fn(s[byteAt[m.Index]:byteAt[m.Index+m.Length]])
		}
		last = m.Index + m.Length
		m, err = t.split.FindNextMatch(m)
	}
	if last < len(runes) {
		fn(s[byteAt[last]:])
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
