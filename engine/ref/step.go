package ref

import (
	"fmt"
	"math"
	"sort"

	"github.com/udvla/udvla/engine/model"
)

// The decisions of one decoding step, exported one by one so that another implementation (the GPU
// shaders) can be tested on each alone, on inputs no model would produce. JD3P, the greedy AR modes and
// IndependentDiffusion make the same decisions through the same code (StepSelect is checked
// against their traces).

// GumbelMax is the sampling decision of one position (spec §5 steps 4-5): the id of ids maximising
// logit + G(seed, step, position, id, purpose), ties to the smaller id; p(token) of the softmax
// over the space in float64; and the margin of the decision (best minus second best perturbed
// logit, +Inf with one candidate).
func GumbelMax(logits []float32, ids []int32, seed uint64, step, position int, purpose uint32) (tok int32, p, margin float64, err error) {
	if len(logits) != len(ids) || len(ids) == 0 {
		return 0, 0, 0, fmt.Errorf("gumbel-max: %d logits for %d ids", len(logits), len(ids))
	}
	tok, p, margin = gumbelMax(logits, ids, seed, step, position, purpose)
	return tok, p, margin, nil
}

// Argmax is the greedy decision of AR decoding: the id of the largest logit, ties to the smaller
// id, and its lead over the second largest.
func Argmax(logits []float32, ids []int32) (int32, float64, error) {
	if len(logits) != len(ids) || len(ids) == 0 {
		return 0, 0, fmt.Errorf("argmax: %d logits for %d ids", len(logits), len(ids))
	}
	tok, margin := argmax(logits, ids)
	return tok, margin, nil
}

// ModelInput is the region as fed to the model: the state with MASK at every position after its
// first EOA (spec §5 step 1).
func ModelInput(g []int32, v *model.Vocab) []int32 { return modelInput(g, v) }

// Selection is the outcome of the selection half of one denoising step.
type Selection struct {
	Unknown  int       // MASK positions of the loop before the step
	MaskLen  int       // positions to re-mask
	C        []float64 // per loop position (indexed like pos)
	Cutoff   float64
	Remasked []bool  // per loop position
	State    []int32 // the new state, all N positions
	Out      []int32 // the state with the loop's positions set to the step's tokens
	Input    []int32 // ModelInput(State): the next step's model input
}

// StepSelect is the selection half of step s of a T-step loop over the region positions pos
// (spec §5 steps 6-10, as denoise does it): given the state g before the step and, per loop
// position, the sampled token and its probability (read only where g holds MASK), it computes the
// confidences c = log(max(conf, 1e-20)) + tau·G(seed, s, j, 0, confidence) (known positions:
// conf = MaxFloat32), re-masks the positions with c below sorted(c)[min(mask_len, n-1)] and keeps
// the sampled tokens elsewhere. With given non-nil, those c values are used instead of computed
// ones (a test of the re-masking on exactly given values). g is not modified.
func StepSelect(g []int32, pos []int, sampled []int32, conf []float64, v *model.Vocab, seed uint64, s, steps int, confidence uint32, given []float64) (*Selection, error) {
	return StepSelectRule(g, pos, sampled, conf, v, seed, s, steps, confidence, given, LoopRule{})
}

// StepSelectRule is StepSelect for a loop that follows rule (tau held at 0; the loop positions
// after the first EOA of g treated as known), as the action loop of independent diffusion does.
func StepSelectRule(g []int32, pos []int, sampled []int32, conf []float64, v *model.Vocab, seed uint64, s, steps int, confidence uint32, given []float64, rule LoopRule) (*Selection, error) {
	n := len(pos)
	if n == 0 || len(sampled) != n || len(conf) != n || (given != nil && len(given) != n) {
		return nil, fmt.Errorf("step select: %d positions, %d sampled, %d confidences, %d given c", n, len(sampled), len(conf), len(given))
	}
	if steps < 1 || s < 0 || s >= steps {
		return nil, fmt.Errorf("step select: step %d of %d", s, steps)
	}
	for i, j := range pos {
		if j < 0 || j >= len(g) || (i > 0 && j <= pos[i-1]) {
			return nil, fmt.Errorf("step select: positions must ascend inside the region of %d (index %d is %d)", len(g), i, j)
		}
	}
	sel := &Selection{C: make([]float64, n), Remasked: make([]bool, n), State: append([]int32(nil), g...)}
	tok := make([]int32, n)
	frozen := rule.frozenFrom(g, pos, v)
	tau := TauAfter(s, steps)
	if rule.TauZero {
		tau = 0
	}
	for i, j := range pos {
		tok[i] = sampled[i]
		c := conf[i]
		if g[j] != v.Mask || j >= frozen {
			tok[i], c = g[j], math.MaxFloat32
		} else {
			sel.Unknown++
		}
		if given != nil {
			sel.C[i] = given[i]
		} else {
			sel.C[i] = math.Log(math.Max(c, 1e-20)) + tau*Gumbel(seed, s, j, 0, confidence)
		}
	}
	sel.MaskLen = MaskLen(n, s, steps, sel.Unknown)
	sorted := append([]float64(nil), sel.C...)
	sort.Float64s(sorted)
	sel.Cutoff = sorted[min(sel.MaskLen, n-1)]
	sel.Out = append([]int32(nil), g...)
	for i, j := range pos {
		sel.Out[j] = tok[i]
		if sel.C[i] < sel.Cutoff {
			sel.State[j], sel.Remasked[i] = v.Mask, true
		} else {
			sel.State[j] = tok[i]
		}
	}
	sel.Input = modelInput(sel.State, v)
	return sel, nil
}
