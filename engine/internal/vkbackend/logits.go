package vkbackend

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// MaxLogitsTokens bounds a logits call: the embedding and the per-token dispatches index tokens
// along a workgroup dimension of at most 65535 on every Vulkan device.
const MaxLogitsTokens = 65535

// Logits runs a whole sequence through the model under a mask and reads back every logit: the
// inspection path (not the decoding loop), recorded per call. A sequence longer than the engine's
// buffers (sized for control steps: MaxInstruction and the model's layout) grows them first.
func (b *Backend) Logits(ids []int32, m *seq.Mask) ([]float32, error) {
	n, a := len(ids), b.a
	if n > MaxLogitsTokens {
		return nil, fmt.Errorf("udvla: %d tokens exceed the %d a logits call takes", n, MaxLogitsTokens)
	}
	if n > b.maxL {
		if err := b.growSequence(n); err != nil {
			return nil, err
		}
	}
	if m.Len() != n {
		return nil, fmt.Errorf("udvla: a mask of %d positions for %d tokens", m.Len(), n)
	}
	if err := b.writeMask(m); err != nil {
		return nil, err
	}
	if err := vk.WriteInt32s(b.acts.idsAll, 0, ids); err != nil {
		return nil, err
	}
	s, err := b.dev.NewSequence()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	r := &recorder{s: s}
	b.forward(r, r.rows(b.acts.idsAll, 0, n, 1), r.rows(b.acts.posAll, 0, n, 1), 0, n, n, true, false)
	b.finalNorm(r, 0, 0, n)
	if r.err != nil {
		return nil, r.err
	}
	if err := s.Run(); err != nil {
		return nil, err
	}
	out := make([]float32, 0, n*a.Vocab)
	chunk := int(b.logitsFloats / int64(a.Vocab))
	for r0 := 0; r0 < n; r0 += chunk {
		c := min(chunk, n-r0)
		s.Reset()
		rec := &recorder{s: s}
		y := rec.rows(b.acts.logits, 0, c*a.Vocab, 1)
		if rec.err == nil {
			rec.check(b.k.mm.Record(s, b.w.lmHead, gpu.MatmulArgs{X: rec.rows(b.acts.fin, r0, c, a.Hidden), Y: y, N: c}))
		}
		if rec.err != nil {
			return nil, rec.err
		}
		if err := s.Run(); err != nil {
			return nil, err
		}
		n := len(out)
		out = append(out, make([]float32, c*a.Vocab)...)
		if err := vk.ReadFloat32s(b.acts.logits, 0, out[n:]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// growSequence makes room for sequences of n tokens: new activations and RoPE tables replace the
// old ones only when all of them were made, so that a failure (out of device memory) leaves the
// engine as it was. The recordings refer to the old buffers and are dropped.
func (b *Backend) growSequence(n int) error {
	a := b.a
	rope, err := gpu.NewRoPE(b.dev, a.Heads, a.KVHeads, a.HeadDim, a.RopeTheta, n)
	if err != nil {
		return fmt.Errorf("udvla: room for %d tokens: %w", n, err)
	}
	old, oldL, oldFloats := b.acts, b.maxL, b.logitsFloats
	b.acts, b.maxL = vkActs{}, n
	if err := b.allocate(); err != nil {
		for _, buf := range b.acts.all {
			buf.Close()
		}
		rope.Close()
		b.acts, b.maxL, b.logitsFloats = old, oldL, oldFloats
		return fmt.Errorf("udvla: room for %d tokens: %w", n, err)
	}
	for _, buf := range old.all {
		buf.Close()
	}
	b.k.rope.Close()
	b.k.rope = rope
	for _, p := range b.plans {
		p.close()
	}
	b.plans, b.planOrder, b.last, b.lastJob, b.lastRuns = map[planKey]*vkPlan{}, nil, nil, nil, nil
	return nil
}
