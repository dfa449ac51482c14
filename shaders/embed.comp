#version 450
// Embedding gather: out[t] = row ids[t] of a table [vocab][hidden] stored as f32, f16, q8_0 or q4_0
// (engine/quant layout), dequantized to f32. A table larger than one binding is split into parts of
// consecutive rows [first, first+rows), one dispatch each. A part's quants are read as 32-bit words
// from byte qOff of their binding on (row `first`), its fp16 scales as 16-bit values from byte sOff
// (the last scale may end a binding mid-word), so a part may start at any row whatever the
// device's binding-offset alignment. Each invocation writes four elements of one token (hidden is
// a multiple of 32 for every dtype). Tokens whose id lies in another part are left alone; an id
// outside [0, vocab) writes a row of zeros (only in the dispatch with ownsInvalid set), never
// reading outside the table.
#include "common.glsl"
#include "quant.glsl"

DECLARE_LOCAL_X
layout(constant_id = 1) const uint DTYPE = DT_F32; // engine/quant DType (quant.glsl DT_*)

layout(binding = 0) readonly buffer TQ { uint tq[]; };
layout(binding = 1) readonly buffer TS { float16_t ts[]; }; // read as halves: the last scale may end a binding mid-word
layout(binding = 2) readonly buffer I { int ids[]; };
layout(binding = 3) writeonly buffer O { vec4 o[]; };
layout(push_constant) uniform Push {
	uint n;
	uint hidden;
	uint vocab;
	uint first;
	uint rows;
	uint qOff; // bytes, a multiple of 4
	uint sOff; // bytes, a multiple of 2
	uint ownsInvalid;
} p;

void main() {
	uint c = gl_GlobalInvocationID.x; // group of four elements
	uint t = gl_WorkGroupID.y;
	uint quads = p.hidden / 4;
	if (c >= quads || t >= p.n) {
		return;
	}
	int id = ids[t];
	uint dst = t * quads + c;
	if (id < 0 || uint(id) >= p.vocab) {
		if (p.ownsInvalid != 0) {
			o[dst] = vec4(0);
		}
		return;
	}
	if (uint(id) < p.first || uint(id) - p.first >= p.rows) {
		return;
	}
	uint r = uint(id) - p.first;
	uint e = 4 * c; // first element
	vec4 v;
	if (DTYPE == DT_F32) {
		uint w = p.qOff / 4 + r * p.hidden + e;
		v = uintBitsToFloat(uvec4(tq[w], tq[w + 1], tq[w + 2], tq[w + 3]));
	} else if (DTYPE == DT_F16) {
		uint w = p.qOff / 4 + (r * p.hidden + e) / 2;
		v = dq_f16x4(tq[w], tq[w + 1]);
	} else {
		uint blocks = p.hidden / 32;
		uint hidx = p.sOff / 2 + r * blocks + e / 32;
		float d = float(ts[hidx]);
		if (DTYPE == DT_Q8_0) {
			v = dq_i8x4(tq[p.qOff / 4 + (r * p.hidden + e) / 4]) * d;
		} else {
			uint j = e % 32;
			uint byteInRow = (e / 32) * 16 + (j % 16);
			v = dq_u4x4(tq[p.qOff / 4 + (r * p.hidden / 2 + byteInRow) / 4], j >= 16) * d;
		}
	}
	o[dst] = v;
}
