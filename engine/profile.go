package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// KernelTime is one kernel's part of a phase of a control step: the device time of its commands
// (from the timestamp written after each command) and their nominal work (vk.Work, stated by each
// kernel's Record), attention counting only the (query, key) pairs the step's mask lets through.
type KernelTime struct {
	Kernel     string // the shader, with the weight dtype for matmul and embed ("matmul q8_0"), or "copy"
	Dispatches int
	Time       time.Duration
	FLOPs      float64
	Bytes      float64
}

// GFLOPS is the achieved rate, 0 without time or FLOPs.
func (k KernelTime) GFLOPS() float64 {
	if k.Time <= 0 {
		return 0
	}
	return k.FLOPs / k.Time.Seconds() / 1e9
}

// GBPS is the achieved bandwidth over the kernel's minimal traffic, 0 without time or bytes.
func (k KernelTime) GBPS() float64 {
	if k.Time <= 0 {
		return 0
	}
	return k.Bytes / k.Time.Seconds() / 1e9
}

// PhaseProfile is one recorded sequence kind of a control step: "prefill" (the prefix into the KV
// cache), "step" (a denoising step: forward of the region, lm_head, sampling, selection),
// "handoff" (independent diffusion's switch from images to actions) or "ar" (the AR token
// passes). Kernels hold totals over the Runs the phase made in the control step, by descending
// time. A device keeps only the last replay's timestamps of a recorded sequence, so the kernels of
// a phase replayed Runs times (the denoising steps) keep their shares of the last replay, scaled
// so that the phase's total is the device time of all its replays (Timings.GPU); the AR passes
// are distinct recordings and are summed exactly.
type PhaseProfile struct {
	Name    string
	Runs    int
	Kernels []KernelTime
}

// Time is the phase's device time.
func (p *PhaseProfile) Time() time.Duration {
	var t time.Duration
	for _, k := range p.Kernels {
		t += k.Time
	}
	return t
}

// Profile is where the device time of one control step went.
type Profile struct {
	Phases []PhaseProfile
}

// Kernels merges the phases: each kernel's totals over the whole control step, by descending time.
func (p *Profile) Kernels() []KernelTime {
	acc := kernelAcc{sums: map[string]*KernelTime{}}
	for _, ph := range p.Phases {
		for _, k := range ph.Kernels {
			acc.add(k)
		}
	}
	return acc.sorted()
}

// ErrNoProfile is returned by StepProfile where there is nothing to time: the CPU reference, or a
// device without timestamp queries.
var ErrNoProfile = errors.New("udvla: per-kernel profiles need the Vulkan backend on a device with timestamp queries")

// Device describes the Vulkan device of the engine; false for the CPU reference.
func (e *Engine) Device() (vk.DeviceInfo, bool) {
	if b, ok := e.be.(*vkBackend); ok {
		return b.dev.Info, true
	}
	return vk.DeviceInfo{}, false
}

// StepProfile runs a control step exactly as Step does and returns, with its result, the device
// time of every kernel of that step.
func (e *Engine) StepProfile(ctx context.Context, req *Request) (*Result, *Profile, error) {
	if req == nil {
		return nil, nil, errors.New("udvla: nil request")
	}
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, ErrClosed
	}
	b, ok := e.be.(*vkBackend)
	if !ok || !b.dev.Info.Timestamps {
		return nil, nil, ErrNoProfile
	}
	// Step's body, under the same lock as the profile, so no other step replays the recordings
	// in between.
	r, err := e.stepLocked(ctx, req, start)
	if err != nil {
		return nil, nil, err
	}
	prof, err := b.profile(r.l, r.req, r.steps, r.d.generated, r.d.timings.GPU)
	if err != nil {
		return nil, nil, err
	}
	return r.res, prof, nil
}

