package engine

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
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
	case model.MaskPaper, model.MaskRelease, model.MaskReleaseKV:
	default:
		return nil, 0, fmt.Errorf("udvla: mask rule %v cannot decode a control step (want paper, release or release-kv)", req.Mask)
	}
	instr := req.Instruction
	if len(instr) == 0 && req.InstructionText != "" {
		if e.text == nil {
			return nil, 0, fmt.Errorf("udvla: the model packs no text vocabulary: pass instruction tokens")
		}
		instr = e.text.Encode(req.InstructionText)
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

// PrefixCaching names what a request of this mode and rule forwards once per control step into
// the K/V cache rather than at every pass: "prefix" (the paper rule, release-kv, AR), "text" (the
// release rule: BOS and the instruction, the part of its prefix that sees nothing after it) or
// "none" (NoCache, where the rule allows it). Under the paper and release rules the cached run
// equals the uncached one bit for bit.
func PrefixCaching(mode Mode, rule model.MaskRule, noCache bool) string {
	switch {
	case mode == ModeAR || rule == model.MaskReleaseKV:
		return "prefix"
	case noCache:
		return "none"
	case rule == model.MaskRelease:
		return "text"
	}
	return "prefix"
}
