package ref

import (
	"math"
	"math/rand"
	"testing"

	"github.com/udvla/udvla/engine/seq"
)

// plainMHA is an independent multi-head attention: per head, a dense score matrix over all
// keys with -Inf for masked ones, a log-sum-exp softmax, then the weighted sum of values.
// Every head has its own K/V head (no grouping).
func plainMHA(q, k, v []float32, nq, nk, heads, hd int, allowed func(i, j int) bool) []float64 {
	out := make([]float64, nq*heads*hd)
	for h := 0; h < heads; h++ {
		for i := 0; i < nq; i++ {
			scores := make([]float64, nk)
			for j := 0; j < nk; j++ {
				scores[j] = math.Inf(-1)
				if allowed(i, j) {
					var s float64
					for d := 0; d < hd; d++ {
						s += float64(q[(i*heads+h)*hd+d]) * float64(k[(j*heads+h)*hd+d])
					}
					scores[j] = s / math.Sqrt(float64(hd))
				}
			}
			mx := math.Inf(-1)
			for _, s := range scores {
				mx = math.Max(mx, s)
			}
			var lse float64
			for _, s := range scores {
				lse += math.Exp(s - mx)
			}
			lse = mx + math.Log(lse)
			for j := 0; j < nk; j++ {
				p := math.Exp(scores[j] - lse)
				for d := 0; d < hd; d++ {
					out[(i*heads+h)*hd+d] += p * float64(v[(j*heads+h)*hd+d])
				}
			}
		}
	}
	return out
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.IsNaN(float64(got[i])) || math.Abs(float64(got[i])-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestAttentionMHAEqualsPlain(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	heads, hd, nq, nk := 3, 12, 7, 19
	q, k, v := randomVec(rng, nq*heads*hd, 1), randomVec(rng, nk*heads*hd, 1), randomVec(rng, nk*heads*hd, 1)
	// Queries are the last nq of nk positions under a causal mask.
	qPos, kPos := positions(nk-nq, nq), positions(0, nk)
	mask := seq.CausalMask(nk)
	got, err := Attention(q, qPos, k, v, kPos, AttnShape{Heads: heads, KVHeads: heads, HeadDim: hd}, mask)
	if err != nil {
		t.Fatal(err)
	}
	want := plainMHA(q, k, v, nq, nk, heads, hd, func(i, j int) bool { return j <= nk-nq+i })
	closeTo(t, "mha", got, want, 1e-6)
}

func TestAttentionGQAEqualsRepeatedKV(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	heads, kvHeads, hd, n := 6, 2, 8, 23
	q, k, v := randomVec(rng, n*heads*hd, 1), randomVec(rng, n*kvHeads*hd, 1), randomVec(rng, n*kvHeads*hd, 1)
	pos := positions(0, n)
	mask := seq.CausalMask(n)
	got, err := Attention(q, pos, k, v, pos, AttnShape{Heads: heads, KVHeads: kvHeads, HeadDim: hd}, mask)
	if err != nil {
		t.Fatal(err)
	}
	// Repeat each K/V head for the heads of its group: plain MHA must give the same.
	group := heads / kvHeads
	kr, vr := make([]float32, n*heads*hd), make([]float32, n*heads*hd)
	for j := 0; j < n; j++ {
		for h := 0; h < heads; h++ {
			copy(kr[(j*heads+h)*hd:(j*heads+h+1)*hd], k[(j*kvHeads+h/group)*hd:(j*kvHeads+h/group+1)*hd])
			copy(vr[(j*heads+h)*hd:(j*heads+h+1)*hd], v[(j*kvHeads+h/group)*hd:(j*kvHeads+h/group+1)*hd])
		}
	}
	want := plainMHA(q, kr, vr, n, n, heads, hd, func(i, j int) bool { return j <= i })
	closeTo(t, "gqa", got, want, 1e-6)
}

func TestAttentionStableOverManyKeys(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	heads, hd, nk, nq := 2, 16, 2113, 3
	// Scores of several thousand: exp without the max subtracted would overflow float64.
	q := randomVec(rng, nq*heads*hd, 60)
	k, v := randomVec(rng, nk*heads*hd, 60), randomVec(rng, nk*heads*hd, 1)
	qPos, kPos := positions(nk-nq, nq), positions(0, nk)
	m := seq.CausalMask(nk)
	for i := range m.Bidir {
		m.Bidir[i] = true // one bidirectional block
	}
	got, err := Attention(q, qPos, k, v, kPos, AttnShape{Heads: heads, KVHeads: heads, HeadDim: hd}, m)
	if err != nil {
		t.Fatal(err)
	}
	want := plainMHA(q, k, v, nq, nk, heads, hd, func(i, j int) bool { return true })
	closeTo(t, "many keys", got, want, 1e-5)
	// Small scores over many keys: the output is an average of the values, accumulated in float64.
	qs := randomVec(rng, nq*heads*hd, 1e-3)
	got, _ = Attention(qs, qPos, k, v, kPos, AttnShape{Heads: heads, KVHeads: heads, HeadDim: hd}, m)
	closeTo(t, "flat", got, plainMHA(qs, k, v, nq, nk, heads, hd, func(i, j int) bool { return true }), 1e-5)
}

func TestAttentionMaskAndPad(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	heads, hd, n := 2, 4, 9
	shape := AttnShape{Heads: heads, KVHeads: heads, HeadDim: hd}
	q, k, v := randomVec(rng, n*heads*hd, 1), randomVec(rng, n*heads*hd, 1), randomVec(rng, n*heads*hd, 1)
	pos := positions(0, n)
	m := seq.CausalMask(n)
	m.Pad[4] = true
	a, err := Attention(q, pos, k, v, pos, shape, m)
	if err != nil {
		t.Fatal(err)
	}
	// Changing a PAD key and every future key changes nothing before them.
	v2 := append([]float32(nil), v...)
	for j := 4; j < n; j++ {
		if j == 4 || j > 6 {
			for d := 0; d < heads*hd; d++ {
				v2[j*heads*hd+d] += 3
			}
		}
	}
	b, _ := Attention(q, pos, k, v2, pos, shape, m)
	for i := 0; i < 7*heads*hd; i++ {
		if a[i] != b[i] {
			t.Fatalf("output %d depends on a PAD or future key", i)
		}
	}
	// The first query sees only itself; pad it and it sees nothing: zero output.
	m.Pad[0] = true
	c, _ := Attention(q, pos, k, v, pos, shape, m)
	for d := 0; d < heads*hd; d++ {
		if c[d] != 0 {
			t.Fatal("a query with no visible key must give zeros")
		}
	}
	if _, err := Attention(q, pos, k, v, positions(1, n), shape, m); err == nil {
		t.Fatal("a key position outside the mask must be rejected")
	}
	if _, err := Attention(q, pos, k, v, pos, AttnShape{Heads: 3, KVHeads: 2, HeadDim: hd}, m); err == nil {
		t.Fatal("heads not a multiple of kv heads must be rejected")
	}
}
