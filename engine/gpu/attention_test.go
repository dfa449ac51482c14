package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// attnLimit: with scores of order 1 the fp32 errors are the dot product's (a few ulp of |q||k|,
// ~1e-6 absolute on a score, the same relative on a weight), exp2's few ulp, and the running sums
// over up to 1587 keys of positive weights (a random walk of sqrt(nk)·2^-24 ≈ 2.4e-6 relative):
// 2e-5 of the largest output leaves a margin of ~4x over their sum.
const attnLimit = 2e-5

// attnLargeLogitLimit: with logits of size S the score's absolute fp32 error grows like S·2^-24
// per rounding (S up to ~1600 here: ~1e-4 after the dot product's roundings), and a weight's relative
// error equals its score's absolute error; 1e-3 bounds that, while an unstable softmax (overflow,
// a lost maximum) gives NaN or O(1) errors.
const attnLargeLogitLimit = 1e-3

type attnCase struct {
	name           string
	heads, kv, hd  int
	nq, nk, q0     int
	mask           *seq.Mask
	qScale, kScale float64
	limit          float64
	kStride        int    // floats between K/V rows; 0 is dense
	noReach        bool   // run without the reach buffer
	flash          bool   // the kernel must run a flash variant
	f16            bool   // the kernel rounds q, k and v to fp16: so does the reference
	nanKeys        [2]int // keys [lo, hi) hold NaN in K and V on the device: the kernel must not read them
}

// runAttention runs one case on the device and the reference and compares them.
func runAttention(t *testing.T, dev *vk.Device, r *rand.Rand, c attnCase) {
	t.Helper()
	sh := AttentionShape{Heads: c.heads, KVHeads: c.kv, HeadDim: c.hd}
	k, err := NewAttention(dev, sh)
	if err != nil {
		t.Fatal(err)
	}
	if c.flash && k.flash == nil {
		t.Fatalf("%s: %q built no flash pipeline", c.name, dev.Kernels)
	}
	qw, kw := c.heads*c.hd, c.kv*c.hd
	stride := kw
	if c.kStride != 0 {
		stride = c.kStride
	}
	q := randFloats(r, c.nq*qw, c.qScale)
	kk := randFloats(r, c.nk*kw, c.kScale)
	v := randFloats(r, c.nk*kw, 1)
	qPos, kPos := make([]int32, c.nq), make([]int32, c.nk)
	for i := range qPos {
		qPos[i] = int32(c.q0 + i)
	}
	for i := range kPos {
		kPos[i] = int32(i)
	}
	rq, rk, rv := q, kk, v
	if c.f16 {
		rq, rk, rv = roundF16(q), roundF16(kk), roundF16(v)
	}
	want, err := ref.Attention(rq, qPos, rk, rv, kPos, ref.AttnShape{Heads: c.heads, KVHeads: c.kv, HeadDim: c.hd}, c.mask)
	if err != nil {
		t.Fatal(err)
	}
	// K and V rows at the given stride, the gaps poisoned: a kernel reading them gives NaN.
	spread := func(x []float32) []float32 {
		out := make([]float32, c.nk*stride)
		for i := range out {
			out[i] = math.Float32frombits(poison)
		}
		for i := range c.nk {
			copy(out[i*stride:], x[i*kw:(i+1)*kw])
			if i >= c.nanKeys[0] && i < c.nanKeys[1] {
				for j := range kw {
					out[i*stride+j] = float32(math.NaN())
				}
			}
		}
		return out
	}
	qb, kb, vb := upload(t, dev, q), upload(t, dev, spread(kk)), upload(t, dev, spread(v))
	mb, ob := uploadI32(t, dev, words(t, c.mask)), poisoned(t, dev, c.nq*qw)
	args := AttentionArgs{Q: bind(t, qb), K: bind(t, kb), V: bind(t, vb), KStride: c.kStride,
		Mask: bind(t, mb), MaskLen: c.mask.Len(), Out: bind(t, ob), NQ: c.nq, NK: c.nk, Q0: c.q0}
	if !c.noReach {
		args.Reach = bind(t, uploadI32(t, dev, reach(t, c.mask)))
	}
	run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Record(s, args)) })
	checkErr(t, c.name, download(t, ob, c.nq*qw), want, c.limit)
}

