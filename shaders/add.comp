#version 450
// Residual add, in place: x[i] += d[i] for i < n.
#include "common.glsl"

DECLARE_LOCAL_X
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) readonly buffer D { float d[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
	uint i = FLAT_INDEX;
	if (i < p.n) {
		x[i] = x[i] + d[i];
	}
}
