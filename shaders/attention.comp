#version 450
// Block-masked attention, flash style: for each query i < nq (absolute position q0 + i) and head h,
//     out[i][h] = softmax_k(q[i][h] . K[k][h/group] / sqrt(HD)) V[k][h/group]
// over the keys k < nk that the query may attend (spec §4, engine/seq.Mask):
//     !pad(k) && (b(k) < b(q) || (b(k) == b(q) && (bidir(q) || k <= q))),
// with the mask packed as one int per position: block << 2 | pad << 1 | bidir.
// Online softmax in fp32: a running maximum m, a running sum l and an unnormalised output that is
// rescaled by exp(m_old - m_new) once per chunk of KT keys; nothing of size nq x nk is stored.
// A query with no visible key writes zeros (as the reference does).
//
// Layout of the work: one invocation per (query, head); a workgroup holds LOCAL_X consecutive
// queries of one head (grid y = head). All invocations of a subgroup read the same K and V rows,
// so those loads are uniform (one load broadcast to every lane on SIMD devices like lavapipe) and
// no barrier, shared memory or cross-lane reduction is needed. A chunk of keys that no query of
// the subgroup may attend (a later block, the future of a causal block, PAD) is skipped after a
// subgroup vote on the per-key mask bits, which the masking needs anyway.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint HD = 128; // head dim
layout(constant_id = 2) const uint KT = 16;  // keys per chunk

layout(binding = 0) readonly buffer Q { sfp q[]; };
layout(binding = 1) readonly buffer K { sfp kc[]; };
layout(binding = 2) readonly buffer V { sfp vc[]; };
layout(binding = 3) readonly buffer M { int mask[]; };
layout(binding = 4) writeonly buffer O { sfp o[]; };
layout(push_constant) uniform Push {
	uint nq;
	uint nk;
	uint q0;
	uint group;    // heads / kv heads
	uint qStride;  // floats between query rows
	uint kvStride; // floats between key (value) rows
	uint oStride;  // floats between output rows
	float scale;   // log2(e) / sqrt(HD): scores are kept in base 2
} p;

// Below every real score: masked keys and the initial maximum. Finite, so m_old - m_new never
// becomes inf - inf; a masked key's weight is forced to zero rather than computed.
const float NEG = -1.0e30;

void main() {
	uint qi = gl_GlobalInvocationID.x;
	uint h = gl_WorkGroupID.y;
	uint kvh = h / p.group;
	bool live = qi < p.nq;
	uint row = min(qi, p.nq - 1);
	uint qpos = p.q0 + row;
	int mq = mask[qpos];
	int bq = mq >> 2;
	bool bidir = (mq & 1) != 0;

	afp qv[HD];
	afp acc[HD];
	uint qb = row * p.qStride + h * HD;
	for (uint d = 0; d < HD; d++) {
		qv[d] = afp(q[qb + d]) * p.scale;
		acc[d] = 0;
	}
	afp m = NEG;
	afp l = 0;
	uint kvOff = kvh * HD;

	for (uint k0 = 0; k0 < p.nk; k0 += KT) {
		bool ok[KT];
		bool some = false;
		for (uint j = 0; j < KT; j++) {
			uint k = k0 + j;
			int mk = mask[min(k, p.nk - 1)];
			int bk = mk >> 2;
			ok[j] = live && k < p.nk && (mk & 2) == 0 && (bk < bq || (bk == bq && (bidir || k <= qpos)));
			some = some || ok[j];
		}
		if (!subgroupAny(some)) {
			continue;
		}
		afp s[KT];
		afp mc = m;
		for (uint j = 0; j < KT; j++) {
			uint kb = min(k0 + j, p.nk - 1) * p.kvStride + kvOff;
			afp dot = 0;
			for (uint d = 0; d < HD; d++) {
				dot = fma(qv[d], afp(kc[kb + d]), dot);
			}
			s[j] = ok[j] ? dot : NEG;
			mc = max(mc, s[j]);
		}
		afp corr = exp2(m - mc);
		m = mc;
		l *= corr;
		afp w[KT];
		for (uint j = 0; j < KT; j++) {
			w[j] = ok[j] ? exp2(s[j] - m) : 0.0;
			l += w[j];
		}
		for (uint d = 0; d < HD; d++) {
			afp a = acc[d] * corr;
			for (uint j = 0; j < KT; j++) {
				uint vb = min(k0 + j, p.nk - 1) * p.kvStride + kvOff;
				a = fma(w[j], afp(vc[vb + d]), a);
			}
			acc[d] = a;
		}
	}
	if (live) {
		afp inv = l > 0 ? 1.0 / l : 0.0;
		uint ob = row * p.oStride + h * HD;
		for (uint d = 0; d < HD; d++) {
			o[ob + d] = sfp(acc[d] * inv);
		}
	}
}
