package vkbackend

import (
	"fmt"
	"time"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
)

// Decode runs a job: it uploads the request and the step parameters of its whole decoding loop,
// records its shape's plan on first use, then runs the prefill and the loop. A denoising loop is
// submitted in a few segments of consecutive steps (loopSegments), each one command buffer: the
// host neither writes nor waits between the steps of a segment, and the job's Proceed is asked
// between segments.
func (b *Backend) Decode(job *decode.Job) (*decode.Result, error) {
	l := job.Layout
	P, N := l.P(), l.N()
	if P+N > b.maxL || N > b.maxN {
		return nil, fmt.Errorf("udvla: sequence of %d tokens exceeds the engine's %d", P+N, b.maxL)
	}
	loops, err := loopsOf(job)
	if err != nil {
		return nil, err
	}
	key := planKeyFor(job)
	if err := b.upload(l, key); err != nil {
		return nil, err
	}
	if err := b.writeLoopParams(loops); err != nil {
		return nil, err
	}
	var d decode.Result
	compile := time.Now()
	_, known := b.plans[key]
	b.last, b.lastJob, b.lastRuns = nil, nil, nil
	plan, err := b.plan(l, key)
	if err != nil {
		return nil, err
	}
	b.last, b.lastJob = plan, job
	if !known {
		if err := b.warmUp(l, key, plan); err != nil {
			return nil, err
		}
		d.Timings.Compile = time.Since(compile)
	}
	if plan.prefill != nil {
		t := time.Now()
		if err := plan.prefill.Run(); err != nil {
			return nil, err
		}
		d.Timings.Prefill = time.Since(t)
	}
	loop := time.Now()
	switch job.Mode {
	case decode.AR, decode.ARRestricted:
		err = b.runAR(job, plan, &d)
	case decode.ID:
		// The image loop runs over the prefix and the image positions only; the action positions
		// of the state and the input keep BOA and MASK meanwhile.
		err = b.runLoop(job, plan, loops[0], &d)
		if err == nil {
			// The images are fixed to the image loop's output (its last sampled tokens), which
			// is also the next model input.
			err = plan.handoff.Run()
		}
		if err == nil {
			err = b.runLoop(job, plan, loops[1], &d)
		}
		d.Generated = N
	default:
		err = b.runLoop(job, plan, loops[0], &d)
		d.Generated = N
	}
	if err != nil {
		return nil, err
	}
	d.Timings.Loop = time.Since(loop)
	d.StepsRun = len(d.Timings.Steps)
	// Diffusion: the sampled tokens of the last step run, which the selection leaves in out.
	src := b.acts.out
	if job.Mode.Autoregressive() {
		src = b.acts.state
	}
	raw := make([]byte, 4*N)
	if err := src.Read(0, raw); err != nil {
		return nil, err
	}
	d.Region = decodeI32(raw)
	return &d, nil
}

// maxLoopSteps bounds the steps of one denoising loop: the step parameters of every loop of a job
// are on the device at once, loop i's in slots [i*maxLoopSteps, (i+1)*maxLoopSteps).
const maxLoopSteps = 1024

// vkLoop is one denoising loop: its steps over region positions [a0, a1), its random streams, its
// rule, and its place in the plan (plan.loops) and in the step parameters.
type vkLoop struct {
	index              int
	seed               uint64
	steps, a0, a1      int
	sample, confidence uint32
	rule               ref.LoopRule
}

// loopsOf lists the denoising loops of a job: JD3P's one, independent diffusion's image loop and
// action loop, none for AR.
func loopsOf(job *decode.Job) ([]vkLoop, error) {
	l := job.Layout
	var loops []vkLoop
	switch job.Mode {
	case decode.AR, decode.ARRestricted:
		return nil, nil
	case decode.ID:
		loops = []vkLoop{
			{index: 0, seed: job.Seed, steps: job.Steps, a0: 0, a1: l.BOA,
				sample: ref.PurposeSample, confidence: ref.PurposeConfidence},
			{index: 1, seed: job.Seed, steps: job.ActionSteps, a0: l.BOA, a1: l.N(),
				sample: ref.PurposeActionSample, confidence: ref.PurposeActionConfidence,
				rule: ref.LoopRule{TauZero: true, FreezeAfterEOA: true}},
		}
	default:
		loops = []vkLoop{{index: 0, seed: job.Seed, steps: job.Steps, a0: 0, a1: l.N(),
			sample: ref.PurposeSample, confidence: ref.PurposeConfidence}}
	}
	for _, lp := range loops {
		if lp.steps < 1 || lp.steps > maxLoopSteps {
			return nil, fmt.Errorf("udvla: a loop of %d steps (the engine runs 1 to %d)", lp.steps, maxLoopSteps)
		}
	}
	return loops, nil
}

