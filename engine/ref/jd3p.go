package ref

import (
	"math"
	"sort"

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
	out, err := m.denoise(f, g, all, opt, PurposeSample, PurposeConfidence, 0, tr)
	if err != nil {
		return nil, err
	}
	r := finish(l, out)
	r.Forwards, r.Generated, r.Trace = opt.Steps, l.N(), tr
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

// denoise runs one T-step masked-denoising loop over the region positions pos (ascending); the
// other region positions keep the tokens g holds. g is the state and is updated in place; the
// returned region is g with pos set to the last step's sampled tokens. N of the schedule is len(pos).
// The random streams are (step, region position, token id, sample purpose) for sampling and
// (step, region position, 0, confidence purpose) for the confidence noise.
func (m *Model) denoise(f *regionForward, g []int32, pos []int, opt Options, sample, confidence uint32, phase int, tr *Trace) ([]int32, error) {
	l := f.l
	v := l.Vocab
	n := len(pos)
	sampled := make([]int32, n)
	tau := 1.0
	for s := 0; s < opt.Steps; s++ {
		r := float64(s+1) / float64(opt.Steps)
		input := modelInput(g, v)
		hidden, err := f.hidden(input)
		if err != nil {
			return nil, err
		}
		conf := make([]float64, n)
		sampleMargin := make([]float64, n)
		unknown := 0
		for i, j := range pos {
			if g[j] != v.Mask {
				sampled[i], conf[i], sampleMargin[i] = g[j], math.MaxFloat32, math.Inf(1)
				continue
			}
			unknown++
			ids := l.Allowed[l.Space[j]]
			logits, err := m.Logits(hidden[j], ids)
			if err != nil {
				return nil, err
			}
			sampled[i], conf[i], sampleMargin[i] = gumbelMax(logits, ids, opt.Seed, s, j, sample)
		}
		maskLen := MaskLen(n, s, opt.Steps, unknown)
		tau *= 1 - r
		c := make([]float64, n)
		for i, j := range pos {
			// log is clamped at 1e-20 as the release does; a sampled token's p never gets near it.
			c[i] = math.Log(math.Max(conf[i], 1e-20)) + tau*Gumbel(opt.Seed, s, j, 0, confidence)
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
		if tr != nil {
			tr.Steps = append(tr.Steps, StepTrace{
				Phase: phase, Step: s, Positions: append([]int(nil), pos...), Input: input,
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
	return out, nil
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
