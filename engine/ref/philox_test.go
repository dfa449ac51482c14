package ref

import (
	"math"
	"testing"
)

// Known-answer vectors of Random123 (tests/kat_vectors, the three "philox4x32 10" lines):
// counter (4 words), key (2 words), expected output (4 words).
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0},
			[4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("philox(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestRandomWordLayout(t *testing.T) {
	// The counter is (index, position, step, purpose) and the key (seed lo, seed hi).
	seed := uint64(0x299f31d0a4093822)
	got := RandomWord(seed, 0x13198a2e, int(0x85a308d3), 0x243f6a88, 0x03707344)
	if got != 0xd16cfe09 {
		t.Fatalf("RandomWord = %08x, want the known answer d16cfe09", got)
	}
}

func TestUniformExactAndInRange(t *testing.T) {
	for _, x := range []uint32{0, 1, 511, 512, 0x7fffffff, 0xfffffe00, 0xffffffff} {
		u := UniformFromWord(x)
		// u·2^24 is the odd integer 2·(x>>9)+1: exact in float32.
		if float64(u)*(1<<24) != float64(2*(x>>9)+1) {
			t.Fatalf("u(%08x) = %v is not (x>>9 + 0.5)·2^-23", x, u)
		}
		if !(u > 0 && u < 1) {
			t.Fatalf("u(%08x) = %v outside (0,1)", x, u)
		}
	}
	if UniformFromWord(0) != float32(math.Ldexp(1, -24)) || UniformFromWord(0xffffffff) != float32(1-math.Ldexp(1, -24)) {
		t.Fatal("u must span [2^-24, 1-2^-24]")
	}
}

func TestGumbelStatistics(t *testing.T) {
	// Mean of Gumbel(0,1) is the Euler-Mascheroni constant, variance π²/6.
	const n = 200000
	var sum, sq float64
	for i := 0; i < n; i++ {
		g := Gumbel(12345, i%7, i/7, 0, PurposeConfidence)
		sum += g
		sq += g * g
	}
	mean := sum / n
	variance := sq/n - mean*mean
	if math.Abs(mean-0.5772156649) > 0.01 || math.Abs(variance-math.Pi*math.Pi/6) > 0.03 {
		t.Fatalf("gumbel mean %v variance %v, want 0.5772 and %v", mean, variance, math.Pi*math.Pi/6)
	}
	// Different purposes, steps, positions, indices and seeds give different streams.
	base := RandomWord(9, 1, 2, 3, 0)
	for _, w := range []uint32{RandomWord(9, 1, 2, 3, 1), RandomWord(9, 2, 2, 3, 0), RandomWord(9, 1, 3, 3, 0),
		RandomWord(9, 1, 2, 4, 0), RandomWord(9|1<<32, 1, 2, 3, 0)} {
		if w == base {
			t.Fatal("counter or key component ignored")
		}
	}
}

func TestGumbelF32Recipe(t *testing.T) {
	// The device recipe stays within a few float32 ulps of the float64 value over the whole range
	// of u, the ends included, where a plain float32 -log(-log(u)) would lose digits near u = 1.
	check := func(x uint32) {
		u := UniformFromWord(x)
		want := GumbelFromUniform(u)
		got := float64(GumbelF32(u))
		if math.Abs(got-want) > 4e-7*math.Max(1, math.Abs(want)) {
			t.Fatalf("u = %v: float32 recipe %v, float64 %v", u, got, want)
		}
	}
	for x := uint32(0); x < 1<<16; x++ {
		check(x << 9)
		check(0xffffffff - x<<9)
	}
	for i := 0; i < 200000; i++ {
		check(RandomWord(77, i, 0, 0, 0))
	}
}

func TestGumbelMaxIsMultinomial(t *testing.T) {
	// Sampling with Gumbel-max over many independent (step, position) streams matches softmax.
	logits := []float32{1.5, -0.3, 0.2, 2.1, -4}
	ids := []int32{3, 8, 9, 20, 31}
	counts := make([]int, len(ids))
	const n = 60000
	for i := 0; i < n; i++ {
		tok, _, margin := gumbelMax(logits, ids, 4242, i/100, i%100, PurposeSample)
		if !(margin >= 0) {
			t.Fatalf("negative margin %v", margin)
		}
		for k, id := range ids {
			if id == tok {
				counts[k]++
			}
		}
	}
	for k := range ids {
		p := softmaxAt(logits, k)
		got := float64(counts[k]) / n
		if math.Abs(got-p) > 4*math.Sqrt(p*(1-p)/n)+1e-4 {
			t.Fatalf("token %d drawn with frequency %v, softmax %v", ids[k], got, p)
		}
	}
}