// runLoop runs a denoising loop as segments of consecutive steps, each a recorded command buffer
// that reads every step's parameters from the array written before the loop. Before each segment
// it asks the job whether to go on (and for how many of the segment's steps: anytime decoding
// runs the first step alone, to measure it, and fewer steps near its deadline).
func (b *Backend) runLoop(job *decode.Job, plan *vkPlan, lp vkLoop, d *decode.Result) error {
	lr := plan.loops[lp.index]
	lr.trim()
	for s := 0; s < lp.steps; {
		n := b.segmentLen(s, lp.steps)
		m, err := job.ProceedStep(s, n, lp.steps)
		if m <= 0 || err != nil {
			return err
		}
		m = min(m, n)
		seg, err := b.segment(lr, s, s+m)
		if err != nil {
			return err
		}
		t := time.Now()
		if err := seg.Run(); err != nil {
			return err
		}
		// The steps of a segment share its time equally: nothing tells them apart on the host.
		el := time.Since(t) / time.Duration(m)
		for i := 0; i < m; i++ {
			d.Timings.Steps = append(d.Timings.Steps, el)
		}
		d.Timings.GPU += gpuTime(seg)
		b.lastRuns = append(b.lastRuns, loopRun{loop: lp.index, steps: m, seq: seg})
		if b.trace {
			if err := b.traceState(); err != nil {
				return err
			}
		}
		s += m
	}
	return nil
}

// loopSegments is how many segments a denoising loop is split into by default: the host checks
// for cancellation between them (docs/PERFORMANCE.md, "Loop segments", has what the split costs).
const loopSegments = 4

// segmentLen is the length of the segment that starts at step s of a T-step loop: the loop cut
// into b.segments near-equal parts (one step per segment while tracing the state).
func (b *Backend) segmentLen(s, steps int) int {
	if b.trace {
		return 1
	}
	size := (steps + b.segments - 1) / b.segments
	return min(steps, (s/size+1)*size) - s
}

// loopRun is a segment the last Decode ran: what Profile reads.
type loopRun struct {
	loop, steps int
	seq         *vk.Sequence
}

func (b *Backend) traceState() error {
	raw := make([]byte, b.acts.state.Size())
	if err := b.acts.state.Read(0, raw); err != nil {
		return err
	}
	b.states = append(b.states, decodeI32(raw))
	return nil
}

func decodeI32(raw []byte) []int32 {
	out := make([]int32, len(raw)/4)
	for i := range out {
		out[i] = int32(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	}
	return out
}

// runAR generates the region one position at a time; it reads back each token to stop after
// the first EOA, as the reference does.
func (b *Backend) runAR(job *decode.Job, plan *vkPlan, d *decode.Result) error {
	l := job.Layout
	tok := make([]byte, 4)
	for j := 0; j < l.N(); j++ {
		if ok, err := job.ProceedToken(j, l.N()); !ok {
			return err
		}
		t := time.Now()
		s, err := b.arSequence(l, plan, j)
		if err != nil {
			return err
		}
		if err := b.writeARParams(j); err != nil {
			return err
		}
		if err := s.Run(); err != nil {
			return err
		}
		d.Timings.Steps = append(d.Timings.Steps, time.Since(t))
		d.Timings.GPU += gpuTime(s)
		d.Generated = j + 1
		if err := b.acts.state.Read(int64(4*j), tok); err != nil {
			return err
		}
		if decodeI32(tok)[0] == l.Vocab.EOA {
			break
		}
	}
	return nil
}

func gpuTime(s *vk.Sequence) time.Duration {
	t, err := s.GPUTime()
	if err != nil {
		return 0
	}
	return t
}
