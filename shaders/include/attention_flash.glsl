// Block-masked flash attention for GPUs, the body of attention_flash*.comp. For each query i < nq
// (absolute position q0 + i) and head h,
//     out[i][h] = softmax_k(q[i][h] . K[k][h/group] / sqrt(HD)) V[k][h/group]
// over the keys k < nk the query may attend (spec §4, engine/seq.Mask; the mask words and the
// optional reach buffer are those of attention.comp).
//
// Work layout: a workgroup takes a tile of BQ queries of one head (grid x = query tile, y = head)
// and walks the keys in tiles of BK. Before a key tile is loaded, the workgroup evaluates the
// mask on every (query, key) pair of the tile and skips the tile when no pair is visible; with a
// reach buffer the walk also stops at the last key any query of the tile may attend. A visible
// tile's K and V rows are staged in shared memory, then
//     S = Q K^T (BQ x BK scores), row statistics (online softmax in fp32: running maximum m,
//     running sum l, correction exp2(m_old - m_new)), P = exp2(S * scale - m) with masked pairs 0,
//     O = O * corr + P V
// with Q, K, V, S, P and O in shared memory. The two products are the only lines that differ
// between the builds:
//   - SIMT (attention_flash.comp): fp32 operands, each invocation computes elements of S and O;
//   - MMA_NV (attention_flash_nv.comp): fp16 operands, GL_NV_cooperative_matrix 16x16x16
//     fragments with fp32 accumulation, the fragments of S and O dealt out to the subgroups;
//   - MMA_EMU (attention_flash_emu.comp): the same fragments, operands and dealing as MMA_NV, each
//     fragment multiplied in plain arithmetic by its subgroup's lanes, so that everything around
//     the intrinsics (staging, fp16 conversion, padding, fragment offsets and strides) runs on
//     devices without cooperative matrices.
// A query with no visible key writes zeros, as the reference.
#extension GL_KHR_shader_subgroup_basic : require
#include "common.glsl"

#if defined(MMA_NV) || defined(MMA_EMU)
#define MMA 1
#define ST float16_t // how Q, K, V and P are held in shared memory
const uint FR = 16;  // fragment edge: M = N = K = 16
#else
#define ST float
const uint FR = 1;
#endif

DECLARE_LOCAL_X
layout(constant_id = 1) const uint HD = 128; // head dim
layout(constant_id = 2) const uint BQ = 16;  // queries per workgroup (a multiple of FR)
layout(constant_id = 3) const uint BK = 16;  // keys per tile (a multiple of FR)
const uint HDP = (HD + FR - 1) / FR * FR;    // head dim padded to whole fragments
// Row stride of Qs and Ks. In the SIMT build it is odd, so that the query and key rows that the
// invocations of a subgroup read at one head dim lie in distinct shared-memory banks; the
// fragment loads of the MMA builds want whole fragments (a multiple of 16 elements).
const uint QKS = FR == 1 ? HDP + 1 : HDP;

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
	uint group;    // heads / kv heads
	uint qStride;  // floats between query rows
	uint kvStride; // floats between key (value) rows
	uint oStride;  // floats between output rows
	float scale;   // log2(e) / sqrt(HD): scores are kept in base 2
	uint useReach; // 0: no reach buffer, the walk covers all nk keys
} p;

const float NEG = -1.0e30; // below every real score, finite so that m_old - m_new is never inf - inf

shared ST Qs[BQ * QKS];
shared ST Ks[BK * QKS];
shared ST Vs[BK * HDP];
shared float Ss[BQ * BK];
shared ST Ps[BQ * BK];
shared float Os[BQ * HDP];
shared float Ms[BQ], Ls[BQ], Cs[BQ]; // running maximum, running sum, this tile's correction
shared int Mq[BQ];                   // the queries' mask words, -1 for rows past nq
shared int Mk[BK];                   // the tile's key words, PAD (2) for keys past nk
shared uint anyVisible[3];           // per key tile, in rotation (see the walk)
shared uint tileReach;

// allowed: may a query with word wq at position qpos attend a key with word wk at position k?
// A row past nq has the word -1: block -1 is below every key's block, so it sees nothing.
bool allowed(int wq, uint qpos, int wk, uint k) {
	int bq = wq >> 2, bk = wk >> 2;
	return (wk & 2) == 0 && (bk < bq || (bk == bq && ((wq & 1) != 0 || k <= qpos)));
}

