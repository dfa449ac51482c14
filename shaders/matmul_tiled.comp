#version 450
// y[n][o] (+)= Σ_k W[row(o)][k] · x[n][k] for many tokens: the GPU layout. A workgroup owns a
// BM×BN tile of y (BM rows of W, BN tokens) and walks K one block of 32 at a time: its invocations
// stage the block of BM weight rows (dequantized on the way in) and of BN x columns in shared
// memory, synchronise, and multiply from there, so each weight read from memory serves BN tokens
// and each x value BM rows. fp32 accumulation. The dispatch contract (bindings, push constants,
// row pieces and subsets, stores) is the other matmul shader's, in matmul_io.glsl.
//
// One source, several builds (shaders/build.sh), differing only in the inner product:
//  - no define: SIMT. Invocation (tr, tc) keeps a TM×TN register tile of fp32 FMAs on fp32
//    shared values; rows tr + i*BM/TM and columns tc + j*BN/TN.
//  - MMA_NV: the subgroups multiply 16×16×16 fp16 fragments through GL_NV_cooperative_matrix into
//    fp32 accumulators; weights and x are rounded to fp16 in shared memory.
//  - MMA_EMU: the same fragments, loads and stores done in plain arithmetic on shared memory (each
//    lane owns 256/SG elements of every accumulator): the tile logic of MMA_NV, testable on any
//    device. Only the intrinsic calls differ.
//  - INT8 (with MMA_NV or MMA_EMU): q8_0 weights times x quantized per block as q8_1, 16×16×32
//    int8 fragments into int32, scaled per block (dw·dx) into fp32 accumulators.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#if defined(MMA_NV)
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#if defined(INT8)
#extension GL_NV_integer_cooperative_matrix : require
#endif
#endif
#if defined(INT8)
#define MM_X_Q8_1
#endif
#if defined(MMA_NV) || defined(MMA_EMU)
#define MMA
#endif
#include "common.glsl"
#include "quant.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint SG = 8;    // the subgroup size the pipeline is pinned to (MMA)
layout(constant_id = 2) const uint DTYPE = 2; // DT_F32 .. DT_Q4_0 (INT8: DT_Q8_0)
layout(constant_id = 3) const uint BM = 32;   // rows of W per workgroup
layout(constant_id = 4) const uint BN = 32;   // columns (tokens) per workgroup
layout(constant_id = 5) const uint TM = 4;    // SIMT: rows per invocation
layout(constant_id = 6) const uint TN = 4;    // SIMT: columns per invocation

#include "matmul_io.glsl"

const uint BK = 32u; // K per stage: one block
const uint NU = DT_UNITS(DTYPE);
const uint GPU = 8u / NU; // groups of 4 elements per 16-byte unit

// Storage of the staged tiles (after ncnn: the stored type apart from the arithmetic one) and
// their row pitch in elements. The fp16 and int8 pitches keep every fragment row 16-byte aligned,
// as cooperative-matrix loads want; the fp32 pitch of 33 spreads rows over the banks.
#if defined(INT8)
#define stile int8_t
#define LDS 48u
#elif defined(MMA)
#define stile float16_t
#define LDS 40u
#else
#define stile float
#define LDS 33u
#endif

shared stile sw[BM * LDS]; // sw[r*LDS + k]: row r of the tile, element k of the block
shared stile sx[BN * LDS]; // sx[c*LDS + k]: column c of the tile
shared uint s_qr[BM];      // the quant row of each tile row (0 where it has none)
shared uint s_sr[BM];      // its scale row
shared bool s_live[BM];    // whether this dispatch's piece holds it

#if defined(MMA)
// Fragments: FM×FK of A (weights, row-major in sw) times FK×FN of B (x, column-major in sx, as
// x[n] rows are K-contiguous). Each subgroup owns FPS of the tile's fragments of y, fragment
// f = subgroup + i*NSG, and at the end stores them column-major into sc, y's layout.
const uint FM = 16u, FN = 16u;
#if defined(INT8)
const uint FK = 32u;
#define sacc int
#else
const uint FK = 16u;
#define sacc float
#endif
const uint NSG = LOCAL_X / SG;
const uint FPS = (BM / FM) * (BN / FN) / NSG;
const uint EPL = FM * FN / SG; // elements of a fragment per lane (emulation)
shared sacc sc[BM * BN];       // sc[n*BM + m]
#endif

