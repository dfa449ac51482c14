package ref

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/seq"
)

// GreedyAR is the release's autoregressive baseline, for a checkpoint trained autoregressively:
// HF generate with do_sample=False from the prefix, over the whole vocabulary (no decoding-space
// restriction) and with nothing pre-filled: every region position is predicted, one token per
// forward pass under the causal mask with a KV cache, greedy (argmax, ties to the smaller id). It
// stops after the first EOA (generate's eos) or after N tokens; the positions after stay MASK.
// The actions are the tokens between the first generated BOA and the first EOA after it
// (seq.Layout.FreeOutputs). Steps, Mask and Cache of opt are not used.
func (m *Model) GreedyAR(l *seq.Layout, opt Options) (*Result, error) {
	vocab := make([]int32, m.Arch.Vocab)
	for i := range vocab {
		vocab[i] = int32(i)
	}
	return m.greedy(l, opt, func(int) []int32 { return vocab }, func(int) bool { return false }, true)
}

// GreedyARRestricted is autoregressive decoding on a JD3P checkpoint: as GreedyAR, but each
// position takes the argmax over its decoding space only, and the pre-filled positions (BOI, EOI,
// BOA) are inserted instead of predicted. It stops after the first EOA; the positions after it
// stay MASK.
func (m *Model) GreedyARRestricted(l *seq.Layout, opt Options) (*Result, error) {
	return m.greedy(l, opt, func(j int) []int32 { return l.Allowed[l.Space[j]] }, func(j int) bool { return l.Known[j] }, false)
}

// greedy is the KV-cached greedy loop of both AR modes: position j takes the argmax over ids(j)
// unless known(j) keeps the layout's token. free marks free generation (outputs cut by the
// generated BOA, not the layout's).
func (m *Model) greedy(l *seq.Layout, opt Options, space func(j int) []int32, known func(j int) bool, free bool) (*Result, error) {
	if err := m.checkLayout(l); err != nil {
		return nil, err
	}
	p, n := l.P(), l.N()
	v := l.Vocab
	mask := seq.CausalMask(p + n)
	cache := NewKVCache(m.Arch)
	h, err := m.Hidden(l.Prefix, positions(0, p), ForwardOptions{Mask: mask, Cache: cache, Append: true})
	if err != nil {
		return nil, err
	}
	hd := m.Arch.Hidden
	last := h[(p-1)*hd:] // predicts region position 0
	var tr *Trace
	if opt.Trace {
		tr = &Trace{Mask: v.Mask}
	}
	region := append([]int32(nil), l.Region...)
	if free {
		for j := range region {
			region[j] = v.Mask
		}
	}
	forwards, generated := 0, 0
	for j := 0; j < n; j++ {
		tok, margin := region[j], math.Inf(1)
		if !known(j) {
			ids := space(j)
			logits, err := m.Logits(last, ids)
			if err != nil {
				return nil, err
			}
			tok, margin = argmax(logits, ids)
		}
		region[j] = tok
		generated = j + 1
		if tr != nil {
			tr.Steps = append(tr.Steps, StepTrace{Step: j, Positions: []int{j}, Sampled: []int32{tok},
				SampleMargin: []float64{margin}, State: append([]int32(nil), region...)})
		}
		if tok == v.EOA || j == n-1 {
			break
		}
		h, err := m.Hidden([]int32{tok}, []int32{int32(p + j)}, ForwardOptions{Mask: mask, Cache: cache, Append: true})
		if err != nil {
			return nil, err
		}
		forwards++
		last = h
	}
	r := finish(l, region)
	if free {
		o := l.FreeOutputs(region)
		r.Actions, r.FutureCodes, r.EOAFound = o.Actions, o.FutureCodes, o.EOAFound
	}
	r.Forwards, r.Generated, r.Trace = forwards, generated, tr
	return r, nil
}

// argmax returns the id of the largest logit (ties to the smaller id) and its lead over the second.
func argmax(logits []float32, ids []int32) (int32, float64) {
	best, second := math.Inf(-1), math.Inf(-1)
	bi := 0
	for i, z := range logits {
		if float64(z) > best {
			best, second, bi = float64(z), best, i
		} else if float64(z) > second {
			second = float64(z)
		}
	}
	return ids[bi], best - second
}

// The release's loop lengths of independent diffusion (model_wrapper_emu_dis.py, the two-stage
// wrapper's image_steps and action_steps defaults).
const (
	IDImageSteps  = 64
	IDActionSteps = 28
)

// IndependentDiffusion is the "independent diffusion" baseline as the release runs it (spec §5):
//
//   - an image loop of opt.Steps steps over the prefix and the future-image positions only: the
//     action slots are not in the sequence at all, so under the release rule the images attend to
//     no action slot. Its N is the image positions (pre-filled BOI/EOI included), tau starts at 1
//     and compounds to exactly 0 at its last step;
//   - the images become the image loop's last sampled tokens, BOA and the MASK slots are appended,
//     and an action loop of opt.ActionSteps steps runs over the action positions (N = L_a, BOA
//     included) with tau held at 0 (carried over from the image loop) and the positions after the
//     state's first EOA frozen (LoopRule).
//
// The image loop draws with purposes 0 and 1, the action loop with purposes 2 and 3. In the trace
// the image loop's steps (phase 0) hold states of the image positions only.
func (m *Model) IndependentDiffusion(l *seq.Layout, opt Options) (*Result, error) {
	if opt.ActionSteps < 1 || opt.ActionSteps > 1<<14 {
		return nil, fmt.Errorf("decode: %d action steps (want 1..%d)", opt.ActionSteps, 1<<14)
	}
	if err := m.checkLayout(l); err != nil {
		return nil, err
	}
	il := ImageLayout(l)
	f, tr, err := m.startDenoising(il, opt)
	if err != nil {
		return nil, err
	}
	imagePos := make([]int, l.BOA)
	for j := range imagePos {
		imagePos[j] = j
	}
	images, _, err := m.denoise(f, append([]int32(nil), il.Region...), imagePos, opt,
		loopSpec{steps: opt.Steps, sample: PurposeSample, confidence: PurposeConfidence}, tr)
	if err != nil {
		return nil, err
	}
	if f, err = newRegionForward(m, l, opt); err != nil {
		return nil, err
	}
	g := append(images, l.Region[l.BOA:]...)
	actionPos := make([]int, 0, l.N()-l.BOA)
	for j := l.BOA; j < l.N(); j++ {
		actionPos = append(actionPos, j)
	}
	out, _, err := m.denoise(f, g, actionPos, opt, loopSpec{steps: opt.ActionSteps, sample: PurposeActionSample,
		confidence: PurposeActionConfidence, phase: 1, rule: LoopRule{TauZero: true, FreezeAfterEOA: true}}, tr)
	if err != nil {
		return nil, err
	}
	r := finish(l, out)
	r.Forwards, r.Generated, r.Trace = opt.Steps+opt.ActionSteps, l.N(), tr
	return r, nil
}

// ImageLayout is l without its action slots: the sequence of the image loop of independent
// diffusion (the prefix and the future-image blocks).
func ImageLayout(l *seq.Layout) *seq.Layout {
	il := *l
	il.Region, il.Known, il.Space = l.Region[:l.BOA:l.BOA], l.Known[:l.BOA:l.BOA], l.Space[:l.BOA:l.BOA]
	il.ActionLen = 0
	return &il
}
