package engine

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/internal/decode"
)

// InstructionLimitError is Open's error for an Options.MaxInstruction above what one forward can
// embed for the model: BOS, the instruction, the cameras' blocks and the region together are at
// most gpu.MaxTokens tokens.
type InstructionLimitError struct {
	Requested int // Options.MaxInstruction
	Limit     int // the largest value the model takes
}

func (e *InstructionLimitError) Error() string {
	return fmt.Sprintf("udvla: MaxInstruction %d exceeds the model's limit %d (a forward embeds at most %d tokens: BOS, the instruction, the camera blocks and the region)",
		e.Requested, e.Limit, gpu.MaxTokens)
}

// instructionLimit is the largest MaxInstruction the model takes: the longest sequence with no
// instruction subtracted from the most tokens a forward embeds. Both backends keep it, so that a
// request one backend runs the other runs too.
func (e *Engine) instructionLimit() int {
	fixed, _ := decode.SequenceLimits(e.cfg, 0, e.header)
	return gpu.MaxTokens - fixed
}
