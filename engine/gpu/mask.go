package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/seq"
)

// MaxMaskBlock bounds a block index in the packed mask.
const MaxMaskBlock = 1<<29 - 1

// MaskWords packs a block mask (spec §4) into the int32 per position that Attention reads:
// block<<2 | pad<<1 | bidir. dst is reused when it has the capacity.
func MaskWords(m *seq.Mask, dst []int32) ([]int32, error) {
	n := m.Len()
	if len(m.Bidir) != n || len(m.Pad) != n {
		return nil, fmt.Errorf("mask: %d blocks, %d bidir flags, %d pad flags", n, len(m.Bidir), len(m.Pad))
	}
	dst = append(dst[:0], make([]int32, n)...)
	for i := range n {
		b := m.Block[i]
		if b < 0 || b > MaxMaskBlock {
			return nil, fmt.Errorf("mask: position %d has block %d outside [0, %d]", i, b, MaxMaskBlock)
		}
		w := b << 2
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