#if defined(MMA_NV)
#if defined(INT8)
#define FRAG_A icoopmatNV<8, gl_ScopeSubgroup, FM, FK>
#define FRAG_B icoopmatNV<8, gl_ScopeSubgroup, FK, FN>
#define FRAG_C icoopmatNV<32, gl_ScopeSubgroup, FM, FN>
#define FRAG_ZERO FRAG_C(0)
#else
#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, FM, FK>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, FK, FN>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, FM, FN>
#define FRAG_ZERO FRAG_C(0.0)
#endif
#define ACC_DECL(acc) FRAG_C acc[FPS]
#define ACC_ZERO(acc, i) acc[i] = FRAG_ZERO
#define ACC_MMA(acc, i, aoff, boff) { \
	FRAG_A fa; FRAG_B fb; \
	coopMatLoadNV(fa, sw, aoff, LDS, false); \
	coopMatLoadNV(fb, sx, boff, LDS, true); \
	acc[i] = coopMatMulAddNV(fa, fb, acc[i]); }
#define ACC_STORE(acc, i, off) coopMatStoreNV(acc[i], sc, off, BM, true)
// Unrolled, so that each fragment stays in registers rather than in an indexed array.
#define FRAG_LOOP [[unroll]]
#elif defined(MMA_EMU)
// Lane l owns elements e = l + j*SG of a fragment, (m, n) = (e % FM, e / FM). A loaded A or B
// fragment is its place in shared memory, read when multiplied.
#define ACC_DECL(acc) sacc acc[FPS][EPL]
#define ACC_ZERO(acc, i) [[unroll]] for (uint j_ = 0; j_ < EPL; j_++) { acc[i][j_] = sacc(0); }
#define ACC_MMA(acc, i, aoff, boff) \
	[[dont_unroll]] for (uint j_ = 0; j_ < EPL; j_++) { \
		uint e_ = gl_SubgroupInvocationID + j_ * SG; \
		uint ao_ = (aoff) + (e_ % FM) * LDS, bo_ = (boff) + (e_ / FM) * LDS; \
		sacc s_ = sacc(0); \
		for (uint k_ = 0; k_ < FK; k_++) { s_ += sacc(sw[ao_ + k_]) * sacc(sx[bo_ + k_]); } \
		acc[i][j_] += s_; }
// Kept rolled: unrolled, every fragment's per-lane loops would be compiled FPS times on a CPU device.
#define FRAG_LOOP [[dont_unroll]]
#define ACC_STORE(acc, i, off) \
	[[unroll]] for (uint j_ = 0; j_ < EPL; j_++) { \
		uint e_ = gl_SubgroupInvocationID + j_ * SG; \
		sc[(off) + (e_ / FM) * BM + e_ % FM] = acc[i][j_]; }
#endif

// The fragment of y that subgroup-owned fragment i covers: rows fm*FM, columns fn*FN.
#if defined(MMA)
uvec2 frag_origin(uint i) {
	uint f = gl_SubgroupID + i * NSG;
	return uvec2(f % (BM / FM) * FM, f / (BM / FM) * FN);
}
#endif

// Stages block b of the tile's weight rows into sw: zeros for rows the piece does not hold.
// INT8 stages the q8_0 quants as they are and keeps the scale apart (sdw).
#if defined(INT8)
shared float sdw[BM];
shared float sdx[BN];
#endif
void stage_w(uint b) {
	for (uint i = gl_LocalInvocationID.x; i < BM * 8u; i += LOCAL_X) {
		uint r = i / 8u, g = i % 8u;
		bool live = s_live[r];
		uvec4 unit = wq[(s_qr[r] * p.nb + b) * NU + g / GPU];
#if defined(INT8)
		uint word = live ? unit[g % 4u] : 0u;
		[[unroll]] for (uint e = 0; e < 4; e++) {
			sw[r * LDS + 4u * g + e] = int8_t(int(word << (24u - 8u * e)) >> 24);
		}
		if (g == 0u) {
			sdw[r] = live ? load_scale(s_sr[r], b) : 0.0;
		}
#else
		vec4 v = live ? dq_unit_group(DTYPE, unit, g % GPU) * load_scale(s_sr[r], b) : vec4(0.0);
		[[unroll]] for (uint e = 0; e < 4; e++) {
			sw[r * LDS + 4u * g + e] = stile(v[e]);
		}
#endif
	}
}

// Stages block b of the tile's x columns into sx; a column past N repeats the last one (its
// results are never stored).
void stage_x(uint n0, uint b) {
	for (uint i = gl_LocalInvocationID.x; i < BN * 8u; i += LOCAL_X) {
		uint c = i / 8u, g = i % 8u;
		uint n = min(n0 + c, p.N - 1u);
#if defined(INT8)
		uint word = xq[(n * p.nb + b) * 8u + g];
		[[unroll]] for (uint e = 0; e < 4; e++) {
			sx[c * LDS + 4u * g + e] = int8_t(int(word << (24u - 8u * e)) >> 24);
		}
		if (g == 0u) {
			sdx[c] = unpackHalf2x16(xq[p.ldx + n * p.nb + b]).x;
		}
#else
		vec4 v = load_x(n, b * BK + 4u * g);
		[[unroll]] for (uint e = 0; e < 4; e++) {
			sx[c * LDS + 4u * g + e] = stile(v[e]);
		}
#endif
	}
}

