package ref

import (
	"math"
	"math/rand"
	"testing"
)

func TestMatMulRowsSubset(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	out, in, n := 37, 29, 5
	w, x := randomVec(rng, out*in, 1), randomVec(rng, n*in, 1)
	full, err := MatMul(w, out, in, x, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	for tk := 0; tk < n; tk++ {
		for j := 0; j < out; j++ {
			var want float64
			for k := 0; k < in; k++ {
				want += float64(w[j*in+k]) * float64(x[tk*in+k])
			}
			if full[tk*out+j] != float32(want) {
				t.Fatalf("y[%d][%d] = %v, want %v", tk, j, full[tk*out+j], float32(want))
			}
		}
	}
	rows := []int32{36, 0, 17, 17, 5}
	sub, err := MatMul(w, out, in, x, n, rows)
	if err != nil {
		t.Fatal(err)
	}
	for tk := 0; tk < n; tk++ {
		for j, r := range rows {
			if sub[tk*len(rows)+j] != full[tk*out+int(r)] {
				t.Fatalf("subset row %d (W row %d) of token %d differs from the full product", j, r, tk)
			}
		}
	}
	if _, err := MatMul(w, out, in, x, n, []int32{37}); err == nil {
		t.Fatal("a row outside W must be rejected")
	}
	if _, err := MatMul(w, out, in, x[:len(x)-1], n, nil); err == nil {
		t.Fatal("a short x must be rejected")
	}
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	n, dim, eps := 3, 96, 1e-5
	x, w := randomVec(rng, n*dim, 2.5), randomVec(rng, dim, 1)
	y, err := RMSNorm(x, n, dim, w, eps)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var ms float64
		for j := 0; j < dim; j++ {
			ms += float64(x[i*dim+j]) * float64(x[i*dim+j])
		}
		ms /= float64(dim)
		for j := 0; j < dim; j++ {
			want := float64(x[i*dim+j]) / math.Sqrt(ms+eps) * float64(w[j])
			if math.Abs(float64(y[i*dim+j])-want) > 1e-6*math.Abs(want)+1e-7 {
				t.Fatalf("y[%d][%d] = %v, want %v", i, j, y[i*dim+j], want)
			}
		}
	}
	// Scale invariance (up to eps): normalising 1000·x gives the same rows.
	big := make([]float32, len(x))
	for i := range x {
		big[i] = 1000 * x[i]
	}
	y2, _ := RMSNorm(big, n, dim, w, eps)
	for i := range y {
		if math.Abs(float64(y[i]-y2[i])) > 1e-5 {
			t.Fatalf("RMSNorm not scale invariant at %d: %v vs %v", i, y[i], y2[i])
		}
	}
	if _, err := RMSNorm(x, n, dim, w[1:], eps); err == nil {
		t.Fatal("a short weight must be rejected")
	}
}

func TestRoPE(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	heads, hd, theta := 3, 10, 500000.0
	pos := []int32{0, 1, 7, 1999}
	x := randomVec(rng, len(pos)*heads*hd, 1)
	y, err := RoPE(x, pos, heads, hd, theta)
	if err != nil {
		t.Fatal(err)
	}
	half := hd / 2
	for tk, p := range pos {
		for h := 0; h < heads; h++ {
			base := (tk*heads + h) * hd
			for i := 0; i < half; i++ {
				a, b := float64(x[base+i]), float64(x[base+i+half])
				ang := float64(p) / math.Pow(theta, float64(2*i)/float64(hd))
				wa := a*math.Cos(ang) - b*math.Sin(ang)
				wb := b*math.Cos(ang) + a*math.Sin(ang)
				if math.Abs(float64(y[base+i])-wa) > 1e-6 || math.Abs(float64(y[base+i+half])-wb) > 1e-6 {
					t.Fatalf("pos %d head %d pair %d: (%v,%v), want (%v,%v)", p, h, i, y[base+i], y[base+i+half], wa, wb)
				}
				if p == 0 && (y[base+i] != x[base+i] || y[base+i+half] != x[base+i+half]) {
					t.Fatal("position 0 must not rotate")
				}
			}
		}
	}
	// Relative positions: q(p1)·k(p2) depends on p1-p2 only.
	q, k := randomVec(rng, hd, 1), randomVec(rng, hd, 1)
	dot := func(p1, p2 int32) float64 {
		a, _ := RoPE(q, []int32{p1}, 1, hd, theta)
		b, _ := RoPE(k, []int32{p2}, 1, hd, theta)
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	if d1, d2 := dot(40, 13), dot(1040, 1013); math.Abs(d1-d2) > 1e-4 {
		t.Fatalf("rope dot products depend on absolute position: %v vs %v", d1, d2)
	}
	if _, err := RoPE(x, []int32{0, 1, -1, 3}, heads, hd, theta); err == nil {
		t.Fatal("a negative position must be rejected")
	}
}

func TestSiLUMulAddEmbed(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	g, u := randomVec(rng, 41, 4), randomVec(rng, 41, 1)
	a, err := SiLUMul(g, u)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g {
		want := float64(g[i]) * float64(u[i]) / (1 + math.Exp(-float64(g[i])))
		if math.Abs(float64(a[i])-want) > 1e-6*math.Abs(want)+1e-9 {
			t.Fatalf("silu_mul[%d] = %v, want %v", i, a[i], want)
		}
	}
	s, _ := Add(g, u)
	for i := range g {
		if s[i] != g[i]+u[i] {
			t.Fatalf("add[%d] = %v, want %v", i, s[i], g[i]+u[i])
		}
	}
	if _, err := SiLUMul(g, u[1:]); err == nil {
		t.Fatal("mismatched lengths must be rejected")
	}
	vocab, hidden := 13, 6
	table := randomVec(rng, vocab*hidden, 1)
	ids := []int32{12, 0, 5, 5}
	x, err := Embed(table, vocab, hidden, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		for j := 0; j < hidden; j++ {
			if x[i*hidden+j] != table[int(id)*hidden+j] {
				t.Fatalf("embedding row %d differs", i)
			}
		}
	}
	if _, err := Embed(table, vocab, hidden, []int32{13}); err == nil {
		t.Fatal("an id outside the vocabulary must be rejected")
	}
}
