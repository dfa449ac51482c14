package engine

import (
	"errors"
	"fmt"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
)

// layout validates a request and builds its sequence; it returns the steps T to run.
func (e *Engine) layout(req *Request) (*seq.Layout, int, error) {
	d := e.cfg.Decoding
	steps := req.Steps
	if steps == 0 {
		steps = d.Steps
		if req.Mode == ModeID {
			steps = ref.IDImageSteps
		}
	}
	if steps < 1 || steps > 1024 {
		return nil, 0, fmt.Errorf("udvla: steps %d out of range [1, 1024]", steps)
	}
	if a := req.actionSteps(); a < 1 || a > 1024 {
		return nil, 0, fmt.Errorf("udvla: action steps %d out of range [1, 1024]", a)
	}
	switch req.Mode {
	case ModeJD3P, ModeARRestricted, ModeID, ModeAR:
	default:
		return nil, 0, fmt.Errorf("udvla: unknown mode %d", req.Mode)
	}
	if _, err := e.maskRule(req); err != nil {
		return nil, 0, err
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

// actionSteps is the action loop's steps of independent diffusion: the request's, else the release's.
func (req *Request) actionSteps() int {
	if req.ActionSteps == 0 {
		return ref.IDActionSteps
	}
	return req.ActionSteps
}

// maskRule is the rule a request runs under: its Mask, or for the zero value the model's rule.
// A causal rule (a checkpoint trained without a block mask) cannot run the diffusion modes.
func (e *Engine) maskRule(req *Request) (model.MaskRule, error) {
	rule := req.Mask.Resolve(e.cfg.Decoding)
	switch rule {
	case model.MaskRelease, model.MaskPaper, model.MaskReleaseKV:
		return rule, nil
	case model.MaskCausal:
		if req.Mode.autoregressive() {
			return rule, nil
		}
		if req.Mask == model.MaskDefault {
			return 0, fmt.Errorf("udvla: the model's mask rule is causal (its config.json set no block mask: a plain Emu3/AR checkpoint), "+
				"which cannot decode a %v step; run AR, or name the release or paper rule to override", req.Mode)
		}
		return 0, fmt.Errorf("udvla: the causal mask cannot decode a %v step (want release or paper)", req.Mode)
	}
	return 0, fmt.Errorf("udvla: unknown mask rule %v (want model, release, paper or release-kv)", req.Mask)
}

// resolved returns req with its Mask replaced by the rule it runs under, for the backends.
func (e *Engine) resolved(req *Request) (*Request, error) {
	rule, err := e.maskRule(req)
	if err != nil {
		return nil, err
	}
	r := *req
	r.Mask = rule
	return &r, nil
}

// finish cuts the region into outputs and decodes the actions; a freely generated region (ModeAR)
// has its actions after the BOA it generated.
func (e *Engine) finish(l *seq.Layout, d *decode.Result, free bool) *Result {
	out := l.Outputs(d.Region)
	if free {
		out = l.FreeOutputs(d.Region)
	}
	t := d.Timings
	res := &Result{
		Region:       d.Region,
		FutureCodes:  out.FutureCodes,
		ActionTokens: out.Actions,
		EOAFound:     out.EOAFound,
		Generated:    d.Generated,
		Timings:      Timings{Compile: t.Compile, Prefill: t.Prefill, Steps: t.Steps, Loop: t.Loop, GPU: t.GPU},
		StepsRun:     d.StepsRun,
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
	case mode.autoregressive() || rule == model.MaskReleaseKV:
		return "prefix"
	case noCache:
		return "none"
	case rule == model.MaskRelease:
		return "text"
	}
	return "prefix"
}
