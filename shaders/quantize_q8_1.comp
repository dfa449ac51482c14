#version 450
// x quantized per block of 32 as ggml's q8_1 (quantize_row_q8_1_ref): d = max|x|/127,
// q = round(x/d) half away from zero (computed as x·(1/d)), s = d·Σq, with d and s stored as
// fp16. The int8 matmul (matmul_tiled.comp built with INT8) reads it: the quants of column n,
// block b at words (n*nb + b)*8 .. +8, and packHalf2x16(d, s) at word dsoff + n*nb + b.
// Elements at and past K are zeros (rows of W are zero-padded to whole blocks).
#include "common.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Q { uint q[]; };

layout(push_constant) uniform Push {
	uint N, K, ldx; // columns, their length, and the x row stride in floats
	uint nb, dsoff; // blocks per column, and the word where (d, s) start
} p;

void main() {
	uint i = FLAT_INDEX;
	if (i >= p.N * p.nb) {
		return;
	}
	uint n = i / p.nb, b = i % p.nb;
	float v[32];
	float amax = 0.0;
	for (uint k = 0; k < 32u; k++) {
		uint kk = b * 32u + k;
		v[k] = kk < p.K ? x[n * p.ldx + min(kk, p.K - 1u)] : 0.0;
		amax = max(amax, abs(v[k]));
	}
	float d = amax / 127.0;
	float id = d != 0.0 ? 1.0 / d : 0.0;
	int sum = 0;
	for (uint w = 0; w < 8u; w++) {
		uint word = 0u;
		for (uint e = 0; e < 4u; e++) {
			float t = v[4u * w + e] * id;
			int qi = int(sign(t) * floor(abs(t) + 0.5));
			sum += qi;
			word |= (uint(qi) & 255u) << (8u * e);
		}
		q[i * 8u + w] = word;
	}
	q[p.dsoff + i] = packHalf2x16(vec2(d, float(sum) * d));
}
