#version 450
// Greedy decoding over a decoding space (ref argmax): for each row i < np,
//     out[outOff + i] = allowed[argmax_k logits[i][k]], ties to the smaller index.
// One workgroup per row. Comparisons only: the token is exact on every device.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;
#include "argmax_reduce.glsl"

layout(binding = 0) readonly buffer Logits { float logits[]; };
layout(binding = 1) readonly buffer Allowed { int allowed[]; };
layout(binding = 2) writeonly buffer Out { int outTok[]; };
layout(push_constant) uniform Push {
	uint np;
	uint nAllowed;
	uint stride; // floats between logit rows
	uint outOff;
} pc;

void main() {
	uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
	if (row >= pc.np) {
		return; // uniform over the workgroup
	}
	uint lid = gl_LocalInvocationID.x;
	uint base = row * pc.stride;
	float best = uintBitsToFloat(0xff800000u); // -inf
	uint bi = ARGMAX_NONE;
	for (uint i = lid; i < pc.nAllowed; i += LOCAL_X) {
		float l = logits[base + i];
		if (l > best) {
			best = l;
			bi = i;
		}
	}
	workgroup_argmax(best, bi);
	if (lid == 0) {
		outTok[pc.outOff + row] = allowed[bi == ARGMAX_NONE ? 0 : bi];
	}
}
