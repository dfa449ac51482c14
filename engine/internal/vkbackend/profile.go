package vkbackend

import (
	"errors"
	"fmt"
	"time"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// ErrNoTimestamps is Profile's error where the recordings carry no per-command timestamps.
var ErrNoTimestamps = errors.New("udvla: the device has no timestamp queries")

// Profiles reports whether the device writes the timestamps Profile reads.
func (b *Backend) Profiles() bool { return b.dev.Info.Timestamps }

// Profile reads the timestamps of the recordings the last Decode ran, which must have been job's;
// res is what it returned. The phases are "prefill", then "step" (JD3P), "image-step",
// "action-step" and "handoff" (independent diffusion) or "ar" (the AR token passes).
func (b *Backend) Profile(job *decode.Job, res *decode.Result) ([]decode.Phase, error) {
	plan := b.last
	if plan == nil || b.lastJob != job {
		return nil, errors.New("udvla: profile: the step's recordings are missing")
	}
	l := job.Layout
	// The attention FLOPs count visible pairs only, under the mask each phase ran with: the causal
	// mask for AR, else the request's rule over the initial sequence (the release rule's blocks
	// move when an EOA appears; the initial ones stand for every step).
	m, err := seq.ForRule(plan.key.rule, l, l.Region)
	if err != nil {
		return nil, err
	}
	acc := func() kernelAcc {
		return kernelAcc{mask: m, pairs: map[vk.PairWork]float64{}, sums: decode.KernelSums{}}
	}
	var prof []decode.Phase
	add := func(name string, runs int, seqs ...*vk.Sequence) error {
		acc := acc()
		for _, s := range seqs {
			if err := acc.addSequence(s, runs); err != nil {
				return fmt.Errorf("udvla: profile %s: %w", name, err)
			}
		}
		prof = append(prof, decode.Phase{Name: name, Runs: runs, Kernels: acc.sums.Sorted()})
		return nil
	}
	if plan.prefill != nil {
		if err := add("prefill", 1, plan.prefill); err != nil {
			return nil, err
		}
	}
	// A loop's phase sums the segments it ran, each replayed once: their timestamps are exact.
	loop := func(name string, i, steps int) error {
		acc := acc()
		for _, run := range b.lastRuns {
			if run.loop != i {
				continue
			}
			if err := acc.addSequence(run.seq, 1); err != nil {
				return fmt.Errorf("udvla: profile %s: %w", name, err)
			}
		}
		prof = append(prof, decode.Phase{Name: name, Runs: steps, Kernels: acc.sums.Sorted()})
		return nil
	}
	switch job.Mode {
	case decode.AR, decode.ARRestricted:
		acc := acc()
		for j := 0; j < res.Generated && j < len(plan.ar) && err == nil; j++ {
			err = acc.addSequence(plan.ar[j], 1)
		}
		prof = append(prof, decode.Phase{Name: "ar", Runs: res.Generated, Kernels: acc.sums.Sorted()})
	case decode.ID:
		if err = loop("image-step", 0, job.Steps); err == nil {
			if err = loop("action-step", 1, job.ActionSteps); err == nil {
				err = add("handoff", 1, plan.handoff)
			}
		}
	default:
		err = loop("step", 0, res.StepsRun)
	}
	if err != nil {
		return nil, err
	}
	return prof, nil
}

// kernelAcc sums kernel times by kernel name; with a mask, attention counts visible pairs only.
type kernelAcc struct {
	mask  *seq.Mask
	pairs map[vk.PairWork]float64 // visible pairs by dispatch extent
	sums  decode.KernelSums
}

// addSequence adds the last replay of s, runs times.
func (a kernelAcc) addSequence(s *vk.Sequence, runs int) error {
	if s == nil {
		return nil
	}
	durs, err := s.Durations()
	if err != nil {
		return err
	}
	works := s.Work()
	if len(durs) != len(works) {
		return ErrNoTimestamps
	}
	r := float64(runs)
	for i, w := range works {
		if at := w.Pairs; at.NQ > 0 && a.mask != nil && at.Q0+at.NQ <= a.mask.Len() && at.NK <= a.mask.Len() {
			p, ok := a.pairs[at]
			if !ok {
				p = at.VisiblePairs(a.mask.Allowed)
				a.pairs[at] = p
			}
			w.FLOPs = p * at.FLOPsPerPair
		}
		a.sums.Add(decode.KernelTime{Kernel: w.Label, Dispatches: runs, Time: time.Duration(r * float64(durs[i])),
			FLOPs: r * w.FLOPs, Bytes: r * w.Bytes})
	}
	return nil
}
