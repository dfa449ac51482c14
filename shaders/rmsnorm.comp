#version 450
// RMSNorm over the rows of x [n][dim]: y = x / sqrt(mean(x^2) + eps) * w, statistics in fp32.
// One workgroup per row. When the workgroup is a single subgroup (ONE_SUBGROUP, chosen on devices
// where barriers and shared memory are costly, such as lavapipe) the row's sum of squares is one
// subgroupAdd; otherwise the subgroups' partial sums meet in shared memory.
// y may be the same buffer as x: every element is read and written by the same invocation, and
// all reads of the first pass happen before the reduction.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;

layout(binding = 0) readonly buffer X { sfp x[]; };
layout(binding = 1) readonly buffer W { sfp w[]; };
layout(binding = 2) writeonly buffer Y { sfp y[]; };
layout(push_constant) uniform Push {
	uint n;
	uint dim;
	float eps;
} p;

shared afp partial[LOCAL_X];

void main() {
	uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
	if (row >= p.n) {
		return; // uniform over the workgroup
	}
	uint base = row * p.dim;
	uint lid = gl_LocalInvocationID.x;
	afp ss = 0;
	for (uint i = lid; i < p.dim; i += LOCAL_X) {
		afp v = afp(x[base + i]);
		ss = fma(v, v, ss);
	}
	ss = subgroupAdd(ss);
	if (!ONE_SUBGROUP) {
		if (subgroupElect()) {
			partial[gl_SubgroupID] = ss;
		}
		barrier();
		ss = 0;
		for (uint s = 0; s < gl_NumSubgroups; s++) {
			ss += partial[s];
		}
	}
	afp scale = inversesqrt(ss / afp(p.dim) + p.eps);
	for (uint i = lid; i < p.dim; i += LOCAL_X) {
		y[base + i] = sfp(afp(x[base + i]) * scale * afp(w[i]));
	}
}
