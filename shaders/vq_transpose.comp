#version 450
// x [n][c] to y [c][ld], ld >= n, the columns n..ld-1 zero: the values of the vision tokenizer's
// attention as the weight operand of the matmul (rows of whole 32-float blocks). One invocation
// per element of y.
#include "common.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n;
	uint c;
	uint ld;
} p;

void main() {
	uint idx = FLAT_INDEX;
	if (idx >= p.c * p.ld) {
		return;
	}
	uint ch = idx / p.ld;
	uint i = idx - ch * p.ld;
	y[idx] = i < p.n ? x[i * p.c + ch] : 0.0;
}