func TestAttention(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	paper, release := calvinMasks()
	// Position 0 is PAD in a causal block: query 0 sees no key and must output zeros.
	lonely := randMask(r, 40)
	lonely.Pad[0], lonely.Bidir[0] = true, false
	for _, c := range []attnCase{
		{name: "mha hd=16", heads: 3, kv: 3, hd: 16, nq: 33, nk: 70, q0: 37, mask: randMask(r, 70)},
		{name: "mha hd=16 without reach", heads: 3, kv: 3, hd: 16, nq: 33, nk: 70, q0: 37, mask: randMask(r, 70), noReach: true},
		{name: "gqa x2 hd=16", heads: 4, kv: 2, hd: 16, nq: 7, nk: 33, q0: 26, mask: randMask(r, 33)},
		{name: "gqa x4 hd=128", heads: 8, kv: 2, hd: 128, nq: 9, nk: 50, q0: 41, mask: randMask(r, 50)},
		{name: "hd=6 one query", heads: 2, kv: 1, hd: 6, nq: 1, nk: 17, q0: 16, mask: randMask(r, 17)},
		{name: "queries before the last keys", heads: 2, kv: 1, hd: 16, nq: 20, nk: 60, q0: 10, mask: randMask(r, 60)},
		{name: "no visible key", heads: 2, kv: 2, hd: 16, nq: 40, nk: 40, q0: 0, mask: lonely},
		{name: "unaligned key rows (scalar kernel)", heads: 4, kv: 2, hd: 16, nq: 19, nk: 45, q0: 26, mask: randMask(r, 45), kStride: 34},
		{name: "scalar kernel without reach", heads: 4, kv: 2, hd: 16, nq: 19, nk: 45, q0: 26, mask: randMask(r, 45), kStride: 34, noReach: true},
		{name: "padded key rows", heads: 4, kv: 2, hd: 16, nq: 19, nk: 45, q0: 26, mask: randMask(r, 45), kStride: 40},
		{name: "calvin paper 817x1587", heads: 2, kv: 1, hd: 16, nq: 817, nk: 1587, q0: 770, mask: paper},
		{name: "calvin release 817x1587", heads: 2, kv: 1, hd: 16, nq: 817, nk: 1587, q0: 770, mask: release, noReach: true},
	} {
		c.qScale, c.kScale, c.limit = 1, 1, attnLimit
		runAttention(t, dev, r, c)
	}
}

// Over 2500 keys with logits of several hundred (q and k of standard deviation 20: scores
// q·k/sqrt(hd) of standard deviation 400), where a softmax without a running maximum overflows.
func TestAttentionStableOverManyKeysAndLargeLogits(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	const nk = 2500
	all := &seq.Mask{Block: make([]int32, nk), Bidir: make([]bool, nk), Pad: make([]bool, nk)}
	for i := range all.Bidir {
		all.Bidir[i] = true
	}
	runAttention(t, dev, r, attnCase{name: "2500 keys, large logits", heads: 2, kv: 1, hd: 32, nq: 5, nk: nk, q0: nk - 5,
		mask: all, qScale: 20, kScale: 20, limit: attnLargeLogitLimit})
	runAttention(t, dev, r, attnCase{name: "2500 keys, logits of size 16", heads: 2, kv: 1, hd: 32, nq: 5, nk: nk, q0: nk - 5,
		mask: all, qScale: 4, kScale: 4, limit: attnLargeLogitLimit})
	runAttention(t, dev, r, attnCase{name: "2500 keys, causal", heads: 4, kv: 1, hd: 32, nq: 11, nk: nk, q0: nk - 11,
		mask: seq.CausalMask(nk), qScale: 1, kScale: 1, limit: attnLimit})
}

