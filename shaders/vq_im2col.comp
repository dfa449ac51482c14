#version 450
// The operand of a convolution as a GEMM (the vision tokenizer's convolutions run on the matmul
// kernel): col[p][j] for output pixel p = oy*OW + ox and column j = (c*K + ky)*K + kx holds
// x[iy][ix][c] with iy = oy*stride + ky - padTop, ix = ox*stride + kx - padLeft, or 0 where that
// falls on the zero padding; column C*K*K holds 1, the input of the bias, which the weight carries
// as its last column. x is HWC [H][W][C]; col is [OH*OW][C*K*K + 1]. The bottom and right padding
// are implied by OH and OW (the downsample pads one row and column there only). A dispatch fills
// the band of count output pixels from p0 on (col's row 0 is pixel p0), so that a large frame's
// patches need not fit one binding. One invocation per element of the band, over a 2-D grid of
// workgroups.
#include "common.glsl"

DECLARE_LOCAL_X

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Col { float col[]; };
layout(push_constant) uniform Push {
	uint h, w, c;    // input
	uint oh, ow;     // output
	uint k, stride;
	uint padTop, padLeft;
	uint p0, count;  // the band of output pixels
} p;

void main() {
	uint kk = p.k * p.k;
	uint cols = p.c * kk + 1;
	uint idx = FLAT_INDEX;
	if (idx >= p.count * cols) {
		return;
	}
	uint row = idx / cols;
	uint j = idx - row * cols;
	uint px = p.p0 + row;
	if (j == cols - 1) {
		col[idx] = 1.0;
		return;
	}
	uint ch = j / kk;
	uint r = j - ch * kk;
	uint ky = r / p.k;
	uint kx = r - ky * p.k;
	uint oy = px / p.ow;
	uint ox = px - oy * p.ow;
	// Signed: the padding lies before row and column 0.
	int iy = int(oy * p.stride + ky) - int(p.padTop);
	int ix = int(ox * p.stride + kx) - int(p.padLeft);
	float v = 0.0;
	if (iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w)) {
		v = x[(uint(iy) * p.w + uint(ix)) * p.c + ch];
	}
	col[idx] = v;
}
