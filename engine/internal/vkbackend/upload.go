package vkbackend

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

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
		if err := vk.WriteInt32s(w.dst, 0, w.v); err != nil {
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
		if err := vk.WriteInt32s(a.idsTail, 0, seqIDs[c:]); err != nil {
			return err
		}
		if err := vk.WriteInt32s(a.posTail, 0, tail); err != nil {
			return err
		}
	}
	for sp, ids := range l.Allowed {
		// The buffers are sized once for the model's spaces: recordings bind them.
		if int64(4*len(ids)) > b.allowed[sp].Size() {
			return fmt.Errorf("udvla: decoding space %d of %d ids exceeds the engine's %d", sp, len(ids), b.allowed[sp].Size()/4)
		}
		if err := vk.WriteInt32s(b.allowed[sp], 0, ids); err != nil {
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
	if err := vk.WriteInt32s(b.acts.mask, 0, words); err != nil {
		return err
	}
	reach, err := gpu.MaskReach(m, nil)
	if err != nil {
		return err
	}
	return vk.WriteInt32s(b.acts.reach, 0, reach)
}

// paramsStride is the distance in bytes between the step parameters of consecutive steps: each
// is bound at its own offset, which the device's storage-buffer alignment constrains.
func (b *Backend) paramsStride() int {
	a := max(int(b.dev.Info.MinStorageAlign), 1)
	return (gpu.StepParamsSize + a - 1) / a * a
}

// paramsSlot binds the step parameters in slot i.
func (b *Backend) paramsSlot(r *recorder, i int) vk.Binding {
	stride := b.paramsStride()
	return r.rows(b.acts.params, i*stride/4, gpu.StepParamsSize/4, 1)
}

// writeLoopParams writes the parameters of every step of every loop, once per request: loop i's
// step s into slot i*maxLoopSteps+s.
func (b *Backend) writeLoopParams(loops []vkLoop) error {
	stride := b.paramsStride()
	for _, lp := range loops {
		raw := make([]byte, lp.steps*stride)
		for s := 0; s < lp.steps; s++ {
			p, err := gpu.LoopParams(lp.seed, s, lp.steps, lp.a0, lp.a1, lp.sample, lp.confidence)
			if err != nil {
				return err
			}
			p = p.WithRule(lp.rule)
			if err := p.Put(raw[s*stride:]); err != nil {
				return err
			}
		}
		if err := b.acts.params.Write(int64(lp.index*maxLoopSteps*stride), raw); err != nil {
			return err
		}
	}
	return nil
}

// writeARParams writes the parameters of AR pass j into slot 0, which every AR pass reads: the
// passes are submitted one by one anyway, each read back for its token.
func (b *Backend) writeARParams(j int) error {
	var buf [gpu.StepParamsSize]byte
	p := gpu.ARParams(j)
	if err := p.Put(buf[:]); err != nil {
		return err
	}
	return b.acts.params.Write(0, buf[:])
}
