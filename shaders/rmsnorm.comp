#version 450
// RMSNorm over the rows of x [n][dim]: y = x / sqrt(mean(x^2) + eps) * w, statistics in fp32.
// One workgroup per row. When the workgroup is a single subgroup (ONE_SUBGROUP, chosen on devices
// where barriers and shared memory are costly, such as lavapipe) the row's sum of squares is one
// subgroupAdd; otherwise the subgroups' partial sums meet in shared memory.
// y may be the same buffer as x: every element is read and written by the same invocation, and
// all reads of the first pass happen before the reduction. Rows are read as vec4s (dim is a
// multiple of 4): on lavapipe a load costs per lane, so a vec4 moves four times the data.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;

layout(binding = 0) readonly buffer X { vec4 x[]; };
layout(binding = 1) readonly buffer W { vec4 w[]; };
layout(binding = 2) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform Push {
	uint n;
	uint dim; // a multiple of 4
	float eps;
} p;

shared float partial[LOCAL_X];

void main() {
	uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
	if (row >= p.n) {
		return; // uniform over the workgroup
	}
	uint dim4 = p.dim / 4;
	uint base = row * dim4;
	uint lid = gl_LocalInvocationID.x;
	vec4 ss4 = vec4(0);
	for (uint i = lid; i < dim4; i += LOCAL_X) {
		vec4 v = x[base + i];
		ss4 = fma(v, v, ss4);
	}
	float ss = (ss4.x + ss4.y) + (ss4.z + ss4.w);
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
	float scale = inversesqrt(ss / float(p.dim) + p.eps);
	for (uint i = lid; i < dim4; i += LOCAL_X) {
		y[base + i] = x[base + i] * scale * w[i];
	}
}
