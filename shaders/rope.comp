#version 450
// Rotate-half RoPE (NeoX / HF-Llama) over all head dims, in place on q and on k, in one dispatch.
// For pair i < HALF of a head, with a = x[i], b = x[i + HALF]:
//     x[i] = a*cos - b*sin,  x[i + HALF] = b*cos + a*sin,
// cos and sin taken from a table [maxPos][HALF] of (cos, sin) pairs that the host computes in
// float64 (ref.RopeTable): the angles pos*theta^(-2i/hd) are not evaluated in fp32, whose error
// grows with the position and whose sin/cos lose accuracy on large arguments on many GPUs.
// One invocation per (token, pair): it loads the pair's (cos, sin) once and rotates that pair in
// every q head and every k head. Rotated k goes to kOut row kRow + t, which may be k itself
// (kRow 0, same stride) or a KV cache: the rotation then doubles as the cache append.
// A position outside [0, maxPos) writes NaN to that token's rotated values: the host validates
// positions, and a NaN cannot pass unnoticed downstream, while a clamped angle could.
#include "common.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint HALF = 64;
layout(constant_id = 2) const uint HEADS = 32;
layout(constant_id = 3) const uint KV_HEADS = 8;

layout(binding = 0) readonly buffer T { vec2 cs[]; };
layout(binding = 1) readonly buffer P { int pos[]; };
layout(binding = 2) buffer Q { float q[]; };
layout(binding = 3) readonly buffer K { float k[]; };
layout(binding = 4) writeonly buffer KO { float ko[]; };
layout(push_constant) uniform Push {
	uint n;
	uint qStride;
	uint kStride;
	uint koStride;
	uint kRow;
	uint maxPos;
} p;

void main() {
	uint idx = FLAT_INDEX;
	uint t = idx / HALF; // HALF is a constant after specialization: no hardware division
	uint i = idx - t * HALF;
	if (t >= p.n) {
		return;
	}
	int at = pos[t];
	bool bad = at < 0 || uint(at) >= p.maxPos;
	// NaN is written as bits: arithmetic on a NaN operand may be folded away by the driver.
	const float qnan = uintBitsToFloat(0x7fc00000u);
	vec2 r = cs[bad ? 0u : uint(at) * HALF + i];
	uint hd = 2 * HALF;
	for (uint h = 0; h < HEADS; h++) {
		uint b = t * p.qStride + h * hd + i;
		float a = q[b], c = q[b + HALF];
		q[b] = bad ? qnan : (a * r.x - c * r.y);
		q[b + HALF] = bad ? qnan : (c * r.x + a * r.y);
	}
	for (uint h = 0; h < KV_HEADS; h++) {
		uint b = t * p.kStride + h * hd + i;
		uint bo = (p.kRow + t) * p.koStride + h * hd + i;
		float a = k[b], c = k[b + HALF];
		ko[bo] = bad ? qnan : (a * r.x - c * r.y);
		ko[bo + HALF] = bad ? qnan : (c * r.x + a * r.y);
	}
}
