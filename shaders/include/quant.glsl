// Weight storage formats of engine/quant (layout.go) and their dequantization, for any shader that
// reads weights. A [rows, cols] tensor is its quants (or plain values), row-major, then for q8_0 and
// q4_0 the fp16 scales, row-major by block of 32 elements (d of row r, block b at r*cols/32 + b).
//
// The helpers work on 32-bit words and on the 16-byte units (uvec4) a block is made of, in K order:
//   f32  : 8 units a block, unit u holds elements 4u..4u+3
//   f16  : 4 units a block, word w of the block holds elements 2w, 2w+1
//   q8_0 : 2 units a block, word w holds elements 4w..4w+3 as int8 (x = q*d)
//   q4_0 : 1 unit a block, byte j holds element j in its low nibble and j+16 in its high one
//          (x = (q-8)*d), so word w holds elements 4w..4w+3 (low) and 4w+16..4w+19 (high)
// A "group" is 4 consecutive elements of a block: group g is elements 4g..4g+3, g < 8.

#define DT_F32 0u
#define DT_F16 1u
#define DT_Q8_0 2u
#define DT_Q4_0 3u

// 16-byte units per block of 32 elements.
#define DT_UNITS(dt) ((dt) == DT_F32 ? 8u : (dt) == DT_F16 ? 4u : (dt) == DT_Q8_0 ? 2u : 1u)

// Four int8 quants, byte k of w is element k.
vec4 dq_i8x4(uint w) {
	return vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24);
}

// Four q4_0 quants minus 8: the low nibbles (high = false) or the high nibbles of the bytes of w.
vec4 dq_u4x4(uint w, bool high) {
	uint v = high ? (w >> 4) : w;
	return vec4(uvec4(v, v >> 8, v >> 16, v >> 24) & 15u) - 8.0;
}

// Two f16 words: four consecutive elements.
vec4 dq_f16x4(uint w0, uint w1) {
	return vec4(unpackHalf2x16(w0), unpackHalf2x16(w1));
}

// Group j of the groups one unit holds (unit u of a block holds groups u*8/DT_UNITS .. +8/DT_UNITS),
// unscaled: for q4_0 the whole block is one unit, and groups 4..7 are the high nibbles.
vec4 dq_unit_group(uint dt, uvec4 unit, uint j) {
	if (dt == DT_F32) {
		return uintBitsToFloat(unit);
	} else if (dt == DT_F16) {
		return j == 0u ? dq_f16x4(unit.x, unit.y) : dq_f16x4(unit.z, unit.w);
	} else if (dt == DT_Q8_0) {
		return dq_i8x4(unit[j]);
	}
	return dq_u4x4(unit[j & 3u], j >= 4u);
}
