#version 450
// Gumbel-max sampling of one denoising step (spec §5 steps 4-6, ref gumbelMax): for each region
// position j = p0 + row of a run of one decoding space,
//     sampled[j] = allowed[argmax_i logits[row][i] + G(seed, s, j, allowed[i], samplePurpose)]
//     conf[j]    = softmax(logits[row])[that i], fp32, maximum subtracted
// with ties to the smaller index (allowed ids are sorted, so to the smaller id). A position whose
// state is known (g[j] != MASK) samples nothing: sampled[j] = g[j], conf[j] = +max float.
//
// One workgroup per position; invocation t visits i = t, t + LOCAL_X, ... in ascending order and
// keeps a running softmax maximum and sum (rescaled when the maximum grows) and its best
// perturbed logit z = l + G. Two exact shortcuts spare most of the work: a candidate with
// l + GUMBEL_BOUND below that best cannot win, so its Philox draw is skipped (on peaked logits
// most of the space is never drawn); and one whose l plus a cheap upper bound of G (from the
// exponent of 1 - u) is below it skips the two logs of the Gumbel map. Rounding is monotonic and
// both bounds are at least the device's G, so a skipped candidate's z is strictly below the best:
// the result is exactly the full scan's.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "philox.glsl"
#include "step_params.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool ONE_SUBGROUP = false;
#include "argmax_reduce.glsl"

DECLARE_STEP_PARAMS(0)
layout(binding = 1) readonly buffer Logits { float logits[]; };
layout(binding = 2) readonly buffer Allowed { int allowed[]; };
layout(binding = 3) readonly buffer State { int state[]; };
layout(binding = 4) writeonly buffer Sampled { int sampled[]; };
layout(binding = 5) writeonly buffer Conf { float conf[]; };
layout(push_constant) uniform Push {
	uint p0;       // region position of row 0
	uint np;       // rows (positions) of the run
	uint nAllowed; // ids of the decoding space
	uint stride;   // floats between logit rows
	int maskId;
} pc;

const float MAX_FLOAT = 3.4028234663852886e38; // the largest float32, the confidence of known positions

shared float statMax[LOCAL_X];
shared float statSum[LOCAL_X];

// softmax_stats merges the invocations' running (maximum, sum of exp(l - maximum)).
void softmax_stats(inout float m, inout float s) {
	float mm = subgroupMax(m);
	s = subgroupAdd(s * exp(m - mm));
	m = mm;
	if (ONE_SUBGROUP) {
		return;
	}
	if (subgroupElect()) {
		statMax[gl_SubgroupID] = m;
		statSum[gl_SubgroupID] = s;
	}
	barrier();
	m = statMax[0];
	for (uint k = 1; k < gl_NumSubgroups; k++) {
		m = max(m, statMax[k]);
	}
	s = 0.0;
	for (uint k = 0; k < gl_NumSubgroups; k++) {
		s += statSum[k] * exp(statMax[k] - m);
	}
}

void main() {
	uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
	if (row >= pc.np) {
		return; // uniform over the workgroup
	}
	uint lid = gl_LocalInvocationID.x;
	uint j = pc.p0 + row;
	int g = state[j];
	if (g != pc.maskId) {
		if (lid == 0) {
			sampled[j] = g;
			conf[j] = MAX_FLOAT;
		}
		return; // uniform: the whole workgroup reads the same state
	}
	uvec2 key = uvec2(prm.seedLo, prm.seedHi);
	uint step = prm.step, purpose = prm.samplePurpose;
	uint base = row * pc.stride;

	// -MAX_FLOAT rather than -inf: a -inf logit then adds exp(-inf) = 0 instead of exp(NaN).
	float m = -MAX_FLOAT, s = 0.0;
	float best = uintBitsToFloat(0xff800000u); // -inf
	uint bi = ARGMAX_NONE;
	for (uint i = lid; i < pc.nAllowed; i += LOCAL_X) {
		float l = logits[base + i];
		if (l > m) {
			s = s * exp(m - l) + 1.0;
			m = l;
		} else {
			s += exp(l - m);
		}
		if (l + GUMBEL_BOUND < best) {
			continue; // cannot win whatever its draw: no Philox
		}
		float u = uniform_from_word(random_word(key, step, j, uint(allowed[i]), purpose));
		// A cheap bound of G from u before the two logs: -log(u) >= 1 - u = t (exact, a normal
		// float >= 2^-24), so G <= -ln t <= ln 2 · -floor(log2 t), the exponent of t; 1e-3 covers
		// the device's rounding of G (1e-5 at most). Most draws lose here.
		float t = 1.0 - u;
		float bound = 0.6931472 * float(127 - int(floatBitsToUint(t) >> 23)) + 1e-3;
		if (l + bound < best) {
			continue;
		}
		float z = l + min(gumbel_from_uniform(u), GUMBEL_BOUND);
		if (z > best) {
			best = z;
			bi = i;
		}
	}
	workgroup_argmax(best, bi);
	softmax_stats(m, s);
	if (lid == 0) {
		if (bi == ARGMAX_NONE) {
			bi = 0; // every perturbed logit is -inf: the sequential scan keeps index 0
		}
		sampled[j] = allowed[bi];
		conf[j] = exp(logits[base + bi] - m) / s;
	}
}
