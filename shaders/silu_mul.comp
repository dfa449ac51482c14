#version 450
// The gated part of SwiGLU: out[t][j] = silu(gate[t][j]) * up[t][j], silu(g) = g / (1 + exp(-g)).
// gate and up are read at gOff + t*stride + j and uOff + t*stride + j, so one dispatch serves both
// two separate [n][ffn] buffers (stride ffn, offsets 0) and the output of a fused gate/up matmul
// [n][2*ffn] whose rows are [gate | up] (the same buffer bound twice, stride 2*ffn, uOff ffn).
// out is dense [n][ffn]. Grid: x over ffn, y over tokens (no integer division per element).
#include "common.glsl"

DECLARE_LOCAL_X
layout(binding = 0) readonly buffer G { sfp g[]; };
layout(binding = 1) readonly buffer U { sfp u[]; };
layout(binding = 2) writeonly buffer O { sfp o[]; };
layout(push_constant) uniform Push {
	uint n;
	uint ffn;
	uint stride;
	uint gOff;
	uint uOff;
} p;

void main() {
	uint j = gl_GlobalInvocationID.x;
	uint t = gl_WorkGroupID.y;
	if (j >= p.ffn || t >= p.n) {
		return;
	}
	uint in_ = t * p.stride + j;
	afp gv = afp(g[p.gOff + in_]);
	afp uv = afp(u[p.uOff + in_]);
	// exp(-g) overflows to +inf for g < -88: g / inf = -0, the limit of silu.
	o[t * p.ffn + j] = sfp(gv / (1.0 + exp(-gv)) * uv);
}
