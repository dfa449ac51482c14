#version 450
// The gated part of SwiGLU: out[t][j] = silu(gate[t][j]) * up[t][j], silu(g) = g / (1 + exp(-g)).
// gate and up are read at gOff + t*stride + j and uOff + t*stride + j, so one dispatch serves both
// two separate [n][ffn] buffers (stride ffn, offsets 0) and the output of a fused gate/up matmul
// [n][2*ffn] whose rows are [gate | up] (the same buffer bound twice, stride 2*ffn, uOff ffn).
// out is dense [n][ffn]. Everything is counted in vec4s (ffn, stride and offsets are multiples of
// 4): on lavapipe a load costs per lane, not per byte, so vec4s move four times the data per
// load. Grid: x over groups of R*LOCAL_X vec4s of a row, y over tokens.
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint R = 4; // vec4s per invocation

layout(binding = 0) readonly buffer G { vec4 g[]; };
layout(binding = 1) readonly buffer U { vec4 u[]; };
layout(binding = 2) writeonly buffer O { vec4 o[]; };
layout(push_constant) uniform Push {
	uint n;
	uint ffn; // ffn, stride and the offsets count floats, all multiples of 4
	uint stride;
	uint gOff;
	uint uOff;
} p;

void main() {
	uint t = gl_WorkGroupID.y;
	if (t >= p.n) {
		return;
	}
	uint ffn4 = p.ffn / 4;
	for (uint r = 0; r < R; r++) {
		uint j = (gl_WorkGroupID.x * R + r) * LOCAL_X + gl_LocalInvocationID.x;
		if (j < ffn4) {
			uint at = t * (p.stride / 4) + j;
			vec4 gv = g[p.gOff / 4 + at];
			vec4 uv = u[p.uOff / 4 + at];
			// exp(-g) overflows to +inf for g < -88: g / inf = -0, the limit of silu.
			o[t * ffn4 + j] = gv / (1.0 + exp(-gv)) * uv;
		}
	}
}
