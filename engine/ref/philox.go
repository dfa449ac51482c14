package ref

import "math"

// The counter-based RNG of the engine (docs/RNG.md): Philox4x32-10 of Salmon et al. (SC11), with the
// Random123 constants. Every random number of a decoding run is a pure function of (seed, index,
// position, step, purpose), so the CPU reference and a GPU shader draw exactly the same numbers in
// any order and in parallel.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Purposes keep the streams of different decisions apart (the fourth counter word).
const (
	PurposeSample     uint32 = 0 // token sampling, index = token id
	PurposeConfidence uint32 = 1 // confidence noise, index 0
	// The independent-diffusion baseline's action phase uses its own streams.
	PurposeActionSample     uint32 = 2
	PurposeActionConfidence uint32 = 3
)

// Philox4x32 runs the ten rounds of Philox4x32-10 on a counter under a key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 { // the key is bumped between rounds, not before the first
			key[0] += philoxW0
			key[1] += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0],
			uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1],
			uint32(p0),
		}
	}
	return ctr
}

// RandomWord is the first output word of Philox4x32-10 for key (seed low 32 bits, seed high 32
// bits) and counter (index, position, step, purpose).
func RandomWord(seed uint64, step, position, index int, purpose uint32) uint32 {
	key := [2]uint32{uint32(seed), uint32(seed >> 32)}
	ctr := [4]uint32{uint32(index), uint32(position), uint32(step), purpose}
	return Philox4x32(ctr, key)[0]
}

// UniformFromWord maps a word to u = (float(x >> 9) + 0.5) * 2^-23, in [2^-24, 1 - 2^-24]. Every such u
// is exactly representable in float32, so a GPU computes the very same u.
func UniformFromWord(x uint32) float32 {
	return (float32(x>>9) + 0.5) * (1.0 / (1 << 23))
}

// Uniform is the uniform number of (seed, step, position, index, purpose).
func Uniform(seed uint64, step, position, index int, purpose uint32) float32 {
	return UniformFromWord(RandomWord(seed, step, position, index, purpose))
}

// GumbelFromUniform is G = -log(-log(u)), evaluated in float64 (the reference's precision).
func GumbelFromUniform(u float32) float64 {
	return -math.Log(-math.Log(float64(u)))
}

// Gumbel is the Gumbel(0,1) number of (seed, step, position, index, purpose).
func Gumbel(seed uint64, step, position, index int, purpose uint32) float64 {
	return GumbelFromUniform(Uniform(seed, step, position, index, purpose))
}

// GumbelF32 is the float32 recipe of docs/RNG.md for devices (GLSL's log has an absolute, not a
// relative, error bound near 1, which would ruin -log(u) for u close to 1). For u >= 0.5 it computes
// -log(u) from the exact t = 1-u as 2·atanh(z), z = t/(2-t) <= 1/3, by its odd series; below 0.5 a
// plain log is accurate. Every step is a float32 operation, in the order a shader performs them.
func GumbelF32(u float32) float32 {
	var e float32 // e = -log(u) > 0
	if u >= 0.5 {
		t := 1 - u // exact: u is a multiple of 2^-24 in [0.5, 1)
		z := t / (2 - t)
		z2 := z * z
		// 2·(z + z^3/3 + ... + z^17/17): z^2 <= 1/9, so the tail is below float32 resolution.
		s := float32(1.0 / 17)
		for k := 15; k >= 1; k -= 2 {
			s = s*z2 + 1/float32(k)
		}
		e = 2 * z * s
	} else {
		e = -float32(math.Log(float64(u)))
	}
	return -float32(math.Log(float64(e)))
}
