#version 450
// Block-masked attention, flash style: for each query i < nq (absolute position q0 + i) and head h,
//     out[i][h] = softmax_k(q[i][h] . K[k][h/group] / sqrt(HD)) V[k][h/group]
// over the keys k < nk that the query may attend (spec §4, engine/seq.Mask):
//     !pad(k) && (b(k) < b(q) || (b(k) == b(q) && (bidir(q) || k <= q))).
// The mask holds, per position, block << 2 | pad << 1 | bidir; the optional reach buffer holds one
// past the last key each position may attend. Online softmax in fp32 (running
// maximum m, running sum l, unnormalised output rescaled by exp(m_old - m_new) at every key):
// nothing of size nq x nk is stored. A query with no visible key writes zeros, as the reference.
//
// Work layout, chosen for lavapipe (see docs/PERFORMANCE.md): a workgroup is one subgroup of
// LOCAL_X lanes, each lane one query of one head (grid y = head), its query and output rows held
// in registers. A key row is read cooperatively, each lane loading different vec4s (a load of
// distinct addresses is the only kind of load that is not repeated per lane there), and its values
// are handed to every lane with subgroupBroadcast; no barrier, shared memory or cross-lane
// reduction is needed in the loop. With a reach buffer, keys at or beyond the largest reach of the
// subgroup's queries (a later block, the future of a causal block) are never visited: the loop
// bound is uniform, so the skip is real even where control flow is executed under lane masks.
// Requires HD % 4 == 0, row strides of K and V a multiple of 4 and 16-byte aligned bindings
// (attention_scalar.comp covers the rest).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

DECLARE_LOCAL_X // must be the subgroup size
layout(constant_id = 1) const uint HD = 128;
// vec4 loads per lane for one key row, and the head dims they cover (HD rounded up)
const uint CH = (HD + 4 * LOCAL_X - 1) / (4 * LOCAL_X);
const uint HDP = CH * 4 * LOCAL_X;

layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { vec4 kc[]; };
layout(binding = 2) readonly buffer V { vec4 vc[]; };
layout(binding = 3) readonly buffer M { int mask[]; };
layout(binding = 4) readonly buffer R { int reach[]; };
layout(binding = 5) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
	uint nq;
	uint nk;
	uint q0;
	uint group;    // heads / kv heads
	uint qStride;  // floats between query rows
	uint kvStride; // floats between key (value) rows, a multiple of 4
	uint oStride;  // floats between output rows
	float scale;   // log2(e) / sqrt(HD): scores are kept in base 2
	uint useReach; // 0: no reach buffer, every query visits all nk keys
} p;

// Below every real score: the initial maximum. Finite, so m_old - m_new is never inf - inf; a
// masked key's weight is forced to zero rather than computed.
const float NEG = -1.0e30;

void main() {
	uint lane = gl_SubgroupInvocationID;
	uint qi = gl_WorkGroupID.x * LOCAL_X + lane;
	uint h = gl_WorkGroupID.y;
	bool live = qi < p.nq;
	uint row = min(qi, p.nq - 1);
	uint qpos = p.q0 + row;
	int mq = mask[qpos];
	int bq = mq >> 2;
	bool bidir = (mq & 1) != 0;
	uint hi = p.nk;
	if (p.useReach != 0) {
		hi = min(subgroupMax(live ? uint(reach[qpos]) : 0u), p.nk);
	}

	float qv[HDP];
	float acc[HDP];
	uint qb = row * p.qStride + h * HD;
	[[unroll]] for (uint d = 0; d < HDP; d++) {
		qv[d] = d < HD ? float(q[qb + min(d, HD - 1)]) * p.scale : 0.0;
		acc[d] = 0;
	}
	float m = NEG;
	float l = 0;
	uint rowVecs = p.kvStride / 4;
	uint headVec = (h / p.group) * (HD / 4) + lane;
	uint lastVec = p.nk * rowVecs - 1;

	for (uint k = 0; k < hi; k++) {
		int mk = mask[k];
		int bk = mk >> 2;
		bool ok = live && (mk & 2) == 0 && (bk < bq || (bk == bq && (bidir || k <= qpos)));
		uint base = k * rowVecs + headVec;

		// s = q . K[k]: lane t's vec4 c holds dims 4*(c*LOCAL_X + t) .. +3 of the key
		float part[LOCAL_X];
		[[unroll]] for (uint t = 0; t < LOCAL_X; t++) {
			part[t] = 0;
		}
		[[unroll]] for (uint c = 0; c < CH; c++) {
			vec4 kr = kc[min(base + c * LOCAL_X, lastVec)];
			if (HDP != HD && 4 * (c * LOCAL_X + lane) >= HD) {
				kr = vec4(0); // another head's dims (or the clamp): keep NaN/Inf out
			}
			[[unroll]] for (uint t = 0; t < LOCAL_X; t++) {
				uint d = 4 * (c * LOCAL_X + t);
				part[t] = fma(qv[d], subgroupBroadcast(kr.x, t), part[t]);
				part[t] = fma(qv[d + 1], subgroupBroadcast(kr.y, t), part[t]);
				part[t] = fma(qv[d + 2], subgroupBroadcast(kr.z, t), part[t]);
				part[t] = fma(qv[d + 3], subgroupBroadcast(kr.w, t), part[t]);
			}
		}
		float s = 0;
		[[unroll]] for (uint t = 0; t < LOCAL_X; t++) {
			s += part[t];
		}

		float mc = ok ? max(m, s) : m;
		float corr = exp2(m - mc);
		float w = ok ? exp2(s - mc) : 0.0;
		m = mc;
		l = l * corr + w;

		// acc = acc * corr + w * V[k]
		[[unroll]] for (uint c = 0; c < CH; c++) {
			vec4 vr = vc[min(base + c * LOCAL_X, lastVec)];
			if (HDP != HD && 4 * (c * LOCAL_X + lane) >= HD) {
				vr = vec4(0);
			}
			[[unroll]] for (uint t = 0; t < LOCAL_X; t++) {
				uint d = 4 * (c * LOCAL_X + t);
				acc[d] = fma(w, subgroupBroadcast(vr.x, t), acc[d] * corr);
				acc[d + 1] = fma(w, subgroupBroadcast(vr.y, t), acc[d + 1] * corr);
				acc[d + 2] = fma(w, subgroupBroadcast(vr.z, t), acc[d + 2] * corr);
				acc[d + 3] = fma(w, subgroupBroadcast(vr.w, t), acc[d + 3] * corr);
			}
		}
	}
	if (live) {
		float inv = l > 0 ? 1.0 / l : 0.0;
		uint ob = row * p.oStride + h * HD;
		[[unroll]] for (uint d = 0; d < HD; d++) {
			o[ob + d] = acc[d] * inv;
		}
	}
}
