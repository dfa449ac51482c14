#version 450
// One token of the greedy autoregressive baseline (ref GreedyARRestricted) at region position
// j = prm.position, from the logits row that predicts it:
//     a pre-filled position (g[j] != MASK) keeps its token; another takes
//     allowed[argmax_k logits[k]] (ties to the smaller index);
//     g[j] = that token, ids[idsOff + j] = that token (the input of the next forward pass).
// Once g holds an EOA before j, the pass writes nothing: the positions after the first EOA stay
// MASK, as in the reference, so a command buffer may run past the end harmlessly.
// One workgroup.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "step_params.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;
#include "argmax_reduce.glsl"

DECLARE_STEP_PARAMS(0)
layout(binding = 1) readonly buffer Logits { float logits[]; };
layout(binding = 2) readonly buffer Allowed { int allowed[]; };
layout(binding = 3) buffer State { int state[]; };
layout(binding = 4) writeonly buffer IDs { int ids[]; };
layout(push_constant) uniform Push {
	uint n;        // region positions N
	uint nAllowed;
	uint idsOff;   // ids index of region position 0
	int maskId;
	int eoaId;
} pc;

shared uint sDone;

void main() {
	uint lid = gl_LocalInvocationID.x;
	uint j = prm.position;
	if (j >= pc.n) {
		return; // uniform: every invocation reads the same parameter
	}
	if (lid == 0) {
		sDone = 0;
	}
	barrier();
	bool done = false;
	for (uint t = lid; t < j; t += LOCAL_X) {
		done = done || state[t] == pc.eoaId;
	}
	if (done) {
		atomicOr(sDone, 1u);
	}
	barrier();
	if (sDone != 0u) {
		return; // uniform
	}
	int g = state[j];
	if (g == pc.maskId) { // uniform
		float best = uintBitsToFloat(0xff800000u); // -inf
		uint bi = ARGMAX_NONE;
		for (uint i = lid; i < pc.nAllowed; i += LOCAL_X) {
			float l = logits[i];
			if (l > best) {
				best = l;
				bi = i;
			}
		}
		workgroup_argmax(best, bi);
		g = allowed[bi == ARGMAX_NONE ? 0 : bi];
	}
	// Every invocation read state[j] above; the barrier keeps the write after all those reads.
	barrier();
	if (lid == 0) {
		state[j] = g;
		ids[pc.idsOff + j] = g;
	}
}
