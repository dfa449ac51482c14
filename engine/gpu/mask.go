package gpu

import (
	"fmt"
	"slices"

	"github.com/udvla/udvla/engine/seq"
)

// MaxMaskBlock bounds a block index in the packed mask.
const MaxMaskBlock = 1<<29 - 1

// MaskWords packs a block mask (spec §4) into the int32 per position that Attention reads:
// block<<2 | pad<<1 | bidir. dst is reused when it has the capacity.
func MaskWords(m *seq.Mask, dst []int32) ([]int32, error) {
	if err := checkMask(m); err != nil {
		return nil, err
	}
	n := m.Len()
	dst = slices.Grow(dst[:0], n)[:n]
	for i := range n {
		w := m.Block[i] << 2
		if m.Pad[i] {
			w |= 2
		}
		if m.Bidir[i] {
			w |= 1
		}
		dst[i] = w
	}
	return dst, nil
}

// MaskReach returns, for every position of a block mask, its reach: one past the last key it may
// attend (0 when it sees none). Given to Attention (AttentionArgs.Reach), it lets a query tile
// stop at the last key any of its queries can see: half the keys of a causal prefill, the action
// block for future-image queries under the paper mask. Exact for any block numbering. dst is
// reused when it has the capacity.
func MaskReach(m *seq.Mask, dst []int32) ([]int32, error) {
	if err := checkMask(m); err != nil {
		return nil, err
	}
	n := m.Len()
	dst = slices.Grow(dst[:0], n)[:n]
	// last[b]: the last non-PAD position of block b (-1 if none).
	last := map[int32]int32{}
	for i, b := range m.Block {
		if _, ok := last[b]; !ok {
			last[b] = -1
		}
		if !m.Pad[i] {
			last[b] = int32(i)
		}
	}
	blocks := make([]int32, 0, len(last))
	for b := range last {
		blocks = append(blocks, b)
	}
	slices.Sort(blocks)
	// before[b]: the last non-PAD position of any block < b, which every query of block b sees.
	before := make(map[int32]int32, len(blocks))
	seen := int32(-1)
	for _, b := range blocks {
		before[b] = seen
		seen = max(seen, last[b])
	}
	// upTo[b]: the last non-PAD position of block b at or before the current one (causal queries).
	upTo := make(map[int32]int32, len(blocks))
	for i, b := range m.Block {
		if _, ok := upTo[b]; !ok {
			upTo[b] = -1
		}
		if !m.Pad[i] {
			upTo[b] = int32(i)
		}
		own := upTo[b]
		if m.Bidir[i] {
			own = last[b]
		}
		dst[i] = max(before[b], own) + 1
	}
	return dst, nil
}

func checkMask(m *seq.Mask) error {
	n := m.Len()
	if len(m.Bidir) != n || len(m.Pad) != n {
		return fmt.Errorf("mask: %d blocks, %d bidir flags, %d pad flags", n, len(m.Bidir), len(m.Pad))
	}
	for i, b := range m.Block {
		if b < 0 || b > MaxMaskBlock {
			return fmt.Errorf("mask: position %d has block %d outside [0, %d]", i, b, MaxMaskBlock)
		}
	}
	return nil
}
