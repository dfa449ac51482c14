#version 450
// GroupNorm over an HWC map x [n][C] (n pixels): each of G groups of C/G consecutive channels is
// normalised with its biased mean and variance over all its channels and pixels, then scaled and
// shifted per channel: y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c], optionally followed
// by SiLU (y / (1 + exp(-y))), which in the vision tokenizer follows almost every norm. The
// variance is a second pass over the data around the mean (no cancellation of E[x^2] - mean^2).
// One workgroup per group; invocations stride over the group's elements and meet in shared memory.
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool SILU = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Gamma { float gamma[]; };
layout(binding = 2) readonly buffer Beta { float beta[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n;
	uint c;
	uint groups;
	float eps;
} p;

shared float part[LOCAL_X];

// reduce sums v over the workgroup; every invocation gets the total.
float reduce(float v) {
	uint lid = gl_LocalInvocationID.x;
	part[lid] = v;
	barrier();
	for (uint s = LOCAL_X / 2; s > 0; s >>= 1) {
		if (lid < s) {
			part[lid] += part[lid + s];
		}
		barrier();
	}
	float total = part[0];
	barrier();
	return total;
}

void main() {
	uint g = gl_WorkGroupID.x;
	if (g >= p.groups) {
		return; // uniform over the workgroup
	}
	uint cg = p.c / p.groups;
	uint count = p.n * cg;
	uint lid = gl_LocalInvocationID.x;
	float s = 0.0;
	for (uint e = lid; e < count; e += LOCAL_X) {
		uint px = e / cg;
		s += x[px * p.c + g * cg + (e - px * cg)];
	}
	float mean = reduce(s) / float(count);
	float v = 0.0;
	for (uint e = lid; e < count; e += LOCAL_X) {
		uint px = e / cg;
		float d = x[px * p.c + g * cg + (e - px * cg)] - mean;
		v = fma(d, d, v);
	}
	float inv = inversesqrt(reduce(v) / float(count) + p.eps);
	for (uint e = lid; e < count; e += LOCAL_X) {
		uint px = e / cg;
		uint ch = g * cg + (e - px * cg);
		uint at = px * p.c + ch;
		float o = (x[at] - mean) * inv * gamma[ch] + beta[ch];
		if (SILU) {
			// exp(-o) overflows to +inf for o < -88: o / inf = -0, the limit of silu.
			o = o / (1.0 + exp(-o));
		}
		y[at] = o;
	}
}