void main() {
	uint row0 = p.first + gl_WorkGroupID.x * BM;
	uint n0 = gl_WorkGroupID.y * BN;
	uint tid = gl_LocalInvocationID.x;
	for (uint r = tid; r < BM; r += LOCAL_X) {
		Row rw = map_row(row0 + r);
		s_live[r] = rw.live;
		s_qr[r] = rw.qr;
		s_sr[r] = rw.sr;
	}

#if defined(MMA)
	ACC_DECL(acc);
	[[unroll]] for (uint i = 0; i < FPS; i++) {
		ACC_ZERO(acc, i);
	}
#if defined(INT8)
	// The int32 sums of one block are scaled into fp32 by the invocation that stores them.
	const uint EPT = BM * BN / LOCAL_X;
	float accf[EPT];
	[[unroll]] for (uint j = 0; j < EPT; j++) {
		accf[j] = 0.0;
	}
#endif
#else
	const uint NTN = BN / TN; // invocations along the columns
	uint tr = tid / NTN, tc = tid % NTN;
	float acc[TM][TN];
	[[unroll]] for (uint i = 0; i < TM; i++) {
		[[unroll]] for (uint j = 0; j < TN; j++) {
			acc[i][j] = 0.0;
		}
	}
#endif

	for (uint b = 0; b < p.nb; b++) {
		barrier(); // the previous block's tiles are consumed (and the row map is visible)
		stage_w(b);
		stage_x(n0, b);
		barrier();
#if defined(MMA)
		FRAG_LOOP for (uint i = 0; i < FPS; i++) {
			uvec2 o = frag_origin(i);
#if defined(INT8)
			ACC_ZERO(acc, i);
#endif
			[[unroll]] for (uint kk = 0; kk < BK; kk += FK) {
				ACC_MMA(acc, i, o.x * LDS + kk, o.y * LDS + kk);
			}
#if defined(INT8)
			ACC_STORE(acc, i, o.y * BM + o.x);
#endif
		}
#if defined(INT8)
		barrier();
		[[unroll]] for (uint j = 0; j < EPT; j++) {
			uint e = tid + j * LOCAL_X;
			accf[j] += sdw[e % BM] * sdx[e / BM] * float(sc[e]);
		}
#endif
#else
		[[dont_unroll]] for (uint k = 0; k < BK; k++) {
			float a[TM], bx[TN];
			[[unroll]] for (uint i = 0; i < TM; i++) {
				a[i] = sw[(tr + i * (BM / TM)) * LDS + k];
			}
			[[unroll]] for (uint j = 0; j < TN; j++) {
				bx[j] = sx[(tc + j * NTN) * LDS + k];
			}
			[[unroll]] for (uint i = 0; i < TM; i++) {
				[[unroll]] for (uint j = 0; j < TN; j++) {
					acc[i][j] = fma(a[i], bx[j], acc[i][j]);
				}
			}
		}
#endif
	}

#if defined(MMA)
#if defined(INT8)
	[[dont_unroll]] for (uint j = 0; j < EPT; j++) {
		uint e = tid + j * LOCAL_X;
		store(map_row(row0 + e % BM), n0 + e / BM, accf[j]);
	}
#else
	[[unroll]] for (uint i = 0; i < FPS; i++) {
		uvec2 o = frag_origin(i);
		ACC_STORE(acc, i, o.y * BM + o.x);
	}
	barrier();
	for (uint e = tid; e < BM * BN; e += LOCAL_X) {
		store(map_row(row0 + e % BM), n0 + e / BM, sc[e]);
	}
#endif
#else
	// Copied out first so that the main loop keeps acc in registers; the stores stay rolled.
	float res[TM * TN];
	[[unroll]] for (uint i = 0; i < TM; i++) {
		[[unroll]] for (uint j = 0; j < TN; j++) {
			res[i * TN + j] = acc[i][j];
		}
	}
	[[dont_unroll]] for (uint i = 0; i < TM * TN; i++) {
		uint r = tr + i / TN * (BM / TM), c = tc + i % TN * NTN;
		store(map_row(row0 + r), n0 + c, res[i]);
	}
#endif
}
