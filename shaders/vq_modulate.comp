#version 450
// The modulation of the vision tokenizer decoder's SpatialNorm: out = n * y[src] + b[src] over an
// HWC map n [H*W][C] (the GroupNorm output), where y and b [hz*wz][C] are conv_y and conv_b of the
// code vectors at their own resolution and src is the nearest source pixel,
// (oy*hz/H, ox*wz/W) floored: a 1x1 convolution commutes with nearest upsampling, so convolving
// before upsampling gives the same values. Optionally SiLU after. One invocation per element.
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const bool SILU = false;

layout(binding = 0) readonly buffer N { float n[]; };
layout(binding = 1) readonly buffer Y { float y[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
	uint h, w, c;
	uint hz, wz;
} p;

void main() {
	uint idx = FLAT_INDEX;
	if (idx >= p.h * p.w * p.c) {
		return;
	}
	uint px = idx / p.c;
	uint ch = idx - px * p.c;
	uint oy = px / p.w;
	uint ox = px - oy * p.w;
	uint src = ((oy * p.hz) / p.h * p.wz + (ox * p.wz) / p.w) * p.c + ch;
	float v = fma(n[idx], y[src], b[src]);
	if (SILU) {
		v = v / (1.0 + exp(-v));
	}
	o[idx] = v;
}
