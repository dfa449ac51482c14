#version 450
// y[n][o] (+)= Σ_k W[row(o)][k] · x[n][k], fp32 accumulation, W in f32, f16, q8_0 or q4_0.
//
// One dispatch covers the rows of W held by one piece of its bindings (a weight larger than a
// storage binding is split at row boundaries). row(o) = o, or rows[o] in row-subset mode, where an
// id outside the piece is skipped by this dispatch and left to the dispatch of its own piece.
//
// Two layouts of the subgroup, chosen per device by KSPLIT:
//  - KSPLIT == 1: every invocation owns R rows (adjacent invocations adjacent rows) and C columns
//    (tokens). The subgroup loads 4*SG consecutive x values per column cooperatively, one vec4 per
//    invocation, and hands them around with subgroupBroadcast: on a CPU device every memory access
//    of an invocation is a scalar load with a bounds check, and a broadcast is two instructions.
//    The R*C accumulators form the register tile, so each weight read serves C columns and each x
//    value R*SG rows.
//  - KSPLIT == SG: a subgroup shares R rows and splits K by blocks (adjacent invocations adjacent
//    blocks, so loads coalesce), then reduces with subgroupAdd: the mat-vec layout for GPUs.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "quant.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint SG = 8;      // the subgroup size the pipeline is pinned to
layout(constant_id = 2) const uint DTYPE = 2;   // DT_F32 .. DT_Q4_0
layout(constant_id = 3) const uint R = 4;       // rows per invocation (KSPLIT 1) or per subgroup
layout(constant_id = 4) const uint C = 8;       // columns per workgroup
layout(constant_id = 5) const uint KSPLIT = 1;  // 1 or SG

#include "matmul_io.glsl"

const bool QUANT = MM_QUANT;
const uint NU = DT_UNITS(DTYPE);
const uint GPU = 8u / NU; // groups of 4 elements per unit
// With few columns, quantized rows sum 32-term partials and scale them once per block (a
// multiply per column instead of four per group); with many, the weights are scaled instead,
// which spares a second R*C tile of registers.
const bool PARTIALS = QUANT && C <= 2u;
const uint PC = PARTIALS ? C : 1u;

// The first element, within its block, of group j of unit u (q4_0 holds elements j and j+16 in
// one byte, so its single unit has groups 0..3 low and 4..7 high: still elements 4j..4j+3).
uint group_start(uint u, uint j) {
	return 4u * (u * GPU + j);
}

void main_rows_per_invocation() {
	const uint CHUNK = 4u * SG;     // x values per column per iteration
	const uint BPC = SG / 8u;       // blocks of 32 per iteration
	uint lane = gl_SubgroupInvocationID;
	uint wg = gl_WorkGroupID.x;
	uint n0 = gl_WorkGroupID.y * C;

	Row rr[R];
	bool any_work = false;
	[[unroll]] for (uint r = 0; r < R; r++) {
		rr[r] = map_row(p.first + (wg * R + r) * LOCAL_X + gl_LocalInvocationID.x);
		any_work = any_work || rr[r].live || rr[r].bad;
	}
	if (!subgroupAny(any_work)) {
		return;
	}

	float acc[R][C];
	[[unroll]] for (uint r = 0; r < R; r++) {
		[[unroll]] for (uint c = 0; c < C; c++) {
			acc[r][c] = 0.0;
		}
	}
	uint ncols[C];
	[[unroll]] for (uint c = 0; c < C; c++) {
		ncols[c] = min(n0 + c, p.N - 1);
	}

	for (uint kc = 0; kc < p.nb * 32u; kc += CHUNK) {
		vec4 xv[C];
		[[unroll]] for (uint c = 0; c < C; c++) {
			xv[c] = load_x(ncols[c], kc + 4u * lane);
		}
		[[unroll]] for (uint bb = 0; bb < BPC; bb++) {
			uint b = kc / 32u + bb;
			if (BPC > 1u && b >= p.nb) {
				break;
			}
			float d[R];
			uint u0[R];
			float part[R][PC];
			[[unroll]] for (uint r = 0; r < R; r++) {
				d[r] = load_scale(rr[r].sr, b);
				u0[r] = (rr[r].qr * p.nb + b) * NU;
				[[unroll]] for (uint c = 0; c < PC; c++) {
					part[r][c] = 0.0;
				}
			}
			// One 16-byte unit of every row per iteration, kept rolled so that the kernel stays
			// small enough to compile in a second on a CPU device. Each broadcast x group serves
			// all R rows.
			[[dont_unroll]] for (uint u = 0; u < NU; u++) {
				uvec4 unit[R];
				[[unroll]] for (uint r = 0; r < R; r++) {
					unit[r] = wq[u0[r] + u];
				}
				[[unroll]] for (uint j = 0; j < GPU; j++) {
					uint src = bb * 8u + group_start(u, j) / 4u;
					vec4 xb[C];
					[[unroll]] for (uint c = 0; c < C; c++) {
						xb[c] = subgroupBroadcast(xv[c], src);
					}
					[[unroll]] for (uint r = 0; r < R; r++) {
						vec4 w = dq_unit_group(DTYPE, unit[r], j);
						if (PARTIALS) {
							[[unroll]] for (uint c = 0; c < PC; c++) {
								part[r][c] += dot(w, xb[c]);
							}
						} else {
							w *= d[r];
							[[unroll]] for (uint c = 0; c < C; c++) {
								acc[r][c] += dot(w, xb[c]);
							}
						}
					}
				}
			}
			if (PARTIALS) {
				[[unroll]] for (uint r = 0; r < R; r++) {
					[[unroll]] for (uint c = 0; c < PC; c++) {
						acc[r][c] += d[r] * part[r][c];
					}
				}
			}
		}
	}

	// The R*C stores run in a loop kept rolled: unrolled, each per-invocation store and the read
	// of accumulation would be expanded R*C times, and on a CPU device that code dominates the
	// compile time. acc is copied out first so that the main loop keeps it in registers.
	float res[R * C];
	[[unroll]] for (uint r = 0; r < R; r++) {
		[[unroll]] for (uint c = 0; c < C; c++) {
			res[r * C + c] = acc[r][c];
		}
	}
	[[dont_unroll]] for (uint i = 0; i < R * C; i++) {
		store(rr[i / C], n0 + i % C, res[i]);
	}
}

