package ref

import "fmt"

// Trace records every decision of a decoding run, so that an implementation that reaches another
// result can say which decision differed first and by how much it was decided here.
type Trace struct {
	Mask  int32 // the MASK id, to tell re-masked positions in a state
	Steps []StepTrace
}

// StepTrace is one step of a denoising loop, or one generated token of greedy AR. Per-position
// slices are indexed like Positions (region positions of the loop).
type StepTrace struct {
	Phase     int   // 0: the joint loop, the image loop of independent diffusion, or AR; 1: the action loop
	Step      int   // step of the loop (AR: the region position generated)
	Positions []int // region positions decided at this step
	Input     []int32
	Unknown   int     // MASK positions among Positions before the step
	MaskLen   int     // positions to re-mask
	Tau       float64 // confidence-noise temperature used at this step
	Sampled   []int32 // sampled token (the kept token for known positions)
	Conf      []float64
	C         []float64 // log(conf) + tau·G
	Cutoff    float64
	Remasked  []bool
	// SampleMargin is the gap between the best and the second best perturbed logit (greedy AR: plain
	// logit) of each sampled position; +Inf for known positions, which sample nothing.
	SampleMargin []float64
	// MaskMargin is the distance of each c to the re-mask boundary (see maskMargins).
	MaskMargin []float64
	State      []int32 // the region state after the step
}

// Divergence locates the first decision where another implementation departed from the trace.
type Divergence struct {
	Index    int    // index into Trace.Steps
	Phase    int    // as in StepTrace
	Step     int    // as in StepTrace
	Position int    // region position
	Kind     string // "sample" (another token was drawn) or "mask" (another re-mask decision)
	Margin   float64
	Want     int32 // the reference's token (sample) or state (mask)
	Got      int32
	Count    int // decisions of that step that differ
}

func (d Divergence) String() string {
	return fmt.Sprintf("step %d (phase %d, trace %d), position %d: %s decision differs (reference %d, got %d), margin %.3g; %d decisions differ at that step",
		d.Step, d.Phase, d.Index, d.Position, d.Kind, d.Want, d.Got, d.Margin, d.Count)
}

// FirstDifference compares another implementation's run with the trace, step by step: states[i]
// is its region state after trace step i, and sampled[i], when given (nil otherwise), its sampled
// tokens of that step, indexed like Positions. At the first step where anything differs, sampling
// decisions are the root cause when any differs (it changes that position's confidence and so the
// re-mask decisions); otherwise the re-mask decisions are. Of the differing decisions of that kind,
// the one with the smallest margin is reported with the count of all of them. It reports false when
// the runs agree on every step given.
func (t *Trace) FirstDifference(states [][]int32, sampled [][]int32) (Divergence, bool, error) {
	if len(states) > len(t.Steps) || (sampled != nil && len(sampled) != len(states)) {
		return Divergence{}, false, fmt.Errorf("trace: %d states and %d sampled rows for %d steps", len(states), len(sampled), len(t.Steps))
	}
	for i, st := range t.Steps[:len(states)] {
		if len(states[i]) != len(st.State) || (sampled != nil && len(sampled[i]) != len(st.Sampled)) {
			return Divergence{}, false, fmt.Errorf("trace: step %d has the wrong number of tokens", i)
		}
		var best Divergence
		found := false
		consider := func(d Divergence) {
			best.Count++
			if !found || d.Margin < best.Margin {
				d.Count = best.Count
				best, found = d, true
			}
		}
		base := Divergence{Index: i, Phase: st.Phase, Step: st.Step}
		if sampled != nil {
			for k, j := range st.Positions {
				if sampled[i][k] != st.Sampled[k] {
					d := base
					d.Position, d.Kind, d.Margin, d.Want, d.Got = j, "sample", st.SampleMargin[k], st.Sampled[k], sampled[i][k]
					consider(d)
				}
			}
		}
		if !found {
			for k, j := range st.Positions {
				if states[i][j] == st.State[j] {
					continue
				}
				d := base
				d.Position, d.Want, d.Got = j, st.State[j], states[i][j]
				refMasked := st.Remasked != nil && st.Remasked[k]
				if st.MaskMargin != nil && (refMasked || states[i][j] == t.Mask) {
					d.Kind, d.Margin = "mask", st.MaskMargin[k]
				} else {
					// Both kept a token, and they differ: another token was drawn.
					d.Kind, d.Margin = "sample", st.SampleMargin[k]
				}
				consider(d)
			}
		}
		if found {
			return best, true, nil
		}
	}
	return Divergence{}, false, nil
}
