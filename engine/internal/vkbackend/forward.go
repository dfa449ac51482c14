package vkbackend

import (
	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/vk"
)

// forward records the decoder over n tokens whose ids and positions are the given bindings, the
// first at absolute position q0, attending keys [0, nk) of the KV cache under the mask words in
// acts.mask. The tokens' K and V land in cache rows [q0, q0+n); their final residual stream is in
// acts.x rows [0, n). With reach, acts.reach holds gpu.MaskReach of the mask (masks built on the
// host): query tiles stop at the last key they can see. Masks rebuilt on the device (the release
// rule) have no reach and visit every key. With manyTile every matmul takes the many-token tile
// whatever n, so that a short forward (a cached prefix) gives bit for bit the rows a long one
// gives: every other kernel already computes each row on its own.
func (b *Backend) forward(r *recorder, ids, pos vk.Binding, q0, n, nk int, reach, manyTile bool) {
	a, k, acts, w := b.a, &b.k, &b.acts, b.w
	qw, kw := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	s := r.s
	x := r.rows(acts.x, 0, n, a.Hidden)
	h := r.rows(acts.h, 0, n, a.Hidden)
	q := r.rows(acts.q, 0, n, qw)
	kt := r.rows(acts.kt, 0, n, kw)
	att := r.rows(acts.att, 0, n, qw)
	gate := r.rows(acts.gate, 0, n, a.FFN)
	up := r.rows(acts.up, 0, n, a.FFN)
	act := r.rows(acts.act, 0, n, a.FFN)
	mask := r.rows(acts.mask, 0, max(nk, q0+n), 1)
	var reachB vk.Binding
	if reach {
		reachB = r.rows(acts.reach, 0, max(nk, q0+n), 1)
	}
	if r.err != nil {
		return
	}
	r.check(k.embed.Record(s, w.embed, ids, x, n))
	for i := range w.layers {
		l := &w.layers[i]
		kc := r.rows(acts.kc[i], 0, max(nk, q0+n), kw)
		vc := r.rows(acts.vc[i], 0, max(nk, q0+n), kw)
		an := r.rows(l.attnNorm, 0, a.Hidden, 1)
		fn := r.rows(l.ffnNorm, 0, a.Hidden, 1)
		if r.err != nil {
			return
		}
		r.check(k.rms.Record(s, x, an, h, n, a.Hidden))
		r.check(k.mm.Record(s, l.wq, gpu.MatmulArgs{X: h, Y: q, N: n, ManyTile: manyTile}))
		r.check(k.mm.Record(s, l.wk, gpu.MatmulArgs{X: h, Y: kt, N: n, ManyTile: manyTile}))
		// V lands in its cache rows directly; RoPE writes the rotated K there (the append).
		r.check(k.mm.Record(s, l.wv, gpu.MatmulArgs{X: h, Y: r.rows(acts.vc[i], q0, n, kw), N: n, ManyTile: manyTile}))
		r.check(k.rope.Record(s, gpu.RoPEArgs{Pos: pos, N: n, Q: q, K: kt, KOut: kc, KOutRow: q0}))
		r.check(k.attn.Record(s, gpu.AttentionArgs{Q: q, K: kc, V: vc, Mask: mask, MaskLen: max(nk, q0+n), Reach: reachB, Out: att, NQ: n, NK: nk, Q0: q0}))
		r.check(k.mm.Record(s, l.wo, gpu.MatmulArgs{X: att, Y: x, N: n, Accumulate: true, ManyTile: manyTile}))
		r.check(k.rms.Record(s, x, fn, h, n, a.Hidden))
		r.check(k.mm.Record(s, l.wgate, gpu.MatmulArgs{X: h, Y: gate, N: n, ManyTile: manyTile}))
		r.check(k.mm.Record(s, l.wup, gpu.MatmulArgs{X: h, Y: up, N: n, ManyTile: manyTile}))
		r.check(k.silu.Record(s, gate, up, act, n, a.FFN))
		r.check(k.mm.Record(s, l.wdown, gpu.MatmulArgs{X: act, Y: x, N: n, Accumulate: true, ManyTile: manyTile}))
	}
}

// finalNorm records fin rows [f0, f0+n) = RMSNorm(x rows [x0, x0+n)).
func (b *Backend) finalNorm(r *recorder, x0, f0, n int) {
	a := b.a
	x := r.rows(b.acts.x, x0, n, a.Hidden)
	fin := r.rows(b.acts.fin, f0, n, a.Hidden)
	wn := r.rows(b.w.finalNorm, 0, a.Hidden, 1)
	if r.err == nil {
		r.check(b.k.rms.Record(r.s, x, wn, fin, n, a.Hidden))
	}
}