void main_rows_per_subgroup() {
	uint lane = gl_SubgroupInvocationID;
	uint sub = gl_WorkGroupID.x * (LOCAL_X / SG) + gl_SubgroupID;
	uint n0 = gl_WorkGroupID.y * C;

	Row rr[R];
	bool any_work = false;
	[[unroll]] for (uint r = 0; r < R; r++) {
		rr[r] = map_row(p.first + sub * R + r);
		any_work = any_work || rr[r].live || rr[r].bad;
	}
	if (!any_work) {
		return; // uniform: every invocation of the subgroup maps the same rows
	}

	float acc[R][C];
	[[unroll]] for (uint r = 0; r < R; r++) {
		[[unroll]] for (uint c = 0; c < C; c++) {
			acc[r][c] = 0.0;
		}
	}
	uint ncols[C];
	[[unroll]] for (uint c = 0; c < C; c++) {
		ncols[c] = min(n0 + c, p.N - 1);
	}

	for (uint b = lane; b < p.nb; b += SG) {
		float d[R];
		[[unroll]] for (uint r = 0; r < R; r++) {
			d[r] = load_scale(rr[r].sr, b);
		}
		for (uint u = 0; u < NU; u++) {
			uvec4 unit[R];
			[[unroll]] for (uint r = 0; r < R; r++) {
				unit[r] = wq[(rr[r].qr * p.nb + b) * NU + u];
			}
			[[unroll]] for (uint j = 0; j < GPU; j++) {
				vec4 xv[C];
				[[unroll]] for (uint c = 0; c < C; c++) {
					xv[c] = load_x(ncols[c], b * 32u + group_start(u, j));
				}
				[[unroll]] for (uint r = 0; r < R; r++) {
					vec4 w = dq_unit_group(DTYPE, unit[r], j) * d[r];
					[[unroll]] for (uint c = 0; c < C; c++) {
						acc[r][c] += dot(w, xv[c]);
					}
				}
			}
		}
	}

	// Every invocation holds every sum after the reduction: each stores a share of them.
	float res[R * C];
	[[unroll]] for (uint r = 0; r < R; r++) {
		[[unroll]] for (uint c = 0; c < C; c++) {
			res[r * C + c] = subgroupAdd(acc[r][c]);
		}
	}
	[[dont_unroll]] for (uint i = lane; i < R * C; i += SG) {
		store(rr[i / C], n0 + i % C, res[i]);
	}
}

void main() {
	if (KSPLIT == 1u) {
		main_rows_per_invocation();
	} else {
		main_rows_per_subgroup();
	}
}
