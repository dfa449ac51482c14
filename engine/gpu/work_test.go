package gpu

import (
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// Each kernel's Record states its work: the commands of a recorded sequence come back in order
// with their kernel, and the work matches the shapes the test recorded.
func TestRecordedWork(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	const n, rows, cols, subset = 5, 45, 96, 7
	mm := newTestMatmul(t, dev, matmulConfigFor(dev.Info))
	w := uploadWeight(t, dev, randWeight(t, r, quant.Q4_0, rows, cols))
	x := upload(t, dev, randFloats(r, n*cols, 1))
	y := poisoned(t, dev, n*rows)
	ids := uploadI32(t, dev, randRows(r, rows, subset))

	const heads, kvHeads, hd, nq, nk, q0 = 4, 2, 16, 5, 11, 6
	at, err := NewAttention(dev, AttentionShape{Heads: heads, KVHeads: kvHeads, HeadDim: hd})
	if err != nil {
		t.Fatal(err)
	}
	q := upload(t, dev, randFloats(r, nq*heads*hd, 1))
	kv := upload(t, dev, randFloats(r, nk*kvHeads*hd, 1))
	out := poisoned(t, dev, nq*heads*hd)
	m := seq.CausalMask(nk)
	mask := uploadI32(t, dev, words(t, m))
	rms, err := NewRMSNorm(dev, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	norm := upload(t, dev, randFloats(r, cols, 1))

	rope, err := NewRoPE(dev, heads, kvHeads, hd, 1e6, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer rope.Close()
	pos := uploadI32(t, dev, []int32{3, 9, 27, 40, 63})
	silu, err := NewSiLUMul(dev)
	if err != nil {
		t.Fatal(err)
	}
	const vocab = 13
	tab := upload(t, dev, randFloats(r, vocab*cols, 1))
	table, err := EmbedTableIn(tab, 0, quant.F32, vocab, cols)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbed(dev)
	if err != nil {
		t.Fatal(err)
	}
	tokIDs := uploadI32(t, dev, []int32{4, 12, 0})

	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Timing = dev.Info.Timestamps
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(mm.Record(s, w, MatmulArgs{X: bind(t, x), Y: bind(t, y), N: n}))
	must(mm.Record(s, w, MatmulArgs{X: bind(t, x), Y: bind(t, y), N: n, Rows: bind(t, ids), NRows: subset, Accumulate: true}))
	must(at.Record(s, AttentionArgs{Q: bind(t, q), K: bind(t, kv), V: bind(t, kv), Mask: bind(t, mask), Out: bind(t, out), NQ: nq, NK: nk, Q0: q0}))
	xb, _ := x.Bind(0, 4*3*cols)
	must(rms.Record(s, xb, bind(t, norm), xb, 3, cols))
	yb, _ := y.Bind(0, 64)
	s.Copy(yb, xb)
	must(rope.Record(s, RoPEArgs{Pos: bind(t, pos), N: nq, Q: bind(t, q), K: bind(t, out)}))
	g1, err := x.Bind(0, 4*2*8)
	must(err)
	g2, err := x.Bind(256, 4*2*8)
	must(err)
	must(silu.Record(s, g1, g2, yb, 2, 8))
	must(emb.Record(s, table, bind(t, tokIDs), xb, 3))
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}

	works := s.Work()
	if len(works) != 8 {
		t.Fatalf("%d commands, recorded 8", len(works))
	}
	q4, q4s := quant.RowBytes(quant.Q4_0, cols)
	for i, c := range []struct {
		kernel       string
		flops, bytes float64
	}{
		{"matmul q4_0", 2 * n * rows * cols, 4*n*cols + 4*n*rows + rows*float64(q4+q4s)},
		{"matmul q4_0", 2 * n * subset * cols, 4*n*cols + 2*4*n*subset + subset*float64(q4+q4s)},
		{"attention", 4 * heads * hd * nq * nk, 4 * hd * (2*heads*nq + 2*kvHeads*nk + nk)},
		{"rmsnorm", 4 * 3 * cols, 4 * (2*3*cols + cols)},
		{"copy", 0, 2 * 64},
		{"rope", 3 * nq * hd * (heads + kvHeads), 4*2*nq*hd*(heads+kvHeads) + 4*nq},
		{"silu_mul", 5 * 2 * 8, 4 * 3 * 2 * 8},
		{"embed f32", 0, 4 * 3 * cols},
	} {
		if w := works[i]; w.Label != c.kernel || w.FLOPs != c.flops || w.Bytes != c.bytes {
			t.Errorf("command %d: %+v, want %s with %g FLOPs and %g bytes", i, w, c.kernel, c.flops, c.bytes)
		}
	}
	a := works[2].Pairs
	if a.Q0 != q0 || a.NQ != nq || a.NK != nk {
		t.Fatalf("attention extent %+v", a)
	}
	// causal: query q sees keys 0..q
	if got, want := a.VisiblePairs(m.Allowed), float64(7+8+9+10+11); got != want {
		t.Errorf("visible pairs %g, want %g", got, want)
	}
	if dev.Info.Timestamps {
		durs, err := s.Durations()
		if err != nil || len(durs) != len(works) {
			t.Fatalf("%d durations for %d commands (%v)", len(durs), len(works), err)
		}
	}
}