// profile reads the timestamps of the recordings the last decode of l ran; loopGPU is the device
// time of all the decoding loop's replays.
func (b *vkBackend) profile(l *seq.Layout, req *Request, steps, generated int, loopGPU time.Duration) (*Profile, error) {
	// The plan key as decode forms it.
	plan, ok := b.plans[planKeyFor(l, req)]
	if !ok {
		return nil, errors.New("udvla: profile: the step's recordings are missing")
	}
	// The attention FLOPs count visible pairs only, under the mask each phase ran with: the causal
	// mask for AR, else the request's rule over the initial sequence (the release rule's blocks
	// move when an EOA appears; the initial ones stand for every step).
	var m *seq.Mask
	switch {
	case req.Mode.autoregressive():
		m = seq.CausalMask(l.P() + l.N())
	case req.Mask == model.MaskPaper:
		m = seq.PaperMask(l)
	default:
		m = seq.ReleaseMask(l.Sequence(l.Region), l.Vocab)
	}
	acc := func() kernelAcc {
		return kernelAcc{mask: m, pairs: map[vk.PairWork]float64{}, sums: map[string]*KernelTime{}}
	}
	prof := &Profile{}
	add := func(name string, runs int, seqs ...*vk.Sequence) error {
		acc := acc()
		for _, s := range seqs {
			if err := acc.addSequence(s, runs); err != nil {
				return fmt.Errorf("udvla: profile %s: %w", name, err)
			}
		}
		prof.Phases = append(prof.Phases, PhaseProfile{Name: name, Runs: runs, Kernels: acc.sorted()})
		return nil
	}
	if plan.prefill != nil {
		if err := add("prefill", 1, plan.prefill); err != nil {
			return nil, err
		}
	}
	var err error
	switch req.Mode {
	case ModeAR, ModeARRestricted:
		acc := acc()
		for j := 0; j < generated && j < len(plan.ar) && err == nil; j++ {
			err = acc.addSequence(plan.ar[j], 1)
		}
		prof.Phases = append(prof.Phases, PhaseProfile{Name: "ar", Runs: generated, Kernels: acc.sorted()})
	case ModeID:
		if err = add("image-step", steps, plan.imageStep); err == nil {
			if err = add("action-step", req.actionSteps(), plan.step); err == nil {
				scaleAll(prof.Phases[len(prof.Phases)-2:], loopGPU)
				err = add("handoff", 1, plan.handoff)
			}
		}
	default:
		if err = add("step", steps, plan.step); err == nil {
			scaleAll(prof.Phases[len(prof.Phases)-1:], loopGPU)
		}
	}
	if err != nil {
		return nil, err
	}
	return prof, nil
}

// scaleAll scales the kernel times of phases by one factor, keeping their shares, so that together
// they sum to total.
func scaleAll(phases []PhaseProfile, total time.Duration) {
	var sum time.Duration
	for i := range phases {
		sum += phases[i].Time()
	}
	if sum <= 0 || total <= 0 {
		return
	}
	f := float64(total) / float64(sum)
	for i := range phases {
		for k := range phases[i].Kernels {
			phases[i].Kernels[k].Time = time.Duration(f * float64(phases[i].Kernels[k].Time))
		}
	}
}

// kernelAcc sums kernel times by kernel name; with a mask, attention counts visible pairs only.
type kernelAcc struct {
	mask  *seq.Mask
	pairs map[vk.PairWork]float64 // visible pairs by dispatch extent
	sums  map[string]*KernelTime
}

func (a kernelAcc) add(k KernelTime) {
	t := a.sums[k.Kernel]
	if t == nil {
		t = &KernelTime{Kernel: k.Kernel}
		a.sums[k.Kernel] = t
	}
	t.Dispatches += k.Dispatches
	t.Time += k.Time
	t.FLOPs += k.FLOPs
	t.Bytes += k.Bytes
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
		return ErrNoProfile
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
		a.add(KernelTime{Kernel: w.Label, Dispatches: runs, Time: time.Duration(r * float64(durs[i])),
			FLOPs: r * w.FLOPs, Bytes: r * w.Bytes})
	}
	return nil
}

func (a kernelAcc) sorted() []KernelTime {
	out := make([]KernelTime, 0, len(a.sums))
	for _, k := range a.sums {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		return out[i].Kernel < out[j].Kernel
	})
	return out
}
