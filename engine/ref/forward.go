package ref

import (
	"fmt"
)

// ForwardOptions configure a forward pass.
type ForwardOptions struct {
	// Mask decides attention between absolute positions (required): seq.CausalMask, seq.PaperMask,
	// seq.ReleaseMask, or any Mask covering every position involved.
	Mask Mask
	// Cache, when set, holds tokens processed earlier: the queries attend [cached ; current].
	Cache *KVCache
	// Append adds the current tokens' K/V to Cache after the pass (prefill, AR decoding).
	Append bool
	// Rows restricts lm_head to these vocabulary rows (a decoding space); nil computes all.
	Rows []int32
}

// Forward returns the logits [len(ids), len(Rows) or vocab] of tokens ids at absolute positions pos
// (RoPE positions and mask positions alike).
func (m *Model) Forward(ids, pos []int32, opt ForwardOptions) ([]float32, error) {
	h, err := m.Hidden(ids, pos, opt)
	if err != nil {
		return nil, err
	}
	return m.Logits(h, opt.Rows)
}

// Logits applies lm_head (restricted to rows, or all when nil) to final hidden states [n, hidden].
func (m *Model) Logits(hidden []float32, rows []int32) ([]float32, error) {
	a := m.Arch
	if len(hidden)%a.Hidden != 0 {
		return nil, fmt.Errorf("logits: %d hidden values are not rows of %d", len(hidden), a.Hidden)
	}
	return MatMul(m.W.LMHead, a.Vocab, a.Hidden, hidden, len(hidden)/a.Hidden, rows)
}

// Hidden runs the decoder and returns the final-normed hidden states [len(ids), hidden]: the input
// of lm_head. Each layer is pre-norm:
//
//	x = x + Wo·Attention(RoPE(Wq·n), RoPE(Wk·n), Wv·n),  n = RMSNorm(x, attn_norm)
//	x = x + Wdown·(silu(Wgate·n)·(Wup·n)),              n = RMSNorm(x, ffn_norm)
func (m *Model) Hidden(ids, pos []int32, opt ForwardOptions) ([]float32, error) {
	a := m.Arch
	n := len(ids)
	if n == 0 || len(pos) != n {
		return nil, fmt.Errorf("forward: %d tokens and %d positions", n, len(pos))
	}
	if opt.Mask == nil {
		return nil, fmt.Errorf("forward: no mask")
	}
	if opt.Cache != nil {
		if err := opt.Cache.check(a); err != nil {
			return nil, err
		}
	} else if opt.Append {
		return nil, fmt.Errorf("forward: append without a cache")
	}
	x, err := Embed(m.W.Embed, a.Vocab, a.Hidden, ids)
	if err != nil {
		return nil, err
	}
	shape := AttnShape{Heads: a.Heads, KVHeads: a.KVHeads, HeadDim: a.HeadDim}
	qDim, kvDim := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	kPos := pos
	if opt.Cache != nil {
		kPos = append(append([]int32(nil), opt.Cache.Pos...), pos...)
	}
	newK, newV := make([][]float32, a.Layers), make([][]float32, a.Layers)
	for l := 0; l < a.Layers; l++ {
		w := &m.W.Layers[l]
		h, err := RMSNorm(x, n, a.Hidden, w.AttnNorm, a.RMSEps)
		if err != nil {
			return nil, err
		}
		q, err := MatMul(w.WQ, qDim, a.Hidden, h, n, nil)
		if err != nil {
			return nil, err
		}
		k, err := MatMul(w.WK, kvDim, a.Hidden, h, n, nil)
		if err != nil {
			return nil, err
		}
		v, err := MatMul(w.WV, kvDim, a.Hidden, h, n, nil)
		if err != nil {
			return nil, err
		}
		if q, err = RoPE(q, pos, a.Heads, a.HeadDim, a.RopeTheta); err != nil {
			return nil, err
		}
		if k, err = RoPE(k, pos, a.KVHeads, a.HeadDim, a.RopeTheta); err != nil {
			return nil, err
		}
		newK[l], newV[l] = k, v
		keys, values := k, v
		if opt.Cache != nil {
			keys = append(append([]float32(nil), opt.Cache.K[l]...), k...)
			values = append(append([]float32(nil), opt.Cache.V[l]...), v...)
		}
		att, err := Attention(q, pos, keys, values, kPos, shape, opt.Mask)
		if err != nil {
			return nil, err
		}
		o, err := MatMul(w.WO, a.Hidden, qDim, att, n, nil)
		if err != nil {
			return nil, err
		}
		if x, err = Add(x, o); err != nil {
			return nil, err
		}
		if h, err = RMSNorm(x, n, a.Hidden, w.FFNNorm, a.RMSEps); err != nil {
			return nil, err
		}
		gate, err := MatMul(w.WGate, a.FFN, a.Hidden, h, n, nil)
		if err != nil {
			return nil, err
		}
		up, err := MatMul(w.WUp, a.FFN, a.Hidden, h, n, nil)
		if err != nil {
			return nil, err
		}
		act, err := SiLUMul(gate, up)
		if err != nil {
			return nil, err
		}
		down, err := MatMul(w.WDown, a.Hidden, a.FFN, act, n, nil)
		if err != nil {
			return nil, err
		}
		if x, err = Add(x, down); err != nil {
			return nil, err
		}
	}
	// The cache only changes once the whole pass succeeded.
	if opt.Append {
		for l := 0; l < a.Layers; l++ {
			opt.Cache.K[l] = append(opt.Cache.K[l], newK[l]...)
			opt.Cache.V[l] = append(opt.Cache.V[l], newV[l]...)
		}
		opt.Cache.Pos = append(opt.Cache.Pos, pos...)
	}
	return RMSNorm(x, n, a.Hidden, m.W.Norm, a.RMSEps)
}
