#version 450
// The vision tokenizer's nearest code: for each position i of z [n][E] (HWC, E = embed_dim) the
// index of the codebook row e [K][E] that minimises (|z|^2 + |e|^2) - 2 z.e, summed in that order
// as the release does, the first index on ties (a strict < while scanning the codebook in order).
// One invocation per position scans the whole codebook.
#include "common.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer Z { float z[]; };
layout(binding = 1) readonly buffer Book { float book[]; };
layout(binding = 2) writeonly buffer Codes { int codes[]; };
layout(push_constant) uniform Push {
	uint n;
	uint k; // codebook rows
	uint e; // embed dim
} p;

void main() {
	uint i = FLAT_INDEX;
	if (i >= p.n) {
		return;
	}
	float zz = 0.0;
	for (uint d = 0; d < p.e; d++) {
		float v = z[i * p.e + d];
		zz = fma(v, v, zz);
	}
	float best = 0.0;
	int arg = -1;
	for (uint r = 0; r < p.k; r++) {
		float ee = 0.0;
		float dot = 0.0;
		for (uint d = 0; d < p.e; d++) {
			float b = book[r * p.e + d];
			ee = fma(b, b, ee);
			dot = fma(z[i * p.e + d], b, dot);
		}
		float dist = (zz + ee) - 2.0 * dot;
		if (arg < 0 || dist < best) {
			best = dist;
			arg = int(r);
		}
	}
	codes[i] = arg;
}
