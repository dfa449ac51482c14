package engine

import (
	"errors"
	"fmt"

	"github.com/udvla/udvla/engine/seq"
)

// layout validates a request and builds its sequence; it returns the steps T to run.
func (e *Engine) layout(req *Request) (*seq.Layout, int, error) {
	d := e.cfg.Decoding
	steps := req.Steps
	if steps == 0 {
		steps = d.Steps
	}
	if steps < 1 || steps > 1024 {
		return nil, 0, fmt.Errorf("udvla: steps %d out of range [1, 1024]", steps)
	}
	switch req.Mode {
	case ModeJD3P, ModeAR, ModeID:
	default:
		return nil, 0, fmt.Errorf("udvla: unknown mode %d", req.Mode)
	}
	switch req.Mask {
	case 0, 1: // paper, release
	default:
		return nil, 0, fmt.Errorf("udvla: mask rule %v cannot decode a control step (want paper or release)", req.Mask)
	}
	instr := req.Instruction
	if len(instr) == 0 && req.InstructionText != "" {
		var err error
		if instr, err = e.EncodeInstruction(req.InstructionText); err != nil {
			return nil, 0, err
		}
	}
	if len(instr) > e.opts.MaxInstruction {
		return nil, 0, fmt.Errorf("udvla: instruction of %d tokens exceeds the engine's limit %d (Options.MaxInstruction)", len(instr), e.opts.MaxInstruction)
	}
	l, err := seq.BuildWithHeader(e.cfg.Vocab, d, instr, req.Codes, e.header)
	if err != nil {
		return nil, 0, fmt.Errorf("udvla: %w", err)
	}
	return l, steps, nil
}

// EncodeInstruction returns the token ids an instruction text becomes with the model's text
// tokenizer (without BOS, which the engine adds): the ids a Request's InstructionText stands for.
func (e *Engine) EncodeInstruction(text string) ([]int32, error) {
	if e.text == nil {
		return nil, errors.New("udvla: the model packs no text vocabulary: pass instruction tokens")
	}
	return e.text.Encode(text), nil
}

// finish cuts the region into outputs and decodes the actions.
func (e *Engine) finish(l *seq.Layout, d *decoded) *Result {
	out := l.Outputs(d.region)
	res := &Result{
		Region:       d.region,
		FutureCodes:  out.FutureCodes,
		ActionTokens: out.Actions,
		EOAFound:     out.EOAFound,
		Generated:    d.generated,
		Timings:      d.timings,
	}
	if e.fast != nil {
		res.Actions, res.ActionsComplete = e.fast.Decode(out.Actions)
	}
	return res
}
