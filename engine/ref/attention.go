package ref

import (
	"fmt"
	"math"
)

// Mask says which key position a query position may attend; positions are absolute indices of
// the sequence (seq.Mask implements it).
type Mask interface {
	Len() int
	Allowed(q, k int) bool
}

// AttnShape is the head layout of grouped-query attention: query head h reads K/V head
// h / (Heads/KVHeads).
type AttnShape struct {
	Heads, KVHeads, HeadDim int
}

// Attention computes, for each query t and head h, softmax_k(q·k / sqrt(HeadDim)) over the keys its
// position may attend, applied to the values:
//
//	q [len(qPos), Heads*HeadDim]; k, v [len(kPos), KVHeads*HeadDim]; out [len(qPos), Heads*HeadDim].
//
// qPos and kPos are the absolute positions of the queries and keys (for a KV-cached call, the keys
// are [cached ; current] and kPos lists both); mask is queried with them. The softmax subtracts the
// row maximum and accumulates in float64, so it is stable over thousands of keys. A query with no
// visible key (a PAD query under the release rule may see nothing) gets a zero output.
func Attention(q []float32, qPos []int32, k, v []float32, kPos []int32, s AttnShape, mask Mask) ([]float32, error) {
	if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 || s.Heads%s.KVHeads != 0 {
		return nil, fmt.Errorf("attention: bad shape %+v", s)
	}
	qw, kw := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	if len(q) != len(qPos)*qw || len(k) != len(kPos)*kw || len(v) != len(kPos)*kw {
		return nil, fmt.Errorf("attention: q %d, k %d, v %d values for %d queries and %d keys of shape %+v",
			len(q), len(k), len(v), len(qPos), len(kPos), s)
	}
	if mask == nil {
		return nil, fmt.Errorf("attention: no mask")
	}
	for _, ps := range [][]int32{qPos, kPos} {
		for _, p := range ps {
			if p < 0 || int(p) >= mask.Len() {
				return nil, fmt.Errorf("attention: position %d outside the mask's %d positions", p, mask.Len())
			}
		}
	}
	group := s.Heads / s.KVHeads
	scale := 1 / math.Sqrt(float64(s.HeadDim))
	out := make([]float32, len(qPos)*qw)
	scores := make([]float64, len(kPos))
	visible := make([]bool, len(kPos))
	acc := make([]float64, s.HeadDim)
	for t, qp := range qPos {
		seen := false
		for j, kp := range kPos {
			visible[j] = mask.Allowed(int(qp), int(kp))
			seen = seen || visible[j]
		}
		if !seen {
			continue
		}
		for h := 0; h < s.Heads; h++ {
			kvh := h / group
			qv := q[t*qw+h*s.HeadDim : t*qw+(h+1)*s.HeadDim]
			maxScore := math.Inf(-1)
			for j := range kPos {
				if !visible[j] {
					continue
				}
				kv := k[j*kw+kvh*s.HeadDim : j*kw+(kvh+1)*s.HeadDim]
				var dot float64
				for d := range qv {
					dot += float64(qv[d]) * float64(kv[d])
				}
				scores[j] = dot * scale
				maxScore = math.Max(maxScore, scores[j])
			}
			var sum float64
			for d := range acc {
				acc[d] = 0
			}
			for j := range kPos {
				if !visible[j] {
					continue
				}
				w := math.Exp(scores[j] - maxScore)
				sum += w
				vv := v[j*kw+kvh*s.HeadDim : j*kw+(kvh+1)*s.HeadDim]
				for d := range acc {
					acc[d] += w * float64(vv[d])
				}
			}
			o := out[t*qw+h*s.HeadDim : t*qw+(h+1)*s.HeadDim]
			for d := range o {
				o[d] = float32(acc[d] / sum)
			}
		}
	}
	return out, nil
}
