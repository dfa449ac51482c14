#version 450
// The engine's random numbers (docs/RNG.md) for a list of counters, for checking the shared
// include against engine/ref and the table of docs/RNG.md: for each i < n with
//     in[i] = (seed low, seed high, step, position, index, purpose)
// out[i] = (x, bits of u, bits of G) as uint32s. With words set, in[i]'s first word is x itself
// (the uniform and Gumbel maps checked at chosen words: the extremes of u).
#include "common.glsl"
#include "philox.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer In { uint inw[]; };
layout(binding = 1) writeonly buffer Out { uint outw[]; };
layout(push_constant) uniform Push {
	uint n;
	uint words;
} pc;

void main() {
	uint i = FLAT_INDEX;
	if (i >= pc.n) {
		return;
	}
	uint b = 6 * i;
	uint x = pc.words != 0u ? inw[b] : random_word(uvec2(inw[b], inw[b + 1]), inw[b + 2], inw[b + 3], inw[b + 4], inw[b + 5]);
	float u = uniform_from_word(x);
	outw[3 * i] = x;
	outw[3 * i + 1] = floatBitsToUint(u);
	outw[3 * i + 2] = floatBitsToUint(gumbel_from_uniform(u));
}
