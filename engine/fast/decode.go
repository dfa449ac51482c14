package fast

import (
	"fmt"
	"strings"

	"github.com/udvla/udvla/engine/textok"
)

// Result is one decoded action chunk.
type Result struct {
	// Coeffs are the quantised DCT coefficients, T x D: row k is frequency k (ord(c)+min_token
	// after padding or truncation, before division by the scale).
	Coeffs [][]int
	// Normalised are the actions in the normalised [-1, 1] space, T x D (the inverse DCT of
	// Coeffs/scale; the gripper dimension is left continuous here).
	Normalised [][]float64
	// Actions are the un-normalised actions, T x D, with the gripper (last) dimension set to
	// +1 where the un-normalised value exceeds the tokenizer's GripperThreshold (0: CALVIN and
	// LIBERO; 0.5: Bridge) and to -1 otherwise (the threshold itself included), as the reference
	// evaluations do; nil when Decode got no statistics.
	Actions [][]float32
	// Complete is false when the ids did not decode to exactly T*D values (the rest was padded
	// with 0 or the excess dropped) or when some id was outside the vocabulary and skipped.
	Complete bool
	// Values is how many values the ids decoded to before padding or truncation.
	Values int
	// Skipped counts the ids outside the vocabulary.
	Skipped int
}

// DecodeText is the first half of decoding: the string HF's PreTrainedTokenizerFast.decode returns
// for ids (unknown ids skipped, ByteLevel bytes joined, lossy UTF-8, clean-up if enabled), and
// how many ids were skipped.
func (t *Tokenizer) DecodeText(ids []int32) (string, int) {
	var buf []byte
	skipped := 0
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.idBytes) || t.idBytes[id] == nil {
			skipped++
			continue
		}
		buf = append(buf, t.idBytes[id]...)
	}
	s := textok.LossyString(buf)
	if t.CleanUpSpaces {
		s = cleanUpTokenization(s)
	}
	return s, skipped
}

// Decode turns FAST token ids into an action chunk (spec §6). q01 and q99, when given (D values
// each), un-normalise the actions; with both nil Result.Actions stays nil. Ids never make it
// fail: whatever they decode to is padded or truncated to T*D values and flagged.
func (t *Tokenizer) Decode(ids []int32, q01, q99 []float64) (*Result, error) {
	if err := t.checkStats(q01, q99); err != nil {
		return nil, err
	}
	text, skipped := t.DecodeText(ids)
	n := t.horizon * t.dims
	flat := make([]int, 0, n)
	values := 0
	for _, c := range text {
		if values < n {
			flat = append(flat, int(c)+int(t.minToken))
		}
		values++
	}
	for len(flat) < n {
		flat = append(flat, 0)
	}
	r := &Result{Values: values, Skipped: skipped, Complete: values == n && skipped == 0}
	r.Coeffs = make([][]int, t.horizon)
	scaled := make([][]float64, t.horizon)
	for k := range r.Coeffs {
		r.Coeffs[k] = flat[k*t.dims : (k+1)*t.dims : (k+1)*t.dims]
		scaled[k] = make([]float64, t.dims)
		for d, v := range r.Coeffs[k] {
			scaled[k][d] = float64(v) / t.scale
		}
	}
	r.Normalised = t.inverseDCT(scaled)
	if q01 != nil {
		r.Actions = make([][]float32, t.horizon)
		for j, row := range r.Normalised {
			r.Actions[j] = make([]float32, t.dims)
			for d, a := range row {
				x := 0.5*(a+1)*(q99[d]-q01[d]) + q01[d]
				if d == t.dims-1 {
					x = gripperSign(x, t.GripperThreshold)
				}
				r.Actions[j][d] = float32(x)
			}
		}
	}
	return r, nil
}

// checkStats accepts no statistics or D finite values each.
func (t *Tokenizer) checkStats(q01, q99 []float64) error {
	if q01 == nil && q99 == nil {
		return nil
	}
	if len(q01) != t.dims || len(q99) != t.dims {
		return fmt.Errorf("fast: statistics have %d q01 and %d q99 values, want %d each", len(q01), len(q99), t.dims)
	}
	var bad []string
	for d := range q01 {
		if !finite(q01[d]) || !finite(q99[d]) {
			bad = append(bad, fmt.Sprint(d))
		}
	}
	if bad != nil {
		return fmt.Errorf("fast: statistics not finite in dimension(s) %s", strings.Join(bad, ", "))
	}
	return nil
}

// gripperSign binarises the gripper command: open (+1) only above the threshold, so a value at
// it closes (-1), as np.where(a > threshold, 1, -1) in the reference evaluations (CALVIN and
// LIBERO compare with 0, the SimplerEnv Bridge wrapper with 0.5).
func gripperSign(x, threshold float64) float64 {
	if x > threshold {
		return 1
	}
	return -1
}