#ifdef MMA_NV
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
// S[r0.., c0..] = Q[r0..] K[c0..]^T over the padded head dim.
#define MMA_QK(r0, c0) { \
	fcoopmatNV<32, gl_ScopeSubgroup, FR, FR> acc = fcoopmatNV<32, gl_ScopeSubgroup, FR, FR>(0.0); \
	for (uint kk = 0; kk < HDP; kk += FR) { \
		fcoopmatNV<16, gl_ScopeSubgroup, FR, FR> a, b; \
		coopMatLoadNV(a, Qs, (r0) * QKS + kk, QKS, false); \
		coopMatLoadNV(b, Ks, (c0) * QKS + kk, QKS, true); \
		acc = coopMatMulAddNV(a, b, acc); \
	} \
	coopMatStoreNV(acc, Ss, (r0) * BK + (c0), BK, false); }
// O[r0.., c0..] += P[r0..] V[.., c0..] over the tile's keys.
#define MMA_PV(r0, c0) { \
	fcoopmatNV<32, gl_ScopeSubgroup, FR, FR> acc; \
	coopMatLoadNV(acc, Os, (r0) * HDP + (c0), HDP, false); \
	for (uint kk = 0; kk < BK; kk += FR) { \
		fcoopmatNV<16, gl_ScopeSubgroup, FR, FR> a, b; \
		coopMatLoadNV(a, Ps, (r0) * BK + kk, BK, false); \
		coopMatLoadNV(b, Vs, kk * HDP + (c0), HDP, false); \
		acc = coopMatMulAddNV(a, b, acc); \
	} \
	coopMatStoreNV(acc, Os, (r0) * HDP + (c0), HDP, false); }
#elif defined(MMA_EMU)
// The fragments of MMA_NV, each element computed by one lane of the subgroup: fp16 operands,
// exact products, fp32 sums.
#define MMA_QK(r0, c0) { \
	for (uint e = gl_SubgroupInvocationID; e < FR * FR; e += gl_SubgroupSize) { \
		uint i = (r0) + e / FR, j = (c0) + e % FR; \
		float s = 0.0; \
		for (uint kk = 0; kk < HDP; kk++) { \
			s = fma(float(Qs[i * QKS + kk]), float(Ks[j * QKS + kk]), s); \
		} \
		Ss[i * BK + j] = s; \
	} }
#define MMA_PV(r0, c0) { \
	for (uint e = gl_SubgroupInvocationID; e < FR * FR; e += gl_SubgroupSize) { \
		uint i = (r0) + e / FR, d = (c0) + e % FR; \
		float acc = Os[i * HDP + d]; \
		for (uint kk = 0; kk < BK; kk++) { \
			acc = fma(float(Ps[i * BK + kk]), float(Vs[kk * HDP + d]), acc); \
		} \
		Os[i * HDP + d] = acc; \
	} }
#endif

// S = Q K^T for the staged tile.
void scores() {
#ifdef MMA
	// Every fragment of S to one subgroup; the loop bound is uniform in the subgroup, as the
	// cooperative operations require.
	for (uint f = gl_SubgroupID; f < (BQ / FR) * (BK / FR); f += gl_NumSubgroups) {
		MMA_QK(f / (BK / FR) * FR, f % (BK / FR) * FR);
	}
#else
	for (uint e = gl_LocalInvocationID.x; e < BQ * BK; e += LOCAL_X) {
		uint i = e / BK, j = e % BK;
		float s = 0.0;
		for (uint d = 0; d < HDP; d++) {
			s = fma(Qs[i * QKS + d], Ks[j * QKS + d], s);
		}
		Ss[e] = s;
	}
#endif
}

// O = O * corr + P V for the staged tile.
void accumulate() {
#ifdef MMA
	for (uint e = gl_LocalInvocationID.x; e < BQ * HDP; e += LOCAL_X) {
		Os[e] *= Cs[e / HDP];
	}
	barrier();
	for (uint f = gl_SubgroupID; f < (BQ / FR) * (HDP / FR); f += gl_NumSubgroups) {
		MMA_PV(f / (HDP / FR) * FR, f % (HDP / FR) * FR);
	}
#else
	for (uint e = gl_LocalInvocationID.x; e < BQ * HDP; e += LOCAL_X) {
		uint i = e / HDP, d = e % HDP;
		float acc = Os[e] * Cs[i];
		for (uint j = 0; j < BK; j++) {
			acc = fma(Ps[i * BK + j], Vs[j * HDP + d], acc);
		}
		Os[e] = acc;
	}
#endif
}

