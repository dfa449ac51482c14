#version 450
// The selection half of one denoising step (spec §5 steps 6-10, ref jd3p.go denoise), for the
// loop's region positions [a0, a1) of a region of N positions, in one workgroup:
//     known_j = g[j] != MASK; tok_j = known_j ? g[j] : sampled[j]
//     conf_j  = known_j ? +max float : conf[j]
//     c_j     = log(max(conf_j, 1e-20)) + tau·G(seed, s, j, 0, confPurpose)    (or given: GIVEN_C)
//     mask_len = max(1, min(#unknown - 1, maskBase)),  k = min(mask_len, n - 1),  n = a1 - a0
//     g[j] = MASK where c_j < sorted(c)[k], tok_j elsewhere
// With freezeAfterEOA, the loop positions after the first EOA of g (before the step) count as
// known: they keep g, MASK included, and never count as unknown (the release's action loop of
// independent diffusion).
// then out[j] = tok_j (the step's sampled tokens: after the last step, the loop's result) and the
// next model input ids[idsOff + j] = g[j], MASK after the first EOA of g. Positions outside
// [a0, a1) keep g and enter out and the input as they are (the independent-diffusion loops).
//
// c_j < sorted(c)[k] holds exactly when at most k of the c values are <= c_j, so each position
// decides by counting over the c values held in shared memory: no sort, no tie-break to agree on,
// and exactly the reference's set for the same c values (ties at the cutoff included).
// Every invocation handles positions j = lid, lid + LOCAL_X, ... in all phases, so each reads back
// only what it wrote itself; only shared memory crosses invocations.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "philox.glsl"
#include "step_params.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint NMAX = 4096; // most loop positions: the shared c array
layout(constant_id = 2) const bool GIVEN_C = false; // read c instead of computing it (tests)

DECLARE_STEP_PARAMS(0)
layout(binding = 1) buffer State { int state[]; };
layout(binding = 2) readonly buffer Sampled { int sampled[]; };
layout(binding = 3) readonly buffer Conf { float conf[]; };
layout(binding = 4) buffer C { float cval[]; };
layout(binding = 5) writeonly buffer Out { int outTok[]; };
layout(binding = 6) writeonly buffer IDs { int ids[]; };
layout(push_constant) uniform Push {
	uint n;      // region positions N
	uint idsOff; // ids index of region position 0
	int maskId;
	int eoaId;
} pc;

const float MAX_FLOAT = 3.4028234663852886e38;

shared float sc[NMAX];
shared uint sUnknown;
shared uint sFirstEOA;
shared uint sFrozenEOA;

void main() {
	uint lid = gl_LocalInvocationID.x;
	uint N = pc.n;
	// The range comes from device memory: clamp it so that bad parameters cannot reach outside
	// the buffers or the shared array (the host checks them: StepParams.Check).
	uint a1 = min(prm.a1, N);
	uint a0 = min(prm.a0, a1);
	a1 = min(a1, a0 + NMAX);
	uint n = a1 - a0;
	uvec2 key = uvec2(prm.seedLo, prm.seedHi);
	if (lid == 0) {
		sUnknown = 0;
		sFirstEOA = N;
		sFrozenEOA = N;
	}
	barrier();

	// The first EOA of the loop's state before the step (used only with freezeAfterEOA).
	uint eoaBefore = N;
	for (uint j = a0 + lid; j < a1; j += LOCAL_X) {
		if (state[j] == pc.eoaId) {
			eoaBefore = min(eoaBefore, j);
		}
	}
	eoaBefore = subgroupMin(eoaBefore);
	if (subgroupElect()) {
		atomicMin(sFrozenEOA, eoaBefore);
	}
	barrier();
	// Loop positions at or after frozenFrom are frozen.
	uint frozenFrom = prm.freezeAfterEOA != 0u && sFrozenEOA < N ? sFrozenEOA + 1u : N;

	uint unknown = 0;
	for (uint j = a0 + lid; j < a1; j += LOCAL_X) {
		// Positions of [a0, a1) are visited by invocation (j - a0) % LOCAL_X: the phases below
		// use the same mapping.
		bool known = state[j] != pc.maskId || j >= frozenFrom;
		float c;
		if (GIVEN_C) {
			c = cval[j];
		} else {
			float cf = known ? MAX_FLOAT : conf[j];
			c = log(max(cf, 1e-20)) + prm.tau * gumbel_draw(key, prm.step, j, 0u, prm.confPurpose);
			cval[j] = c;
		}
		sc[j - a0] = c;
		unknown += known ? 0u : 1u;
	}
	unknown = subgroupAdd(unknown);
	if (subgroupElect()) {
		atomicAdd(sUnknown, unknown);
	}
	barrier();

	int maskLen = max(1, min(int(sUnknown) - 1, prm.maskBase));
	uint k = min(uint(maskLen), n - 1);
	uint firstEOA = N;
	for (uint j = a0 + lid; j < a1; j += LOCAL_X) {
		int g = state[j];
		int tok = g != pc.maskId || j >= frozenFrom ? g : sampled[j];
		float c = sc[j - a0];
		uint below = 0; // c values <= c, this one included
		for (uint t = 0; t < n; t++) {
			below += sc[t] <= c ? 1u : 0u;
		}
		g = below <= k ? pc.maskId : tok;
		state[j] = g;
		outTok[j] = tok;
		if (g == pc.eoaId) {
			firstEOA = min(firstEOA, j);
		}
	}
	// Positions outside the loop keep their state; their EOA counts as well.
	for (uint j = lid; j < N; j += LOCAL_X) {
		if (j >= a0 && j < a1) {
			continue;
		}
		int g = state[j];
		outTok[j] = g;
		if (g == pc.eoaId) {
			firstEOA = min(firstEOA, j);
		}
	}
	firstEOA = subgroupMin(firstEOA);
	if (subgroupElect()) {
		atomicMin(sFirstEOA, firstEOA);
	}
	barrier();

	uint e = sFirstEOA;
	for (uint j = a0 + lid; j < a1; j += LOCAL_X) {
		ids[pc.idsOff + j] = j > e ? pc.maskId : state[j];
	}
	for (uint j = lid; j < N; j += LOCAL_X) {
		if (j < a0 || j >= a1) {
			ids[pc.idsOff + j] = j > e ? pc.maskId : state[j];
		}
	}
}
