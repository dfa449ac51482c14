// The engine's counter-based random numbers (docs/RNG.md): Philox4x32-10 keyed by the request's
// seed, counter (index, position, step, purpose), first output word only. The word and the uniform
// are bit-identical to engine/ref; the Gumbel number is the float32 recipe of docs/RNG.md §4, which
// keeps its relative accuracy where GLSL's log would not (u close to 1).
#ifndef UDVLA_PHILOX_GLSL
#define UDVLA_PHILOX_GLSL

const uint PHILOX_M0 = 0xD2511F53u;
const uint PHILOX_M1 = 0xCD9E8D57u;
const uint PHILOX_W0 = 0x9E3779B9u;
const uint PHILOX_W1 = 0xBB67AE85u;

uvec4 philox4x32_10(uvec4 c, uvec2 k) {
	for (int r = 0; r < 10; r++) {
		if (r > 0) { // the key is bumped between rounds, not before the first
			k += uvec2(PHILOX_W0, PHILOX_W1);
		}
		uint hi0, lo0, hi1, lo1;
		umulExtended(PHILOX_M0, c.x, hi0, lo0);
		umulExtended(PHILOX_M1, c.z, hi1, lo1);
		c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
	}
	return c;
}

// random_word is ref.RandomWord: key (seed low, seed high), counter (index, position, step, purpose).
uint random_word(uvec2 key, uint step, uint position, uint index, uint purpose) {
	return philox4x32_10(uvec4(index, position, step, purpose), key).x;
}

// uniform_from_word is ref.UniformFromWord: an odd multiple of 2^-24 in [2^-24, 1 - 2^-24], exact.
float uniform_from_word(uint x) {
	return (float(x >> 9) + 0.5) * (1.0 / 8388608.0);
}

// gumbel_from_uniform is -log(-log(u)) by the recipe of ref.GumbelF32: for u >= 0.5, -log(u) is
// 2·atanh(z) with z = t/(2-t), t = 1-u exact, by its odd series (z <= 1/3, so nine terms reach
// float32 resolution); below 0.5 the plain log is accurate. The series coefficients are written
// out as the float32 values of 1/k that the reference computes.
float gumbel_from_uniform(float u) {
	float e; // -log(u) > 0
	if (u >= 0.5) {
		float t = 1.0 - u;
		float z = t / (2.0 - t);
		float z2 = z * z;
		float s = 0.05882352941176471;      // 1/17
		s = s * z2 + 0.06666666666666667;   // 1/15
		s = s * z2 + 0.07692307692307693;   // 1/13
		s = s * z2 + 0.09090909090909091;   // 1/11
		s = s * z2 + 0.1111111111111111;    // 1/9
		s = s * z2 + 0.14285714285714285;   // 1/7
		s = s * z2 + 0.2;                   // 1/5
		s = s * z2 + 0.3333333333333333;    // 1/3
		s = s * z2 + 1.0;                   // 1/1
		e = 2.0 * z * s;
	} else {
		e = -log(u);
	}
	return -log(e);
}

// gumbel_draw is the Gumbel number of (seed key, step, position, index, purpose).
float gumbel_draw(uvec2 key, uint step, uint position, uint index, uint purpose) {
	return gumbel_from_uniform(uniform_from_word(random_word(key, step, position, index, purpose)));
}

// GUMBEL_BOUND bounds every value gumbel_draw can return: the largest u, 1 - 2^-24, gives
// -log(5.96e-8) = 16.6355, and a few ulps of log error stay far below the bound. Samplers clamp to
// it (a no-op) so that skipping a candidate whose logit + GUMBEL_BOUND already loses is provably
// exact on any driver.
const float GUMBEL_BOUND = 16.75;

#endif
