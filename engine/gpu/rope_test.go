package gpu

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// ropeLimit: the device rotates with the reference's own float32 cos and sin, so a*c - b*s is
// the only difference: two fp32 products and a sum (or one fma) against the reference's float64
// evaluation, at most ~2 ulp (1.2e-7) of the larger term: 4e-7 of the largest output.
const ropeLimit = 4e-7

func TestRoPE(t *testing.T) {
	dev := vktest.Device(t)
	r := seed(t)
	for _, c := range []struct{ heads, kv, hd, n, maxPos int }{
		{4, 2, 16, 33, 2000}, {32, 8, 128, 7, 4096}, {3, 3, 6, 1, 5}, {6, 2, 64, 817, 1600},
	} {
		k, err := NewRoPE(dev, c.heads, c.kv, c.hd, 1e6, c.maxPos)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		qw, kw := c.heads*c.hd, c.kv*c.hd
		pos := make([]int32, c.n)
		for i := range pos {
			pos[i] = int32(r.IntN(c.maxPos))
		}
		pos[0] = int32(c.maxPos - 1)
		q, kk := randFloats(r, c.n*qw, 1), randFloats(r, c.n*kw, 1)
		wantQ, err := ref.RoPE(q, pos, c.heads, c.hd, 1e6)
		if err != nil {
			t.Fatal(err)
		}
		wantK, err := ref.RoPE(kk, pos, c.kv, c.hd, 1e6)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("heads=%d/%d hd=%d n=%d", c.heads, c.kv, c.hd, c.n)

		// in place
		qb, kb, pb := upload(t, dev, q), upload(t, dev, kk), uploadI32(t, dev, pos)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Record(s, RoPEArgs{Pos: bind(t, pb), N: c.n, Q: bind(t, qb), K: bind(t, kb)}))
		})
		checkErr(t, name+" q", download(t, qb, c.n*qw), wantQ, ropeLimit)
		checkErr(t, name+" k", download(t, kb, c.n*kw), wantK, ropeLimit)

		// K written into a cache at row 3 (the append), K itself left alone
		const row = 3
		qb2, kb2 := upload(t, dev, q), upload(t, dev, kk)
		cache := poisoned(t, dev, (row+c.n+2)*kw)
		run(t, dev, func(s *vk.Sequence) {
			mustRecord(t, k.Record(s, RoPEArgs{Pos: bind(t, pb), N: c.n, Q: bind(t, qb2), K: bind(t, kb2),
				KOut: bind(t, cache), KOutRow: row}))
		})
		got := download(t, cache, (row+c.n+2)*kw)
		checkErr(t, name+" k into cache", got[row*kw:(row+c.n)*kw], wantK, ropeLimit)
		for i, v := range slices.Concat(got[:row*kw], got[(row+c.n)*kw:]) {
			if math.Float32bits(v) != poison {
				t.Fatalf("%s: cache value %d outside the appended rows was written", name, i)
			}
		}
		if relErr(download(t, kb2, c.n*kw), kk) != 0 {
			t.Fatalf("%s: K changed while rotating into the cache", name)
		}
	}
}

// A position outside the table must not read outside it: that token's values become NaN, the
// other tokens are rotated normally.
func TestRoPEBadPositionIsNaN(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewRoPE(dev, 2, 1, 8, 1e4, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	r := seed(t)
	pos := []int32{3, 10, -1, 9}
	q, kk := randFloats(r, 4*16, 1), randFloats(r, 4*8, 1)
	qb, kb, pb := upload(t, dev, q), upload(t, dev, kk), uploadI32(t, dev, pos)
	run(t, dev, func(s *vk.Sequence) {
		mustRecord(t, k.Record(s, RoPEArgs{Pos: bind(t, pb), N: 4, Q: bind(t, qb), K: bind(t, kb)}))
	})
	gq, gk := download(t, qb, 4*16), download(t, kb, 4*8)
	for tok, bad := range []bool{false, true, true, false} {
		for _, v := range slices.Concat(gq[tok*16:(tok+1)*16], gk[tok*8:(tok+1)*8]) {
			if math.IsNaN(float64(v)) != bad {
				t.Fatalf("token %d at position %d: value %g", tok, pos[tok], v)
			}
		}
	}
}

func TestRoPERejectsBadInput(t *testing.T) {
	dev := vktest.Device(t)
	for _, c := range []struct{ heads, kv, hd, maxPos int }{{2, 1, 7, 10}, {0, 1, 8, 10}, {2, 1, 8, 0}} {
		if k, err := NewRoPE(dev, c.heads, c.kv, c.hd, 1e4, c.maxPos); err == nil {
			k.Close()
			t.Errorf("%+v accepted", c)
		}
	}
	k, err := NewRoPE(dev, 2, 1, 8, 1e4, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	b := bind(t, poisoned(t, dev, 40))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, a := range []RoPEArgs{
		{Pos: b, N: 3, Q: b, K: b},                      // q needs 48 floats
		{Pos: b, N: 2, Q: b, K: b, KOut: b, KOutRow: 4}, // cache rows 4..5 need 48
		{Pos: b, N: 0, Q: b, K: b},
		{Pos: b, N: 1, Q: b, K: b, KOutRow: 1}, // a row without an output
	} {
		if k.Record(s, a) == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// BenchmarkRoPE: Emu3 shape, 817 tokens, 32 q heads and 8 k heads of 128, in place.
func BenchmarkRoPE(b *testing.B) {
	dev := benchDevice(b)
	const n, heads, kv, hd = 817, 32, 8, 128
	k, err := NewRoPE(dev, heads, kv, hd, 1e6, 4096)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	r := seed(b)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(770 + i)
	}
	qb, kb, pb := upload(b, dev, randFloats(r, n*heads*hd, 1)), upload(b, dev, randFloats(r, n*kv*hd, 1)), uploadI32(b, dev, pos)
	bytes := float64(2 * 4 * n * (heads + kv) * hd)
	benchRun(b, dev, bytes, 0, func(s *vk.Sequence) {
		mustRecord(b, k.Record(s, RoPEArgs{Pos: bind(b, pb), N: n, Q: bind(b, qb), K: bind(b, kb)}))
	})
}
