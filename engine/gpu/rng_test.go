package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// gumbelTol bounds |G_device - G| / max(1, |G|) against the float64 reference. The recipe of
// docs/RNG.md is within 4e-7 of float64 in exact float32 arithmetic (ref.GumbelF32's test); GLSL's
// log and division may be a few ulps off, which this allows (8 ulps at |G| = 1).
const gumbelTol = 1e-6

func rngDraws(t *testing.T, dev *vk.Device, k *RNG, cs []RNGCounter, words bool) (x []uint32, u, g []float32) {
	t.Helper()
	in := smpUploadBytes(t, dev, EncodeRNGCounters(cs))
	out := smpPoisonedInts(t, dev, 3*len(cs))
	run(t, dev, func(s *vk.Sequence) {
		if err := k.Record(s, bind(t, in), bind(t, out), len(cs), words); err != nil {
			t.Fatal(err)
		}
	})
	raw := make([]byte, RNGDrawSize*len(cs))
	if err := out.Read(0, raw); err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		x = append(x, binary.LittleEndian.Uint32(raw[12*i:]))
		u = append(u, math.Float32frombits(binary.LittleEndian.Uint32(raw[12*i+4:])))
		g = append(g, math.Float32frombits(binary.LittleEndian.Uint32(raw[12*i+8:])))
	}
	return x, u, g
}

// The device draws the reference's words and uniforms bit for bit, and its Gumbel numbers within
// gumbelTol: the rows of docs/RNG.md's table, then many random counters.
func TestRNGMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewRNG(dev)
	if err != nil {
		t.Fatal(err)
	}
	cs := []RNGCounter{
		{Seed: 0x2a}, {Seed: 0x2a, Step: 3, Position: 17, Index: 151900},
		{Seed: 0x2a, Step: 3, Position: 17, Purpose: 1}, {Seed: 0x123456789abcdef, Step: 71, Position: 816, Purpose: 1},
		{Seed: 0x7, Step: 5, Position: 800, Index: 151600, Purpose: 2},
	}
	table := []uint32{0x9ceaf053, 0x71c553c3, 0x2d64c151, 0xf77b1b72, 0xdcdfb608}
	r := rand.New(rand.NewPCG(3, 4))
	for len(cs) < 1<<16+3 {
		cs = append(cs, RNGCounter{Seed: r.Uint64(), Step: r.Uint32N(100), Position: r.Uint32N(5000),
			Index: r.Uint32N(200000), Purpose: r.Uint32N(4)})
	}
	x, u, g := rngDraws(t, dev, k, cs, false)
	worst := 0.0
	for i, c := range cs {
		want := ref.RandomWord(c.Seed, int(c.Step), int(c.Position), int(c.Index), c.Purpose)
		if i < len(table) && want != table[i] {
			t.Fatalf("reference word %d is %08x, the documented table says %08x", i, want, table[i])
		}
		if x[i] != want || u[i] != ref.UniformFromWord(want) {
			t.Fatalf("counter %+v: x %08x u %v, want %08x %v", c, x[i], u[i], want, ref.UniformFromWord(want))
		}
		gw := ref.GumbelFromUniform(u[i])
		worst = max(worst, math.Abs(float64(g[i])-gw)/math.Max(1, math.Abs(gw)))
	}
	t.Logf("Gumbel: worst error %.3g (relative to max(1,|G|)) over %d draws", worst, len(cs))
	if worst > gumbelTol {
		t.Fatalf("Gumbel error %.3g exceeds %g", worst, gumbelTol)
	}
}

// The Gumbel map over the whole range of u, extremes included (u = 2^-24, 1/2 and 1 - 2^-24),
// and below both bounds the sampler's skipping relies on (GUMBEL_BOUND and the exponent bound).
func TestRNGGumbelRange(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewRNG(dev)
	if err != nil {
		t.Fatal(err)
	}
	words := []uint32{0, 1 << 9, 0x7fffffff, 0x80000000, 0x80000200, 0xfffffdff, 0xffffffff}
	r := rand.New(rand.NewPCG(5, 6))
	for len(words) < 1<<16 {
		// Dense near u = 1 and u = 0, where the recipe's branches and the logs are most delicate.
		switch len(words) % 3 {
		case 0:
			words = append(words, 0xffffffff-r.Uint32N(1<<20))
		case 1:
			words = append(words, r.Uint32N(1<<20))
		default:
			words = append(words, r.Uint32())
		}
	}
	cs := make([]RNGCounter, len(words))
	for i, w := range words {
		cs[i].Seed = uint64(w)
	}
	_, u, g := rngDraws(t, dev, k, cs, true)
	worst := 0.0
	for i, w := range words {
		if u[i] != ref.UniformFromWord(w) {
			t.Fatalf("word %08x: u %v, want %v", w, u[i], ref.UniformFromWord(w))
		}
		gw := ref.GumbelFromUniform(u[i])
		worst = max(worst, math.Abs(float64(g[i])-gw)/math.Max(1, math.Abs(gw)))
		if g[i] > gumbelBound || g[i] > cheapGumbelBound(u[i]) {
			t.Fatalf("word %08x: G = %v exceeds the sampler's bounds %v and %v", w, g[i], gumbelBound, cheapGumbelBound(u[i]))
		}
	}
	t.Logf("Gumbel: worst error %.3g over %d chosen words", worst, len(words))
	if worst > gumbelTol {
		t.Fatalf("Gumbel error %.3g exceeds %g", worst, gumbelTol)
	}
}

// gumbelBound is GUMBEL_BOUND of shaders/include/philox.glsl.
const gumbelBound = 16.75

// cheapGumbelBound is sample.comp's bound of G from the exponent of t = 1 - u, in float32.
func cheapGumbelBound(u float32) float32 {
	t := 1 - u
	return float32(0.6931472)*float32(127-int(math.Float32bits(t)>>23)) + 1e-3
}
