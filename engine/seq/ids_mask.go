package seq

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
)

// MaskForIDs returns the mask of a rule over an arbitrary token sequence, for inspecting logits
// outside a control step. The paper rule reads the structure from the ids: text up to the first BOI
// (causal), the first cameras image blocks (current images), later image blocks (future images),
// and BOA onwards (actions); every non-text block is bidirectional.
func MaskForIDs(rule model.MaskRule, ids []int32, v *model.Vocab, cameras int) (*Mask, error) {
	switch rule {
	case model.MaskCausal:
		return CausalMask(len(ids)), nil
	case model.MaskRelease:
		if v == nil {
			return nil, fmt.Errorf("seq: the release mask needs a vocabulary layout")
		}
		return ReleaseMask(ids, v), nil
	case model.MaskPaper:
		if v == nil {
			return nil, fmt.Errorf("seq: the paper mask needs a vocabulary layout")
		}
		m := newMask(len(ids))
		block, images := int32(0), 0
		for i, id := range ids {
			switch {
			case id == v.BOA && block < 3:
				block = 3
			case id == v.BOI && block < 3:
				images++
				if images > cameras {
					block = 2
				} else {
					block = 1
				}
			}
			m.Block[i], m.Bidir[i], m.Pad[i] = block, block > 0, id == v.Pad
		}
		return m, nil
	}
	return nil, fmt.Errorf("seq: unknown mask rule %v", rule)
}
