#version 450
// The operand of a convolution as a GEMM (the vision tokenizer's convolutions run on the matmul
// kernel): col[p][j] for output pixel p = oy*OW + ox and column j = (c*K + ky)*K + kx holds
// x[iy][ix][c] with iy = oy*stride + ky - padTop, ix = ox*stride + kx - padLeft, or 0 where that
// falls on the zero padding; column C*K*K holds 1, the input of the bias, which the weight carries
// as its last column. x is HWC [H][W][C]; col is [OH*OW][C*K*K + 1]. The bottom and right padding
// are implied by OH and OW (the downsample pads one row and column there only). A dispatch fills
// the band of count output pixels from p0 on (col's row 0 is pixel p0), so that a large frame's
// patches need not fit one binding. With up = 2 the input is read as if upsampled by nearest x2
// (the padding and output geometry then refer to the 2H x 2W map): the decoder's upsampling and
// its convolution in one pass.
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
	uint up;         // 1, or 2 to read x upsampled by nearest x2 (the decoder's Upsample)
} p;

void main() {
	// One invocation per output pixel and input channel writes that channel's K*K columns (and
	// channel 0 the bias column): contiguous stores, and K*K times fewer invocations than one per
	// element, which on a CPU device costs per invocation.
	uint kk = p.k * p.k;
	uint cols = p.c * kk + 1;
	uint idx = FLAT_INDEX;
	if (idx >= p.count * p.c) {
		return;
	}
	uint row = idx / p.c;
	uint ch = idx - row * p.c;
	uint px = p.p0 + row;
	uint oy = px / p.ow;
	uint ox = px - oy * p.ow;
	uint base = row * cols + ch * kk;
	// Signed: the padding lies before row and column 0.
	int y0 = int(oy * p.stride) - int(p.padTop);
	int x0 = int(ox * p.stride) - int(p.padLeft);
	for (uint ky = 0; ky < p.k; ky++) {
		int iy = y0 + int(ky);
		bool rowIn = iy >= 0 && iy < int(p.h * p.up);
		for (uint kx = 0; kx < p.k; kx++) {
			int ix = x0 + int(kx);
			float v = 0.0;
			if (rowIn && ix >= 0 && ix < int(p.w * p.up)) {
				v = x[(uint(iy) / p.up * p.w + uint(ix) / p.up) * p.c + ch];
			}
			col[base + ky * p.k + kx] = v;
		}
	}
	if (ch == 0) {
		col[row * cols + cols - 1] = 1.0;
	}
}
