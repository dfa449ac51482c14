package gpu

import (
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// A cached step as the engine records it: RoPE rotates the current tokens' q in place and writes
// their rotated k straight into the K cache after the cached prefix, their v lands in the V cache
// rows (here by a copy; the engine points the V projection's output at those rows), and attention reads [prefix ; current] from the caches. The result must match
// the reference run on the concatenated, separately rotated keys.
func TestCachedStepThroughKVCache(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	const heads, kv, hd, prefix, n, theta = 4, 2, 16, 37, 19, 1e4
	qw, kw := heads*hd, kv*hd
	pos := make([]int32, prefix+n)
	for i := range pos {
		pos[i] = int32(i)
	}
	mask := randMask(r, prefix+n)
	cachedK, err := ref.RoPE(randFloats(r, prefix*kw, 1), pos[:prefix], kv, hd, theta)
	if err != nil {
		t.Fatal(err)
	}
	cachedV := randFloats(r, prefix*kw, 1)
	q, k, v := randFloats(r, n*qw, 1), randFloats(r, n*kw, 1), randFloats(r, n*kw, 1)

	rq, err := ref.RoPE(q, pos[prefix:], heads, hd, theta)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := ref.RoPE(k, pos[prefix:], kv, hd, theta)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Attention(rq, pos[prefix:], slices.Concat(cachedK, rk), slices.Concat(cachedV, v), pos,
		ref.AttnShape{Heads: heads, KVHeads: kv, HeadDim: hd}, mask)
	if err != nil {
		t.Fatal(err)
	}

	rope, err := NewRoPE(dev, heads, kv, hd, theta, 128)
	if err != nil {
		t.Fatal(err)
	}
	defer rope.Close()
	att, err := NewAttention(dev, AttentionShape{Heads: heads, KVHeads: kv, HeadDim: hd})
	if err != nil {
		t.Fatal(err)
	}
	kCache := upload(t, dev, slices.Concat(cachedK, make([]float32, (n+5)*kw)))
	vCache := upload(t, dev, slices.Concat(cachedV, make([]float32, (n+5)*kw)))
	qb, kb, vb, pb := upload(t, dev, q), upload(t, dev, k), upload(t, dev, v), uploadI32(t, dev, pos[prefix:])
	mb, ob := uploadI32(t, dev, words(t, mask)), poisoned(t, dev, n*qw)
	run(t, dev, func(s *vk.Sequence) {
		mustRecord(t, rope.Record(s, RoPEArgs{Pos: bind(t, pb), N: n, Q: bind(t, qb), K: bind(t, kb),
			KOut: bind(t, kCache), KOutRow: prefix}))
		vRows := bind(t, vCache)
		vRows.Off, vRows.Size = vRows.Off+4*int64(prefix*kw), 4*int64(n*kw)
		s.Copy(bind(t, vb), vRows)
		mustRecord(t, att.Record(s, AttentionArgs{Q: bind(t, qb), K: bind(t, kCache), V: bind(t, vCache),
			Mask: bind(t, mb), MaskLen: mask.Len(), Reach: bind(t, uploadI32(t, dev, reach(t, mask))),
			Out: bind(t, ob), NQ: n, NK: prefix + n, Q0: prefix}))
	})
	checkErr(t, "cached step", download(t, ob, n*qw), want, attnLimit)
}
