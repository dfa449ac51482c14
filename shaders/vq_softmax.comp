#version 450
// Row softmax of the vision tokenizer's attention scores, in place: s[i][j] over j < n becomes
// exp(scale*s[i][j] - m) / sum, m the row's largest scaled score. One workgroup per row;
// invocations stride over the row. When the workgroup is one subgroup (ONE_SUBGROUP, chosen on CPU
// devices such as lavapipe, where barriers are costly) the row's maximum and sum are subgroup
// operations; otherwise the invocations meet in shared memory.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;

layout(binding = 0) buffer S { float s[]; };
layout(push_constant) uniform Push {
	uint rows;
	uint n;
	float scale;
} p;

shared float part[LOCAL_X];

void main() {
	uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
	if (row >= p.rows) {
		return; // uniform over the workgroup
	}
	uint lid = gl_LocalInvocationID.x;
	uint base = row * p.n;
	float m = -3.402823466e38;
	for (uint j = lid; j < p.n; j += LOCAL_X) {
		m = max(m, s[base + j] * p.scale);
	}
	if (ONE_SUBGROUP) {
		m = subgroupMax(m);
	} else {
		part[lid] = m;
		barrier();
		for (uint k = LOCAL_X / 2; k > 0; k >>= 1) {
			if (lid < k) {
				part[lid] = max(part[lid], part[lid + k]);
			}
			barrier();
		}
		m = part[0];
		barrier();
	}
	float sum = 0.0;
	for (uint j = lid; j < p.n; j += LOCAL_X) {
		float e = exp(s[base + j] * p.scale - m);
		s[base + j] = e;
		sum += e;
	}
	if (ONE_SUBGROUP) {
		sum = subgroupAdd(sum);
	} else {
		part[lid] = sum;
		barrier();
		for (uint k = LOCAL_X / 2; k > 0; k >>= 1) {
			if (lid < k) {
				part[lid] += part[lid + k];
			}
			barrier();
		}
		sum = part[0];
	}
	float inv = 1.0 / sum;
	for (uint j = lid; j < p.n; j += LOCAL_X) {
		s[base + j] *= inv;
	}
}
