// Package decode holds what the engine hands a backend and what it gets back: the plain inputs of
// one control step's decoding (a Job) and its outputs (a Result), in no backend's terms and in no
// terms of the public API, so that the engine depends on its backends and never the reverse.
package decode

import (
	"fmt"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
)

// Mode is the decoding algorithm of a job.
type Mode int

const (
	JD3P         Mode = iota // joint denoising of the whole region (spec §5)
	ARRestricted             // greedy AR, each position in its decoding space, known tokens inserted
	ID                       // independent diffusion: an image loop, then an action loop
	AR                       // unconstrained greedy AR over the whole vocabulary
)

// Autoregressive tells the modes that generate one token per forward pass.
func (m Mode) Autoregressive() bool { return m == AR || m == ARRestricted }

// Job is one control step's decoding.
type Job struct {
	Layout      *seq.Layout
	Mode        Mode
	Rule        model.MaskRule // resolved: never model.MaskDefault
	NoCache     bool           // recompute the prefix at every pass where the rule allows it
	Seed        uint64
	Steps       int // T of the (image) loop
	ActionSteps int // T of independent diffusion's action loop
	// Proceed is asked before steps [s, s+n) of a denoising loop, or before AR token s (n = 1):
	// it returns how many of them may run. Fewer than n (anytime decoding near its deadline, or
	// its first step, run alone to measure it) runs those; 0 stops the loop with the last step's
	// tokens; an error (cancellation) fails the job. Nil runs every step.
	Proceed func(s, n int) (int, error)
}

// proceed asks j.Proceed, wrapping a refusal's error in what the loop had done.
func (j *Job) proceed(s, n, of int, what string) (int, error) {
	if j.Proceed == nil {
		return n, nil
	}
	m, err := j.Proceed(s, n)
	if err != nil {
		return 0, fmt.Errorf("udvla: step cancelled after %d of %d %s: %w", s, of, what, err)
	}
	return min(m, n), nil
}

// ProceedStep asks before steps [s, s+n) of a T-step denoising loop.
func (j *Job) ProceedStep(s, n, steps int) (int, error) {
	return j.proceed(s, n, steps, "denoising steps")
}

// ProceedToken asks before AR token j of n.
func (j *Job) ProceedToken(tok, n int) (bool, error) {
	m, err := j.proceed(tok, 1, n, "AR tokens")
	return m > 0, err
}

// CachedPrefix is the number of prefix positions forwarded once per control step into the KV
// cache: AR decodes causally after a prefill of the whole prefix; the denoising modes prefill what
// ref.CachedPrefix says (the whole prefix under the paper rule, the text under the release rule,
// the whole prefix under release-kv, nothing with NoCache).
func (j *Job) CachedPrefix() int {
	if j.Mode.Autoregressive() {
		return j.Layout.P()
	}
	return ref.CachedPrefix(j.Layout, j.Rule, !j.NoCache)
}

// AttentionRule is the mask the job's forwards attend under: causal for AR, else the job's rule.
func (j *Job) AttentionRule() model.MaskRule {
	if j.Mode.Autoregressive() {
		return model.MaskCausal
	}
	return j.Rule
}

// Timings of a job, as Engine.Step reports them (less the whole call's time).
type Timings struct {
	Compile time.Duration
	Prefill time.Duration
	Steps   []time.Duration
	Loop    time.Duration
	GPU     time.Duration
}

// Result is a job's final region and its timings.
type Result struct {
	Region    []int32
	Generated int
	Timings   Timings
	StepsRun  int // decoding steps run (AR: tokens generated)
}
