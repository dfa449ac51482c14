package quant

import "math"

// The block quantizers below follow ggml's quantize_row_q8_0_ref and quantize_row_q4_0_ref
// operation by operation, in float32: the scale d is computed in float32, the quants use
// id = 1/d of that float32 d (not of its fp16 rounding), and only then is d rounded to fp16.
// Every product is converted explicitly so that no fused multiply-add changes a rounding.

// quantizeBlockQ8_0 writes 32 int8 quants of x to q and returns the fp16 scale.
func quantizeBlockQ8_0(x []float32, q []byte) uint16 {
	var amax float32
	for _, v := range x[:BlockSize] {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j, v := range x[:BlockSize] {
		// roundf: half away from zero; the float32 product is an integer-exact float64.
		q[j] = byte(int8(math.Round(float64(float32(v * id)))))
	}
	return F32ToF16(d)
}

// quantizeBlockQ4_0 writes 16 bytes of 4-bit quants of x to q and returns the fp16 scale.
func quantizeBlockQ4_0(x []float32, q []byte) uint16 {
	// m is the signed value of largest magnitude, the first one on ties (ggml compares with <).
	var amax, m float32
	for _, v := range x[:BlockSize] {
		if a := abs32(v); amax < a {
			amax, m = a, v
		}
	}
	d := m / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := 0; j < BlockSize/2; j++ {
		lo := nibble(float32(x[j] * id))
		hi := nibble(float32(x[j+BlockSize/2] * id))
		q[j] = lo | hi<<4
	}
	return F32ToF16(d)
}

// nibble is ggml's MIN(15, (int8_t)(x + 8.5f)): the conversion truncates toward zero.
func nibble(x float32) byte {
	t := int8(float32(x + 8.5))
	return byte(min(15, t))
}

func dequantizeBlockQ8_0(q []byte, d float32, y []float32) {
	for j := range y[:BlockSize] {
		y[j] = float32(int8(q[j])) * d
	}
}

func dequantizeBlockQ4_0(q []byte, d float32, y []float32) {
	for j := 0; j < BlockSize/2; j++ {
		y[j] = float32(int(q[j]&0x0f)-8) * d
		y[j+BlockSize/2] = float32(int(q[j]>>4)-8) * d
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
