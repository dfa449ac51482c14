package seq

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
)

// Mask is the block attention mask of spec §4 over absolute positions 0..Len()-1. Query q may attend
// key k iff
//
//	!Pad[k] && (Block[k] < Block[q] || (Block[k] == Block[q] && (Bidir[q] || k <= q)))
//
// Blocks are numbered in sequence order, so a key in an earlier block is always visible and a key in
// a later block never is; inside a block, bidirectional queries see every key and causal ones see
// keys up to themselves.
type Mask struct {
	Block []int32
	Bidir []bool
	Pad   []bool
}

// Len is the number of positions the mask covers.
func (m *Mask) Len() int { return len(m.Block) }

// Allowed reports whether query position q may attend key position k.
func (m *Mask) Allowed(q, k int) bool {
	if m.Pad[k] {
		return false
	}
	bq, bk := m.Block[q], m.Block[k]
	return bk < bq || (bk == bq && (m.Bidir[q] || k <= q))
}

func newMask(n int) *Mask {
	return &Mask{Block: make([]int32, n), Bidir: make([]bool, n), Pad: make([]bool, n)}
}

// CausalMask is one causal block of n positions (AR pre-training, the greedy AR baseline).
func CausalMask(n int) *Mask { return newMask(n) }

// PaperMask is the mask the paper describes over prefix + region: block 0 text (BOS and the
// instruction, causal), block 1 the current images (every prefix image block, bidirectional),
// block 2 the future images (every region image block, bidirectional), block 3 the actions
// (BOA to the end, bidirectional, the slots after an EOA included). It does not depend on the
// tokens, so vision never sees actions and the prefix K/V can be cached exactly.
func PaperMask(l *Layout) *Mask {
	p, n := l.P(), l.N()
	m := newMask(p + n)
	for i := 0; i < p+n; i++ {
		switch {
		case i < l.TextLen:
			m.Block[i] = 0
		case i < p:
			m.Block[i], m.Bidir[i] = 1, true
		case i-p < l.BOA:
			m.Block[i], m.Bidir[i] = 2, true
		default:
			m.Block[i], m.Bidir[i] = 3, true
		}
	}
	return m
}

// ReleaseMask computes the mask from token ids as the release code does (spec §4):
//
//	start = id ∈ {BOI, BOA}, end = id ∈ {EOI, EOA}
//	level = max(cumsum(start) - cumsum(end), 0)   (inclusive cumulative sums)
//	is_img = level > 0 || start || end
//
// A new block begins wherever is_img flips; image blocks are bidirectional, text blocks causal, and
// PAD keys are never attended. Because it depends on the ids (MASK slots, a predicted EOA), the
// decoding loop recomputes it from the model input of every step. On a control step it puts the
// current images, the future images and the actions in one bidirectional block, and the slots after
// a predicted EOA in a causal block of their own.
func ReleaseMask(ids []int32, v *model.Vocab) *Mask {
	m := newMask(len(ids))
	var starts, ends int
	block := int32(0)
	for i, id := range ids {
		start := id == v.BOI || id == v.BOA
		end := id == v.EOI || id == v.EOA
		if start {
			starts++
		}
		if end {
			ends++
		}
		isImg := starts-ends > 0 || start || end
		if i > 0 && isImg != m.Bidir[i-1] {
			block++
		}
		m.Block[i], m.Bidir[i], m.Pad[i] = block, isImg, id == v.Pad
	}
	return m
}

// ForRule returns the mask of a rule over the sequence prefix + region, where region is the current
// model input of the generation region (the release rules read its ids). Release-kv masks as the
// release rule does: what it changes is which prefix is cached, not the mask.
func ForRule(rule model.MaskRule, l *Layout, region []int32) (*Mask, error) {
	if len(region) != l.N() {
		return nil, fmt.Errorf("seq: region has %d tokens, the layout %d", len(region), l.N())
	}
	switch rule {
	case model.MaskPaper:
		return PaperMask(l), nil
	case model.MaskRelease, model.MaskReleaseKV:
		return ReleaseMask(l.Sequence(region), l.Vocab), nil
	case model.MaskCausal:
		return CausalMask(l.P() + l.N()), nil
	}
	return nil, fmt.Errorf("seq: unknown mask rule %v", rule)
}

// Closed reports whether no query before position t may attend a key at or after t: then the
// K/V of positions [0, t) do not depend on anything after them and can be computed once and
// cached exactly. Blocks are numbered in sequence order, so only the block holding t-1 can
// reach past t, and only through a bidirectional query.
func (m *Mask) Closed(t int) bool {
	if t <= 0 || t >= m.Len() || m.Block[t] != m.Block[t-1] {
		return true
	}
	for q := t - 1; q >= 0 && m.Block[q] == m.Block[t-1]; q-- {
		if m.Bidir[q] {
			return false
		}
	}
	return true
}
