#version 450
// A per-channel affine map of an HWC map x [n][c], optionally followed by SiLU:
// y = x * mul[ch] + add[ch]. The vision tokenizer's BatchNorm in evaluation is this map with
// mul = weight / sqrt(running_var + eps) and add = bias - running_mean * mul. One invocation per
// element.
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool SILU = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Mul { float mul[]; };
layout(binding = 2) readonly buffer Add { float add[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n;
	uint c;
} p;

void main() {
	uint idx = FLAT_INDEX;
	if (idx >= p.n * p.c) {
		return;
	}
	uint ch = idx % p.c;
	float o = fma(x[idx], mul[ch], add[ch]);
	if (SILU) {
		o = o / (1.0 + exp(-o));
	}
	y[idx] = o;
}