func TestAttentionRejectsBadInput(t *testing.T) {
	dev := vktest.Device(t)
	for _, sh := range []AttentionShape{{3, 2, 16}, {2, 1, 0}, {2, 1, 300}, {0, 1, 8}} {
		if _, err := NewAttention(dev, sh); err == nil {
			t.Errorf("%+v accepted", sh)
		}
	}
	k, err := NewAttention(dev, AttentionShape{Heads: 2, KVHeads: 1, HeadDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	b := bind(t, poisoned(t, dev, 160))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := AttentionArgs{Q: b, K: b, V: b, Mask: b, MaskLen: 10, Out: b, NQ: 2, NK: 10, Q0: 8}
	if err := k.Record(s, ok); err != nil {
		t.Fatal(err)
	}
	s.Reset()
	for _, a := range []AttentionArgs{
		{Q: b, K: b, V: b, Mask: b, MaskLen: 11, Out: b, NQ: 11, NK: 10},                                               // q needs 176 floats
		{Q: b, K: b, V: b, Mask: b, MaskLen: 10, Out: b, NQ: 2, NK: 10, Q0: 9},                                         // positions 9, 10 outside the mask
		{Q: b, K: b, V: b, Mask: b, MaskLen: 170, Out: b, NQ: 2, NK: 10, Q0: 80},                                       // mask words need 680 bytes
		{Q: b, K: b, V: b, Mask: b, MaskLen: 10, Out: b, NQ: 2, NK: 10, Q0: 8, Reach: vk.Binding{Buf: b.Buf, Size: 8}}, // short reach
		{Q: b, K: b, V: b, Mask: b, MaskLen: 10, Out: b, NQ: 0, NK: 10},
		{Q: b, K: b, V: b, Mask: b, MaskLen: 10, Out: b, NQ: 2, NK: 10, QStride: 8},
	} {
		if k.Record(s, a) == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// attnFlops counts 4·hd flops (q·k and p·v) per visible (query, key, head).
func attnFlops(m *seq.Mask, nq, nk, q0, heads, hd int) float64 {
	var pairs int
	for i := range nq {
		for j := range nk {
			if m.Allowed(q0+i, j) {
				pairs++
			}
		}
	}
	return float64(pairs) * float64(heads) * 4 * float64(hd)
}

// BenchmarkAttention: a CALVIN step's 817 generated queries over 1587 keys under the paper mask,
// with and without the reach buffer, unmasked, and causal (where the reach skips a quarter of the
// keys). GFLOP/s counts 4·head_dim flops per visible (query, key, head) only. The default shape keeps the head
// layout of Emu3-8B (GQA x4, head dim 128) with 8 of its 32 heads; UDVLA_BENCH_FULL=1 runs all 32
// (about 9.6 GFLOP, seconds per iteration on lavapipe).
func BenchmarkAttention(b *testing.B) {
	dev := benchDevice(b)
	heads, kv, hd := 8, 2, 128
	if os.Getenv("UDVLA_BENCH_FULL") != "" {
		heads, kv = 32, 8
	}
	for _, mc := range benchMasks() {
		b.Run(fmt.Sprintf("%s/heads=%d", mc.name, heads), func(b *testing.B) { benchAttention(b, dev, heads, kv, hd, mc.m, mc.reach) })
	}
}

type benchMask struct {
	name  string
	m     *seq.Mask
	reach bool
}

// benchMasks are the masks of the attention benchmarks over a CALVIN step's 1587 keys.
func benchMasks() []benchMask {
	const nk = 1587
	paper, _ := calvinMasks()
	full := &seq.Mask{Block: make([]int32, nk), Bidir: make([]bool, nk), Pad: make([]bool, nk)}
	for i := range full.Bidir {
		full.Bidir[i] = true
	}
	return []benchMask{
		{"paper", paper, true}, {"paper-no-reach", paper, false}, {"unmasked", full, true},
		{"causal", seq.CausalMask(nk), true}, {"causal-no-reach", seq.CausalMask(nk), false},
	}
}

// benchAttention times the device's attention kernel on 817 queries at 770 over the mask's 1587
// keys, reporting GFLOP/s of the visible pairs.
func benchAttention(b *testing.B, dev *vk.Device, heads, kv, hd int, m *seq.Mask, useReach bool) {
	const nq, nk, q0 = 817, 1587, 770
	k, err := NewAttention(dev, AttentionShape{Heads: heads, KVHeads: kv, HeadDim: hd})
	if err != nil {
		b.Fatal(err)
	}
	r := seed(b)
	qb, kb := upload(b, dev, randFloats(r, nq*heads*hd, 1)), upload(b, dev, randFloats(r, nk*kv*hd, 1))
	vb, ob := upload(b, dev, randFloats(r, nk*kv*hd, 1)), poisoned(b, dev, nq*heads*hd)
	args := AttentionArgs{Q: bind(b, qb), K: bind(b, kb), V: bind(b, vb), Mask: bind(b, uploadI32(b, dev, words(b, m))),
		MaskLen: nk, Out: bind(b, ob), NQ: nq, NK: nk, Q0: q0}
	if useReach {
		args.Reach = bind(b, uploadI32(b, dev, reach(b, m)))
	}
	var bytes float64 // the flash kernels' napkin math: K/V tiles read once per query tile
	if k.flash != nil {
		_, bytes = flashWork(k.shape, k.tiles, nq, nk)
	}
	benchRun(b, dev, bytes, attnFlops(m, nq, nk, q0, heads, hd), func(s *vk.Sequence) { mustRecord(b, k.Record(s, args)) })
}

// MaskWords must pack each position's flags, and MaskReach must be exactly one past the last key
// each position may attend, for any block numbering (blocks out of order included), or the kernel
// would skip visible keys.
func TestMaskWordsAndReach(t *testing.T) {
	r := seed(t)
	paper, release := calvinMasks()
	masks := []*seq.Mask{paper, release, seq.CausalMask(9)}
	for range 20 {
		n := 1 + r.IntN(60)
		m := randMask(r, n)
		if r.IntN(2) == 0 { // shuffle block numbers: later positions in earlier blocks
			for i := range m.Block {
				m.Block[i] = int32(r.IntN(4))
			}
		}
		masks = append(masks, m)
	}
	for mi, m := range masks {
		w, rc := words(t, m), reach(t, m)
		n := m.Len()
		if len(w) != n || len(rc) != n {
			t.Fatalf("mask %d: %d words and %d reaches for %d positions", mi, len(w), len(rc), n)
		}
		for q := range n {
			want := 0
			for k := range n {
				if m.Allowed(q, k) {
					want = k + 1
				}
			}
			if int(rc[q]) != want || w[q]>>2 != m.Block[q] || (w[q]&1 != 0) != m.Bidir[q] || (w[q]&2 != 0) != m.Pad[q] {
				t.Fatalf("mask %d position %d: word %#x reach %d, want block %d bidir %v pad %v reach %d",
					mi, q, w[q], rc[q], m.Block[q], m.Bidir[q], m.Pad[q], want)
			}
		}
	}
	bad := &seq.Mask{Block: []int32{0, -1}, Bidir: make([]bool, 2), Pad: make([]bool, 2)}
	if _, err := MaskWords(bad, nil); err == nil {
		t.Error("MaskWords accepted a negative block")
	}
	if _, err := MaskReach(bad, nil); err == nil {
		t.Error("MaskReach accepted a negative block")
	}
}
