package decode

import "github.com/udvla/udvla/engine/model"

// SequenceLimits returns the longest sequence and region a request can have: BOS, at most
// maxInstruction instruction tokens, each camera's block in the prefix and again in the region,
// and the action tokens. header spells an image block's size header.
func SequenceLimits(cfg *model.Config, maxInstruction int, header func(h, w int) []int32) (maxL, maxN int) {
	if cfg.Decoding == nil || cfg.Vocab == nil {
		return 1 + maxInstruction, 0
	}
	blocks := 0
	for _, c := range cfg.Decoding.Cameras {
		blocks += 4 + len(header(c.H, c.W)) + c.H*c.W
	}
	maxN = blocks + cfg.Decoding.ActionLen
	return 1 + maxInstruction + blocks + maxN, maxN
}
