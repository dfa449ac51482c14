package vkbackend

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
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
	prefill *vk.Sequence // the cached prefix positions into the KV cache
	// loops are the denoising loops (vkLoop.index): JD3P's, or independent diffusion's image
	// loop, over the prefix and the image positions only, and its action loop
	loops   []*loopRec
	handoff *vk.Sequence   // independent diffusion: makes the image loop's output the state
	ar      []*vk.Sequence // AR: the pass that generates region position j
	actOff  int            // float offset of the action logits (aligned)
	free    bool           // AR over the whole vocabulary (decode.AR)
}

func (p *vkPlan) close() {
	p.prefill.Close()
	for _, lr := range p.loops {
		lr.close()
	}
	p.handoff.Close()
	for _, s := range p.ar {
		s.Close()
	}
}

// loopRec is the recordings of one denoising loop: segments of consecutive steps [s0, s1),
// recorded on first use, each step binding its own slot of the step parameters.
type loopRec struct {
	l      *seq.Layout // a layout of the plan's shape
	key    planKey     // the shape of the loop's steps (the image loop's region ends at BOA)
	actOff int         // vkPlan.actOff
	slot0  int         // the step parameters' slot of step 0
	segs   map[[2]int]*vk.Sequence
}

// maxSegments bounds the segments kept per loop: anytime decoding cuts segments where its
// deadline falls, and each cut is a recording of its own.
const maxSegments = 16

// trim drops every segment when more than maxSegments are kept. It is called before a loop runs,
// never while the segments of the last Decode may still be profiled.
func (lr *loopRec) trim() {
	if len(lr.segs) > maxSegments {
		lr.close()
	}
}

func (lr *loopRec) close() {
	for _, s := range lr.segs {
		s.Close()
	}
	lr.segs = map[[2]int]*vk.Sequence{}
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
	var err error
	if c := key.cached; c > 0 {
		if p.prefill, err = b.newSequence(); err != nil {
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
	switch key.mode {
	case decode.AR, decode.ARRestricted:
		p.ar = make([]*vk.Sequence, N)
		p.free = key.mode == decode.AR
	case decode.ID:
		imageKey := key
		imageKey.n = l.BOA
		p.loops = []*loopRec{p.loop(l, imageKey, 0), p.loop(l, key, 1)}
		if p.handoff, err = b.newSequence(); err != nil {
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
	default:
		p.loops = []*loopRec{p.loop(l, key, 0)}
	}
	b.plans[key] = p
	b.planOrder = append(b.planOrder, key)
	return p, nil
}

// loop makes the (empty) recordings of loop i, whose steps have the shape of key.
func (p *vkPlan) loop(l *seq.Layout, key planKey, i int) *loopRec {
	return &loopRec{l: l, key: key, actOff: p.actOff, slot0: i * maxLoopSteps, segs: map[[2]int]*vk.Sequence{}}
}

// newSequence is an empty sequence, timed where the device can.
func (b *Backend) newSequence() (*vk.Sequence, error) {
	s, err := b.dev.NewSequence()
	if err == nil {
		s.Timing = b.dev.Info.Timestamps
	}
	return s, err
}

// segment returns the recording of steps [s0, s1) of a loop, recording it on first use.
func (b *Backend) segment(lr *loopRec, s0, s1 int) (*vk.Sequence, error) {
	if s, ok := lr.segs[[2]int{s0, s1}]; ok {
		return s, nil
	}
	s, err := b.newSequence()
	if err != nil {
		return nil, err
	}
	r := &recorder{s: s}
	for step := s0; step < s1 && r.err == nil; step++ {
		b.recordStep(r, lr.l, lr.key, lr.actOff, lr.slot0+step)
	}
	if r.err == nil {
		r.check(s.Record())
	}
	if r.err != nil {
		s.Close()
		return nil, r.err
	}
	lr.segs[[2]int{s0, s1}] = s
	return s, nil
}

// releaseRule reports whether the mask of a rule follows the ids (recomputed on the device at
// every step, no reach).
func releaseRule(rule model.MaskRule) bool {
	return rule == model.MaskRelease || rule == model.MaskReleaseKV
}

// recordStep records one denoising step: the forward of the positions after the cached prefix,
// the shifted final rows, the lm_head of each decoding space, sampling and selection, all reading
// the step parameters in slot.
func (b *Backend) recordStep(r *recorder, l *seq.Layout, key planKey, actOff, slot int) {
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
	params := b.paramsSlot(r, slot)
	state, sampled, conf := r.rows(a.state, 0, N, 1), r.rows(a.sampled, 0, N, 1), r.rows(a.conf, 0, N, 1)
	for _, sp := range spaces {
		if sp.np == 0 {
			continue
		}
		nAllowed := len(l.Allowed[sp.sp])
		allowed := r.rows(b.allowed[sp.sp], 0, nAllowed, 1)
		logits := r.rows(a.logits, sp.off, sp.np*nAllowed, 1)
		if r.err != nil {
			return
		}
		r.check(k.mm.Record(s, b.w.lmHead, gpu.MatmulArgs{X: r.rows(a.fin, sp.p0, sp.np, b.a.Hidden), Y: logits, N: sp.np, Rows: allowed, NRows: nAllowed}))
		r.check(k.sample.Record(s, gpu.SampleArgs{Params: params, Logits: logits, Allowed: allowed, State: state,
			Sampled: sampled, Conf: conf, N: N, P0: sp.p0, NP: sp.np, NAllowed: nAllowed}))
	}
	if r.err == nil {
		r.check(k.sel.Record(s, gpu.SelectArgs{Params: params, State: state, Sampled: sampled, Conf: conf,
			C: r.rows(a.c, 0, N, 1), Out: r.rows(a.out, 0, N, 1), IDs: r.rows(a.idsRegion, 0, N, 1), N: N}))
	}
}

// arSequence returns the AR pass generating region position j, recording it on first use: the
// argmax over the position's space of the logits in fin row 0, then (unless j is last) the
// forward of the chosen token at position P+j, whose final row replaces fin row 0.
func (b *Backend) arSequence(l *seq.Layout, plan *vkPlan, j int) (*vk.Sequence, error) {
	if plan.ar[j] != nil {
		return plan.ar[j], nil
	}
	s, err := b.newSequence()
	if err != nil {
		return nil, err
	}
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
	params := b.paramsSlot(r, 0)
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

// warmUp runs each recording of a new plan once (a denoising loop's first step, recorded as a
// segment of its own, which anytime decoding runs) and then uploads the request again, which
// undoes what the runs changed. The driver compiles a pipeline when it first dispatches it
// (lavapipe JIT-compiles there), and that time belongs to the first use of a request shape, not
// to the prefill or the loop it would otherwise land in.
func (b *Backend) warmUp(l *seq.Layout, key planKey, plan *vkPlan) error {
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
		if err := b.writeARParams(0); err != nil {
			return err
		}
		if err := s.Run(); err != nil {
			return err
		}
	}
	for _, lr := range plan.loops {
		s, err := b.segment(lr, 0, 1)
		if err != nil {
			return err
		}
		if err := s.Run(); err != nil {
			return err
		}
	}
	if plan.handoff != nil {
		if err := plan.handoff.Run(); err != nil {
			return err
		}
	}
	return b.upload(l, key)
}
