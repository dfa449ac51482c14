package ref

import (
	"math"

	"github.com/udvla/udvla/engine/seq"
)

// GreedyAR is the paper's autoregressive baseline: causal mask, KV cache, one token per forward
// pass, greedy (argmax, ties to the smaller id) over the position's decoding space. Pre-filled
// positions (BOI, EOI, BOA) are inserted instead of predicted. It stops after the first EOA; the
// positions after it stay MASK. Steps, Mask and Cache of opt are not used.
func (m *Model) GreedyAR(l *seq.Layout, opt Options) (*Result, error) {
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
	forwards, generated := 0, 0
	for j := 0; j < n; j++ {
		tok, margin := region[j], math.Inf(1)
		if !l.Known[j] {
			ids := l.Allowed[l.Space[j]]
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

// IndependentDiffusion is the paper's "independent diffusion" baseline: the image positions are
// denoised first by their own T-step loop, with the action positions held at their initial tokens
// (BOA and MASK), then the action positions by their own T-step loop with the images fixed to the
// first loop's output. Each loop is the JD3P loop over its own positions (its N counts them); the
// image loop draws with purposes 0 and 1, the action loop with purposes 2 and 3.
func (m *Model) IndependentDiffusion(l *seq.Layout, opt Options) (*Result, error) {
	f, tr, err := m.startDenoising(l, opt)
	if err != nil {
		return nil, err
	}
	var imagePos, actionPos []int
	for j := range l.Region {
		if l.Space[j] == seq.SpaceAction {
			actionPos = append(actionPos, j)
		} else {
			imagePos = append(imagePos, j)
		}
	}
	g := append([]int32(nil), l.Region...)
	images, err := m.denoise(f, g, imagePos, opt, PurposeSample, PurposeConfidence, 0, tr)
	if err != nil {
		return nil, err
	}
	g = images // images fixed to the loop's output; action positions untouched
	out, err := m.denoise(f, g, actionPos, opt, PurposeActionSample, PurposeActionConfidence, 1, tr)
	if err != nil {
		return nil, err
	}
	r := finish(l, out)
	r.Forwards, r.Generated, r.Trace = 2*opt.Steps, l.N(), tr
	return r, nil
}
