#version 450
// Block-masked flash attention for the layouts attention.comp does not take (a head dim that is
// not a multiple of 4, unaligned K/V rows): the same operands, mask and results, with one
// invocation per (query, head) reading key rows element by element. Each invocation visits the
// keys below its query's reach (all nk without a reach buffer), one online-softmax step per key
// (a chunked variant compiles for minutes on lavapipe, whose compiler unrolls the nested loops).
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint HD = 128; // head dim

layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float kc[]; };
layout(binding = 2) readonly buffer V { float vc[]; };
layout(binding = 3) readonly buffer M { int mask[]; };
layout(binding = 4) readonly buffer R { int reach[]; };
layout(binding = 5) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
	uint nq;
	uint nk;
	uint q0;
	uint group;
	uint qStride;
	uint kvStride;
	uint oStride;
	float scale;
	uint useReach;
} p;

const float NEG = -1.0e30;

void main() {
	uint qi = gl_GlobalInvocationID.x;
	uint h = gl_WorkGroupID.y;
	if (qi >= p.nq) {
		return;
	}
	uint qpos = p.q0 + qi;
	int mq = mask[qpos];
	int bq = mq >> 2;
	bool bidir = (mq & 1) != 0;
	uint hi = p.useReach != 0 ? min(uint(reach[qpos]), p.nk) : p.nk;

	float qv[HD];
	float acc[HD];
	uint qb = qi * p.qStride + h * HD;
	for (uint d = 0; d < HD; d++) {
		qv[d] = q[qb + d] * p.scale;
		acc[d] = 0;
	}
	float m = NEG;
	float l = 0;
	uint kvOff = (h / p.group) * HD;

	for (uint k = 0; k < hi; k++) {
		int mk = mask[k];
		int bk = mk >> 2;
		bool ok = (mk & 2) == 0 && (bk < bq || (bk == bq && (bidir || k <= qpos)));
		uint kb = k * p.kvStride + kvOff;
		float s = 0;
		for (uint d = 0; d < HD; d++) {
			s = fma(qv[d], kc[kb + d], s);
		}
		float mc = ok ? max(m, s) : m;
		float corr = exp2(m - mc);
		float w = ok ? exp2(s - mc) : 0.0;
		m = mc;
		l = l * corr + w;
		for (uint d = 0; d < HD; d++) {
			acc[d] = fma(w, vc[kb + d], acc[d] * corr);
		}
	}
	float inv = l > 0 ? 1.0 / l : 0.0;
	uint ob = qi * p.oStride + h * HD;
	for (uint d = 0; d < HD; d++) {
		o[ob + d] = acc[d] * inv;
	}
}
