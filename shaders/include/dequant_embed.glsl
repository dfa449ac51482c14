// Dequantization of whole 32-bit words of a tensor stored in engine/quant's layout, for gathers
// that read rows at arbitrary byte offsets (the embedding table). Every helper turns one word into
// the four consecutive row elements it holds.

// Four f32 values are four words; f16 values come two per word.
vec4 dq_f16_words(uint w0, uint w1) {
	return vec4(unpackHalf2x16(w0), unpackHalf2x16(w1));
}

// q8_0: four int8 quants, element 4c+k in byte k (little-endian); x = q*d.
vec4 dq_q8_0_word(uint w, float d) {
	ivec4 q = ivec4(bitfieldExtract(int(w), 0, 8), bitfieldExtract(int(w), 8, 8),
		bitfieldExtract(int(w), 16, 8), bitfieldExtract(int(w), 24, 8));
	return vec4(q) * d;
}

// q4_0: byte j of a 16-byte block holds element j in its low nibble and element j+16 in its high
// nibble, so the word at block byte j (j % 4 == 0) holds elements j..j+3 (high = false) and
// j+16..j+19 (high = true); x = (q-8)*d.
vec4 dq_q4_0_word(uint w, bool high, float d) {
	uint s = high ? 4u : 0u;
	uvec4 q = uvec4(bitfieldExtract(w, int(s), 4), bitfieldExtract(w, int(s + 8u), 4),
		bitfieldExtract(w, int(s + 16u), 4), bitfieldExtract(w, int(s + 24u), 4));
	return (vec4(q) - 8.0) * d;
}
