package vkbackend

import (
	"fmt"
	"time"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// planKey identifies the recordings of a request shape: they are replayed for every request of
// the same shape, whatever its tokens and seed.
type planKey struct {
	p, n, boa int
	mode      decode.Mode
	rule      model.MaskRule
	cached    int // prefix positions forwarded once per control step into the KV cache
	// the sizes of the decoding spaces, which the recorded lm_head and sampling dispatches cover
	allowed [seq.NumSpaces]int
}

// planKeyFor is the recording key of a job: its shape, its attention rule and the prefix it
// caches (decode.Job.CachedPrefix).
func planKeyFor(job *decode.Job) planKey {
	l := job.Layout
	key := planKey{p: l.P(), n: l.N(), boa: l.BOA, mode: job.Mode, rule: job.AttentionRule(), cached: job.CachedPrefix()}
	for sp := range key.allowed {
		key.allowed[sp] = len(l.Allowed[sp])
	}
	return key
}

// vkPlan holds the recorded sequences of one request shape.
type vkPlan struct {
	key     planKey
	prefill *vk.Sequence   // the cached prefix positions into the KV cache
	step    *vk.Sequence   // one denoising step
	ar      []*vk.Sequence // AR: the pass that generates region position j
	// Independent diffusion: a step of the image loop, over the prefix and the image positions
	// only, and the handoff that makes the image loop's output the state.
	imageStep *vk.Sequence
	handoff   *vk.Sequence
	actOff    int  // float offset of the action logits (aligned)
	free      bool // AR over the whole vocabulary (decode.AR)
}

func (p *vkPlan) close() {
	p.prefill.Close()
	p.step.Close()
	p.imageStep.Close()
	p.handoff.Close()
	for _, s := range p.ar {
		s.Close()
	}
}

// Decode runs a job: it uploads the request, records its shape's plan on first use, then runs the
// prefill and the decoding loop.
func (b *Backend) Decode(job *decode.Job) (*decode.Result, error) {
	l, steps := job.Layout, job.Steps
	P, N := l.P(), l.N()
	if P+N > b.maxL || N > b.maxN {
		return nil, fmt.Errorf("udvla: sequence of %d tokens exceeds the engine's %d", P+N, b.maxL)
	}
	key := planKeyFor(job)
	if err := b.upload(l, key); err != nil {
		return nil, err
	}
	var d decode.Result
	compile := time.Now()
	_, known := b.plans[key]
	b.last, b.lastJob = nil, nil
	plan, err := b.plan(l, key)
	if err != nil {
		return nil, err
	}
	b.last, b.lastJob = plan, job
	if !known {
		if err := b.warmUp(l, key, plan, job.Seed, steps); err != nil {
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
		err = b.runLoop(job, plan.imageStep, vkLoop{seed: job.Seed, steps: steps, a0: 0, a1: l.BOA,
			sample: ref.PurposeSample, confidence: ref.PurposeConfidence}, &d)
		if err == nil {
			// The images are fixed to the image loop's output (its last sampled tokens), which
			// is also the next model input.
			err = plan.handoff.Run()
		}
		if err == nil {
			err = b.runLoop(job, plan.step, vkLoop{seed: job.Seed, steps: job.ActionSteps, a0: l.BOA, a1: N,
				sample: ref.PurposeActionSample, confidence: ref.PurposeActionConfidence,
				rule: ref.LoopRule{TauZero: true, FreezeAfterEOA: true}}, &d)
		}
		d.Generated = N
	default:
		err = b.runLoop(job, plan.step, vkLoop{seed: job.Seed, steps: steps, a0: 0, a1: N,
			sample: ref.PurposeSample, confidence: ref.PurposeConfidence}, &d)
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

// warmUp runs each recording of a new plan once and then uploads the request again, which undoes
// what the runs changed. The driver compiles a pipeline when it first dispatches it (lavapipe
// JIT-compiles there), and that time belongs to the first use of a request shape, not to the
// prefill or the loop it would otherwise land in.
func (b *Backend) warmUp(l *seq.Layout, key planKey, plan *vkPlan, seed uint64, steps int) error {
	var buf [gpu.StepParamsSize]byte
	params := func(p gpu.StepParams) error {
		if err := p.Put(buf[:]); err != nil {
			return err
		}
		return b.acts.params.Write(0, buf[:])
	}
	if plan.prefill != nil {
		if err := plan.prefill.Run(); err != nil {
			return err
		}
	}
	if key.mode.Autoregressive() {
		s, err := b.arSequence(l, plan, 0)
		if err != nil {
			return err
		}
		if err := params(gpu.ARParams(0)); err != nil {
			return err
		}
		if err := s.Run(); err != nil {
			return err
		}
	} else {
		p, err := gpu.LoopParams(seed, 0, steps, 0, l.N(), ref.PurposeSample, ref.PurposeConfidence)
		if err != nil {
			return err
		}
		if err := params(p); err != nil {
			return err
		}
		if err := plan.step.Run(); err != nil {
			return err
		}
		for _, s := range []*vk.Sequence{plan.imageStep, plan.handoff} {
			if s == nil {
				continue
			}
			if err := s.Run(); err != nil {
				return err
			}
		}
	}
	return b.upload(l, key)
}

// vkLoop is one denoising loop: its steps over region positions [a0, a1), its random streams and
// its rule.
type vkLoop struct {
	seed               uint64
	steps, a0, a1      int
	sample, confidence uint32
	rule               ref.LoopRule
}

// runLoop runs a denoising loop by replaying the recorded step: the host only writes the step's
// parameters.
func (b *Backend) runLoop(job *decode.Job, step *vk.Sequence, lp vkLoop, d *decode.Result) error {
	var buf [gpu.StepParamsSize]byte
	for s := 0; s < lp.steps; s++ {
		if ok, err := job.ProceedStep(s, 1, lp.steps); !ok {
			return err
		}
		t := time.Now()
		p, err := gpu.LoopParams(lp.seed, s, lp.steps, lp.a0, lp.a1, lp.sample, lp.confidence)
		if err != nil {
			return err
		}
		p = p.WithRule(lp.rule)
		if err := p.Put(buf[:]); err != nil {
			return err
		}
		if err := b.acts.params.Write(0, buf[:]); err != nil {
			return err
		}
		if err := step.Run(); err != nil {
			return err
		}
		d.Timings.Steps = append(d.Timings.Steps, time.Since(t))
		d.Timings.GPU += gpuTime(step)
		if b.trace {
			if err := b.traceState(); err != nil {
				return err
			}
		}
	}
	return nil
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
	var buf [gpu.StepParamsSize]byte
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
		p := gpu.ARParams(j)
		if err := p.Put(buf[:]); err != nil {
			return err
		}
		if err := b.acts.params.Write(0, buf[:]); err != nil {
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

// upload writes a request's tokens, positions, allowed ids and static mask into device buffers.
func (b *Backend) upload(l *seq.Layout, key planKey) error {
	a := &b.acts
	P, N := l.P(), l.N()
	region := l.Region
	if key.mode == decode.AR { // free generation: nothing pre-filled
		region = make([]int32, N)
		for j := range region {
			region[j] = l.Vocab.Mask
		}
	}
	seqIDs := l.Sequence(region)
	pos := make([]int32, N)
	for i := range pos {
		pos[i] = int32(P + i)
	}
	for _, w := range []struct {
		dst *vk.Buffer
		v   []int32
	}{{a.idsAll, seqIDs}, {a.idsRegion, region}, {a.state, region}, {a.posRegion, pos}} {
		if err := w.dst.Write(0, i32bytes(w.v)); err != nil {
			return err
		}
	}
	if c := key.cached; c > 0 && c < P {
		// The positions after a cached text start at row 0 of the tail buffers: a binding at
		// row c of the whole sequence would break the device's offset alignment.
		tail := make([]int32, P+N-c)
		for i := range tail {
			tail[i] = int32(c + i)
		}
		if err := a.idsTail.Write(0, i32bytes(seqIDs[c:])); err != nil {
			return err
		}
		if err := a.posTail.Write(0, i32bytes(tail)); err != nil {
			return err
		}
	}
	for sp, ids := range l.Allowed {
		// The buffers are sized once for the model's spaces: recordings bind them.
		if int64(4*len(ids)) > b.allowed[sp].Size() {
			return fmt.Errorf("udvla: decoding space %d of %d ids exceeds the engine's %d", sp, len(ids), b.allowed[sp].Size()/4)
		}
		if err := b.allowed[sp].Write(0, i32bytes(ids)); err != nil {
			return err
		}
	}
	// The release rules' mask is recomputed on the device at every step as well.
	m, err := seq.ForRule(key.rule, l, region)
	if err != nil {
		return err
	}
	return b.writeMask(m)
}

// writeMask uploads a host-built mask and its reach.
func (b *Backend) writeMask(m *seq.Mask) error {
	words, err := gpu.MaskWords(m, nil)
	if err != nil {
		return err
	}
	if err := b.acts.mask.Write(0, i32bytes(words)); err != nil {
		return err
	}
	reach, err := gpu.MaskReach(m, nil)
	if err != nil {
		return err
	}
	return b.acts.reach.Write(0, i32bytes(reach))
}

// MaxPlans bounds the request shapes whose recordings are kept (instruction lengths vary, and
// every shape holds its own command buffers).
const MaxPlans = 16

// word is the binding of 4-byte elements [i, i+n) of b, at any offset: for copies, which need no
// storage-binding alignment.
func word(b vk.Binding, i, n int) vk.Binding {
	return vk.Binding{Buf: b.Buf, Off: b.Off + 4*int64(i), Size: 4 * int64(n)}
}

// plan returns the recordings of a request shape, recording them on first use.
func (b *Backend) plan(l *seq.Layout, key planKey) (*vkPlan, error) {
	if p, ok := b.plans[key]; ok {
		return p, nil
	}
	if len(b.planOrder) >= MaxPlans {
		old := b.planOrder[0]
		b.planOrder = b.planOrder[1:]
		b.plans[old].close()
		delete(b.plans, old)
	}
	p := &vkPlan{key: key}
	P, N := key.p, key.n
	nImg := len(l.Allowed[seq.SpaceImage])
	p.actOff = (l.BOA*nImg + 63) / 64 * 64
	if int64(p.actOff+(N-l.BOA)*len(l.Allowed[seq.SpaceAction])) > b.logitsFloats {
		return nil, fmt.Errorf("udvla: the region's logits exceed the engine's buffer")
	}
	newSeq := func() (*vk.Sequence, error) {
		s, err := b.dev.NewSequence()
		if err == nil {
			s.Timing = b.dev.Info.Timestamps
		}
		return s, err
	}
	var err error
	if c := key.cached; c > 0 {
		if p.prefill, err = newSeq(); err != nil {
			return nil, err
		}
		r := &recorder{s: p.prefill}
		a := &b.acts
		// The host-built reach is exact for the prefix rows of a host mask; the release rules'
		// prefix rows visit every key, as their uncached rows do.
		b.forward(r, r.rows(a.idsAll, 0, c, 1), r.rows(a.posAll, 0, c, 1), 0, c, c, !releaseRule(key.rule), true)
		if c == P {
			b.finalNorm(r, P-1, 0, 1)
		}
		if r.err != nil {
			p.close()
			return nil, r.err
		}
	}
	if !key.mode.Autoregressive() {
		if p.step, err = newSeq(); err != nil {
			p.close()
			return nil, err
		}
		if err := b.recordStep(&recorder{s: p.step}, l, key, p.actOff); err != nil {
			p.close()
			return nil, err
		}
	} else {
		p.ar = make([]*vk.Sequence, N)
		p.free = key.mode == decode.AR
	}
	if key.mode == decode.ID {
		imageKey := key
		imageKey.n = l.BOA
		if p.imageStep, err = newSeq(); err != nil {
			p.close()
			return nil, err
		}
		if err := b.recordStep(&recorder{s: p.imageStep}, l, imageKey, p.actOff); err != nil {
			p.close()
			return nil, err
		}
		if p.handoff, err = newSeq(); err != nil {
			p.close()
			return nil, err
		}
		r := &recorder{s: p.handoff}
		out := r.rows(b.acts.out, 0, l.BOA, 1)
		state, ids := r.rows(b.acts.state, 0, l.BOA, 1), r.rows(b.acts.idsRegion, 0, l.BOA, 1)
		if r.err != nil {
			p.close()
			return nil, r.err
		}
		p.handoff.Copy(out, state)
		p.handoff.Copy(out, ids)
	}
	b.plans[key] = p
	b.planOrder = append(b.planOrder, key)
	return p, nil
}

// releaseRule reports whether the mask of a rule follows the ids (recomputed on the device at
// every step, no reach).
func releaseRule(rule model.MaskRule) bool {
	return rule == model.MaskRelease || rule == model.MaskReleaseKV
}

// recordStep records one denoising step: the forward of the positions after the cached prefix,
// the shifted final rows, the lm_head of each decoding space, sampling and selection.
func (b *Backend) recordStep(r *recorder, l *seq.Layout, key planKey, actOff int) error {
	a, k := &b.acts, &b.k
	P, N, boa, c := key.p, key.n, l.BOA, key.cached
	s := r.s
	release := releaseRule(key.rule)
	// Copies take any offset: the region's model input lands after the prefix in the whole
	// sequence (for the release mask and the uncached forward) and after the prefix's uncached
	// rows in the tail.
	src := r.rows(a.idsRegion, 0, N, 1)
	if (c < P || release) && r.err == nil {
		s.Copy(src, word(r.rows(a.idsAll, 0, P+N, 1), P, N))
	}
	if c > 0 && c < P && r.err == nil {
		s.Copy(src, word(r.rows(a.idsTail, 0, P+N-c, 1), P-c, N))
	}
	if release && r.err == nil {
		r.check(k.relMask.Record(s, r.rows(a.idsAll, 0, P+N, 1), r.rows(a.mask, 0, P+N, 1), P+N))
	}
	switch {
	case c == P:
		// Rows 1..N-1 of fin predict positions 1..N-1 from region positions 0..N-2; fin row 0
		// (the last prefix token) was written by the prefill.
		b.forward(r, src, r.rows(a.posRegion, 0, N, 1), P, N, P+N, !release, true)
		if N > 1 {
			b.finalNorm(r, 0, 1, N-1)
		}
	case c > 0:
		b.forward(r, r.rows(a.idsTail, 0, P+N-c, 1), r.rows(a.posTail, 0, P+N-c, 1), c, P+N-c, P+N, !release, true)
		b.finalNorm(r, P-1-c, 0, N)
	default:
		b.forward(r, r.rows(a.idsAll, 0, P+N, 1), r.rows(a.posAll, 0, P+N, 1), 0, P+N, P+N, !release, true)
		b.finalNorm(r, P-1, 0, N)
	}
	spaces := []struct {
		sp     uint8
		p0, np int
		off    int
	}{{seq.SpaceImage, 0, boa, 0}, {seq.SpaceAction, boa, N - boa, actOff}}
	params := r.rows(a.params, 0, gpu.StepParamsSize/4, 1)
	state, sampled, conf := r.rows(a.state, 0, N, 1), r.rows(a.sampled, 0, N, 1), r.rows(a.conf, 0, N, 1)
	for _, sp := range spaces {
		if sp.np == 0 {
			continue
		}
		nAllowed := len(l.Allowed[sp.sp])
		allowed := r.rows(b.allowed[sp.sp], 0, nAllowed, 1)
		logits := r.rows(a.logits, sp.off, sp.np*nAllowed, 1)
		if r.err != nil {
			return r.err
		}
		r.check(k.mm.Record(s, b.w.lmHead, gpu.MatmulArgs{X: r.rows(a.fin, sp.p0, sp.np, b.a.Hidden), Y: logits, N: sp.np, Rows: allowed, NRows: nAllowed}))
		r.check(k.sample.Record(s, gpu.SampleArgs{Params: params, Logits: logits, Allowed: allowed, State: state,
			Sampled: sampled, Conf: conf, N: N, P0: sp.p0, NP: sp.np, NAllowed: nAllowed}))
	}
	if r.err == nil {
		r.check(k.sel.Record(s, gpu.SelectArgs{Params: params, State: state, Sampled: sampled, Conf: conf,
			C: r.rows(a.c, 0, N, 1), Out: r.rows(a.out, 0, N, 1), IDs: r.rows(a.idsRegion, 0, N, 1), N: N}))
	}
	if r.err != nil {
		return r.err
	}
	return s.Record()
}

// arSequence returns the AR pass generating region position j, recording it on first use: the
// argmax over the position's space of the logits in fin row 0, then (unless j is last) the
// forward of the chosen token at position P+j, whose final row replaces fin row 0.
func (b *Backend) arSequence(l *seq.Layout, plan *vkPlan, j int) (*vk.Sequence, error) {
	if plan.ar[j] != nil {
		return plan.ar[j], nil
	}
	s, err := b.dev.NewSequence()
	if err != nil {
		return nil, err
	}
	s.Timing = b.dev.Info.Timestamps
	r := &recorder{s: s}
	a, k := &b.acts, &b.k
	P, N := l.P(), l.N()
	sp := l.Space[j]
	nAllowed := len(l.Allowed[sp])
	allowed := r.rows(b.allowed[sp], 0, nAllowed, 1)
	if plan.free { // the release's AR: the whole vocabulary
		nAllowed = b.a.Vocab
		allowed = r.rows(a.vocabIDs, 0, nAllowed, 1)
	}
	logits := r.rows(a.logits, 0, nAllowed, 1)
	params := r.rows(a.params, 0, gpu.StepParamsSize/4, 1)
	if r.err == nil {
		r.check(k.mm.Record(s, b.w.lmHead, gpu.MatmulArgs{X: r.rows(a.fin, 0, 1, b.a.Hidden), Y: logits, N: 1, Rows: allowed, NRows: nAllowed}))
		r.check(k.argmax.Record(s, gpu.ArgmaxARArgs{Params: params, Logits: logits, Allowed: allowed,
			State: r.rows(a.state, 0, N, 1), IDs: r.rows(a.idsRegion, 0, N, 1), N: N, NAllowed: nAllowed}))
	}
	if j < N-1 && r.err == nil {
		// The token and its position move to the AR scratch (copies take any offset).
		idsAt := r.rows(a.idsRegion, 0, N, 1)
		posAt := r.rows(a.posRegion, 0, N, 1)
		tokDst := r.rows(a.arToken, 0, 1, 1)
		posDst := r.rows(a.arPos, 0, 1, 1)
		s.Copy(word(idsAt, j, 1), tokDst)
		s.Copy(word(posAt, j, 1), posDst)
		b.forward(r, tokDst, posDst, P+j, 1, P+j+1, true, false)
		b.finalNorm(r, 0, 0, 1)
	}
	if r.err == nil {
		r.check(s.Record())
	}
	if r.err != nil {
		s.Close()
		return nil, r.err
	}
	plan.ar[j] = s
	return s, nil
}
