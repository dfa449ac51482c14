package ref

import (
	"math"
	"sort"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// JD3P decodes one control step by joint discrete denoising of the future images and the actions,
// spec §5, with the release semantics:
//
//	g = Region; tau = 1
//	for s = 0 .. T-1, r = (s+1)/T:
//	  input = g with every position after g's first EOA set to MASK
//	  forward prefix + input under the mask rule; position j takes the logits of P+j-1
//	  logits outside position j's decoding space are -inf
//	  sampled_j = argmax_v logit_v + G(seed, s, j, v, purpose 0)   (Gumbel-max: the multinomial up to the RNG's bounded range, docs/RNG.md §6)
//	  known (g_j != MASK): sampled_j = g_j, conf_j = MaxFloat32; unknown: conf_j = p_j(sampled_j)
//	  mask_len = max(1, min(#unknown - 1, floor(N·cos(π/2·r))))   (in float32 as the release: MaskLenBase)
//	  tau = tau·(1 - r)
//	  c_j = log(conf_j) + tau·G(seed, s, j, 0, purpose 1)
//	  cutoff = sorted(c)[mask_len]   (0-based: the (mask_len+1)-th smallest)
//	  g_j = MASK where c_j < cutoff, sampled_j elsewhere
//	output = sampled of the last step, cut at the first EOA
//
// The cutoff is the release's torch.gather(sorted_confidence, 1, mask_len): with no ties exactly
// mask_len positions are re-masked, at least one at every step, the last step included. That is why
// the output is the last step's sampled tokens (every position filled), not the state g, which
// always keeps at least one MASK.
//
// With opt.Continue set, the loop asks it before every step and stops when it says no (the first
// step always runs): the output is then the sampled tokens of the last step run (a complete answer, since
// every step samples every position), and Result.StepsRun says how many ran.
func (m *Model) JD3P(l *seq.Layout, opt Options) (*Result, error) {
	f, tr, err := m.startDenoising(l, opt)
	if err != nil {
		return nil, err
	}
	g := append([]int32(nil), l.Region...)
	all := make([]int, l.N())
	for j := range all {
		all[j] = j
	}
	out, ran, err := m.denoise(f, g, all, opt, loopSpec{steps: opt.Steps, sample: PurposeSample, confidence: PurposeConfidence, next: opt.Continue}, tr)
	if err != nil {
		return nil, err
	}
	r := finish(l, out)
	r.Forwards, r.Generated, r.Trace, r.StepsRun = ran, l.N(), tr, ran
	return r, nil
}

// startDenoising checks a denoising run and prepares its forward and, when asked, its trace.
func (m *Model) startDenoising(l *seq.Layout, opt Options) (*regionForward, *Trace, error) {
	if err := m.checkLayout(l); err != nil {
		return nil, nil, err
	}
	if err := checkSteps(opt); err != nil {
		return nil, nil, err
	}
	f, err := newRegionForward(m, l, opt)
	if err != nil {
		return nil, nil, err
	}
	var tr *Trace
	if opt.Trace {
		tr = &Trace{Mask: l.Vocab.Mask}
	}
	return f, tr, nil
}

// loopSpec describes one denoising loop: its steps, its random streams and the release's rules
// that differ between the joint loop and the action loop of independent diffusion.
type loopSpec struct {
	steps              int
	sample, confidence uint32 // RNG purposes of sampling and of the confidence noise
	phase              int    // recorded in the trace
	rule               LoopRule
	next               func(step int) bool // asked before every step; false stops (after step 0); nil: run all
}

// LoopRule holds the two ways the release's action loop of independent diffusion departs from
// the joint loop.
type LoopRule struct {
	// TauZero holds the confidence noise's temperature at 0 for the whole loop: the release carries
	// tau over from its image loop, whose last step brings it to exactly 0.
	TauZero bool
	// FreezeAfterEOA treats the loop positions after the first EOA of the state as known: they keep
	// the state's token (MASK included), never count as unknown and are never re-masked.
	FreezeAfterEOA bool
}

// frozenFrom is the first loop position the rule freezes: the one after the first EOA the state g
// holds at a loop position (the release looks for it in the loop's tokens only); len(g) when the
// rule freezes nothing.
func (r LoopRule) frozenFrom(g []int32, pos []int, v *model.Vocab) int {
	if r.FreezeAfterEOA {
		for _, j := range pos {
			if g[j] == v.EOA {
				return j + 1
			}
		}
	}
	return len(g)
}

// denoise runs one denoising loop over the region positions pos (ascending); the other region
// positions keep the tokens g holds. g is the state and is updated in place; the returned region
// is g with pos set to the last step's sampled tokens, and the steps run. N of the schedule is
// len(pos). The random streams are (step, region position, token id, sample purpose) for sampling
// and (step, region position, 0, confidence purpose) for the confidence noise.
func (m *Model) denoise(f *regionForward, g []int32, pos []int, opt Options, ls loopSpec, tr *Trace) ([]int32, int, error) {
	l := f.l
	v := l.Vocab
	n := len(pos)
	sampled := make([]int32, n)
	tau := 1.0
	ran := 0
	for s := 0; s < ls.steps; s++ {
		if ls.next != nil && !ls.next(s) && s > 0 {
			break
		}
		r := float64(s+1) / float64(ls.steps)
		input := modelInput(g, v)
		hidden, err := f.hidden(input)
		if err != nil {
			return nil, 0, err
		}
		frozen := ls.rule.frozenFrom(g, pos, v)
		conf := make([]float64, n)
		sampleMargin := make([]float64, n)
		unknown := 0
		for i, j := range pos {
			if g[j] != v.Mask || j >= frozen {
				sampled[i], conf[i], sampleMargin[i] = g[j], math.MaxFloat32, math.Inf(1)
				continue
			}
			unknown++
			ids := l.Allowed[l.Space[j]]
			logits, err := m.Logits(hidden[j], ids)
			if err != nil {
				return nil, 0, err
			}
			sampled[i], conf[i], sampleMargin[i] = gumbelMax(logits, ids, opt.Seed, s, j, ls.sample)
		}
		maskLen := MaskLen(n, s, ls.steps, unknown)
		tau *= 1 - r
		if ls.rule.TauZero {
			tau = 0
		}
		c := make([]float64, n)
		for i, j := range pos {
			// log is clamped at 1e-20 as the release does; a sampled token's p never gets near it.
			c[i] = math.Log(math.Max(conf[i], 1e-20)) + tau*Gumbel(opt.Seed, s, j, 0, ls.confidence)
		}
		sorted := append([]float64(nil), c...)
		sort.Float64s(sorted)
		cutoff := sorted[min(maskLen, n-1)]
		remasked := make([]bool, n)
		for i, j := range pos {
			if c[i] < cutoff {
				g[j], remasked[i] = v.Mask, true
			} else {
				g[j] = sampled[i]
			}
		}
		ran++
		if tr != nil {
			tr.Steps = append(tr.Steps, StepTrace{
				Phase: ls.phase, Step: s, Positions: append([]int(nil), pos...), Input: input,
				Unknown: unknown, MaskLen: maskLen, Tau: tau,
				Sampled: append([]int32(nil), sampled...), Conf: conf, C: c, Cutoff: cutoff,
				Remasked: remasked, SampleMargin: sampleMargin, MaskMargin: maskMargins(c, sorted, maskLen),
				State: append([]int32(nil), g...),
			})
		}
	}
	out := append([]int32(nil), g...)
	for i, j := range pos {
		out[j] = sampled[i]
	}
	return out, ran, nil
}

// maskMargins is, per position, how far its c lies from the boundary between the re-masked and the
// kept positions: the distance to the smallest kept c for a re-masked position, to the largest
// re-masked c for a kept one (to the cutoff when none is re-masked). A decision with a small margin
// is a near-tie that rounding may flip. (The plain |c - cutoff| would be 0 for the cutoff element,
// whose decision is in fact decided by the gap to its neighbour.)
// MaskMargins is maskMargins for c in any order: the margins a trace records, for a step's c
// values and mask_len.
func MaskMargins(c []float64, maskLen int) []float64 {
	sorted := append([]float64(nil), c...)
	sort.Float64s(sorted)
	return maskMargins(c, sorted, maskLen)
}

func maskMargins(c, sorted []float64, maskLen int) []float64 {
	k := min(maskLen, len(sorted)-1)
	firstKept := sorted[k]
	lastMasked := math.Inf(-1)
	for _, x := range sorted[:k] {
		if x < firstKept {
			lastMasked = x
		}
	}
	out := make([]float64, len(c))
	for i, x := range c {
		switch {
		case x < firstKept:
			out[i] = firstKept - x
		case math.IsInf(lastMasked, -1):
			out[i] = x - firstKept
		default:
			out[i] = x - lastMasked
		}
	}
	return out
}
