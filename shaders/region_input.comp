#version 450
// The model input of a region state (spec §5 step 1, ref modelInput): ids[idsOff + j] = g[j], or
// MASK after the first EOA of g, for j < N. The select shader writes the input of the next step
// itself; this one serves where a state is set otherwise (the start of a loop, the switch from the
// image loop to the action loop of independent diffusion). One workgroup.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer State { int state[]; };
layout(binding = 1) writeonly buffer IDs { int ids[]; };
layout(push_constant) uniform Push {
	uint n;
	uint idsOff;
	int maskId;
	int eoaId;
} pc;

shared uint sFirstEOA;

void main() {
	uint lid = gl_LocalInvocationID.x;
	if (lid == 0) {
		sFirstEOA = pc.n;
	}
	barrier();
	uint first = pc.n;
	for (uint j = lid; j < pc.n; j += LOCAL_X) {
		if (state[j] == pc.eoaId) {
			first = min(first, j);
		}
	}
	first = subgroupMin(first);
	if (subgroupElect()) {
		atomicMin(sFirstEOA, first);
	}
	barrier();
	uint e = sFirstEOA;
	for (uint j = lid; j < pc.n; j += LOCAL_X) {
		ids[pc.idsOff + j] = j > e ? pc.maskId : state[j];
	}
}