void main() {
	uint t = gl_LocalInvocationID.x;
	uint qt = gl_WorkGroupID.x * BQ;
	uint h = gl_WorkGroupID.y;
	uint qHead = h * HD, kvHead = (h / p.group) * HD;

	// Prologue: the query tile (fp16 in the MMA builds, zero past HD and nq), its mask words,
	// empty accumulators, the tile's reach.
	if (t == 0) {
		tileReach = 0;
		anyVisible[0] = 0;
		anyVisible[1] = 0;
		anyVisible[2] = 0;
	}
	for (uint e = t; e < BQ * HDP; e += LOCAL_X) {
		uint i = e / HDP, d = e % HDP;
		float x = 0.0;
		if (qt + i < p.nq && d < HD) {
			x = q[(qt + i) * p.qStride + qHead + d];
		}
		Qs[i * QKS + d] = ST(x);
		Os[e] = 0.0;
	}
	barrier();
	for (uint i = t; i < BQ; i += LOCAL_X) {
		bool live = qt + i < p.nq;
		int w = -1;
		if (live) {
			w = mask[p.q0 + qt + i]; // no read past the mask for rows past nq
		}
		Mq[i] = w;
		Ms[i] = NEG;
		Ls[i] = 0.0;
		if (live && p.useReach != 0) {
			atomicMax(tileReach, uint(reach[p.q0 + qt + i]));
		}
	}
	barrier();
	uint hi = p.useReach != 0 ? min(tileReach, p.nk) : p.nk;
	uint tiles = (hi + BK - 1) / BK;

	for (uint kt = 0; kt < tiles; kt++) {
		uint k0 = kt * BK;
		// Is any pair of this tile visible? Tile kt ORs into slot kt % 3; slot (kt + 2) % 3 is
		// cleared after the barrier: its last reader (tile kt - 1) is past that barrier and its
		// next writer (tile kt + 2) waits for the barrier of tile kt + 1.
		bool mine = false;
		for (uint e = t; e < BQ * BK && !mine; e += LOCAL_X) {
			uint i = e / BK, k = k0 + e % BK;
			mine = k < p.nk && allowed(Mq[i], p.q0 + qt + i, mask[k], k);
		}
		if (mine) {
			atomicOr(anyVisible[kt % 3], 1u);
		}
		barrier();
		bool visible = anyVisible[kt % 3] != 0;
		if (t == 0) {
			anyVisible[(kt + 2) % 3] = 0;
		}
		if (!visible) {
			continue; // uniform: every invocation read the same slot after the barrier
		}

		// Stage the tile's K and V rows (zero past nk and HD: no NaN or Inf of other rows enters
		// the products) and key words.
		for (uint e = t; e < BK * HDP; e += LOCAL_X) {
			uint j = e / HDP, d = e % HDP;
			float x = 0.0, y = 0.0;
			if (k0 + j < p.nk && d < HD) {
				uint at = (k0 + j) * p.kvStride + kvHead + d;
				x = kc[at];
				y = vc[at];
			}
			Ks[j * QKS + d] = ST(x);
			Vs[e] = ST(y);
		}
		for (uint j = t; j < BK; j += LOCAL_X) {
			Mk[j] = k0 + j < p.nk ? mask[k0 + j] : 2;
		}
		barrier();
		scores();
		barrier();

		// Row statistics: the new maximum over the visible keys, the correction of the old
		// state, P (rounded to ST, and summed as rounded so that l matches P V).
		for (uint i = t; i < BQ; i += LOCAL_X) {
			int wq = Mq[i];
			uint qpos = p.q0 + qt + i;
			float mOld = Ms[i];
			float mNew = mOld;
			for (uint j = 0; j < BK; j++) {
				if (allowed(wq, qpos, Mk[j], k0 + j)) {
					mNew = max(mNew, Ss[i * BK + j] * p.scale);
				}
			}
			float sum = 0.0;
			for (uint j = 0; j < BK; j++) {
				ST w = ST(allowed(wq, qpos, Mk[j], k0 + j) ? exp2(Ss[i * BK + j] * p.scale - mNew) : 0.0);
				Ps[i * BK + j] = w;
				sum += float(w);
			}
			float corr = exp2(mOld - mNew);
			Cs[i] = corr;
			Ls[i] = Ls[i] * corr + sum;
			Ms[i] = mNew;
		}
		barrier();
		accumulate();
		barrier();
	}

	// Epilogue: O / l for the live rows (zeros where no key was visible).
	for (uint e = t; e < BQ * HD; e += LOCAL_X) {
		uint i = e / HD, d = e % HD;
		if (qt + i < p.nq) {
			float l = Ls[i];
			o[(qt + i) * p.oStride + qHead + d] = l > 0.0 ? Os[i * HDP + d] / l : 0.0;
		}
	}
}
