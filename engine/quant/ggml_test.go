package quant

import (
	"encoding/binary"
	"math"
	"testing"
)

// block pads vals with fill to a whole block.
func block(fill float32, vals ...float32) []float32 {
	x := make([]float32, BlockSize)
	for i := range x {
		x[i] = fill
	}
	copy(x, vals)
	return x
}

func quantizeOne(t *testing.T, dt DType, x []float32) (quants []byte, scale uint16) {
	t.Helper()
	b, err := Quantize(dt, 1, len(x), x)
	if err != nil {
		t.Fatal(err)
	}
	qb, so, _ := Layout(dt, 1, len(x))
	return b[:qb], binary.LittleEndian.Uint16(b[so:])
}

// With max|x| = 127 the q8_0 scale is exactly 1, so the quants are C's roundf of the values:
// halves go away from zero.
func TestQ8_0Ties(t *testing.T) {
	x := block(0.25, 127, -127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 2.4999998, -126.5, 126.49999)
	want := []int8{127, -127, 1, -1, 2, -2, 3, -3, 2, -127, 126}
	q, d := quantizeOne(t, Q8_0, x)
	if d != 0x3c00 {
		t.Fatalf("scale %#04x, want 0x3c00 (1.0)", d)
	}
	for j, w := range want {
		if int8(q[j]) != w {
			t.Errorf("q[%d] = %d for x = %g, want %d", j, int8(q[j]), x[j], w)
		}
	}
	for j := len(want); j < BlockSize; j++ { // 0.25 rounds to 0
		if q[j] != 0 {
			t.Errorf("q[%d] = %d for x = 0.25, want 0", j, int8(q[j]))
		}
	}
}

// A q8_0 scale that is not exact in fp16: the quants come from the float32 d, the stored scale is
// its fp16 rounding.
func TestQ8_0ScaleRounding(t *testing.T) {
	x := block(-0.75, 1, -0.5, 0.3)
	q, d := quantizeOne(t, Q8_0, x)
	d32 := float32(1) / 127
	if F16ToF32(F32ToF16(d32)) == d32 {
		t.Fatal("1/127 is exact in fp16: the case does not test the rounding")
	}
	if d != F32ToF16(d32) {
		t.Fatalf("scale %#04x, want fp16(1/127) = %#04x", d, F32ToF16(d32))
	}
	id := 1 / d32
	for j, v := range x {
		if want := int8(math.Round(float64(v * id))); int8(q[j]) != want {
			t.Errorf("q[%d] = %d, want %d", j, int8(q[j]), want)
		}
	}
	if int8(q[0]) != 127 || int8(q[1]) != -64 || int8(q[3]) != -95 { // -0.75*127 = -95.25
		t.Errorf("quants %v", q[:4])
	}
}

// q4_0 with m = -8: d = 1, q = min(15, trunc(x + 8.5)).
func TestQ4_0Formula(t *testing.T) {
	x := block(0, -8, 7.5, 7.49, 0, -0.5, -0.51, 0.49, 0.5, 3, -3.2, 6.9, -7.99, 1e-3, -1e-3, 2.6, 5.5)
	x[16], x[17], x[31] = 7.999, -4.5, 4.49
	want := make([]byte, BlockSize)
	for j, v := range x {
		want[j] = byte(min(15, int(math.Trunc(float64(v)+8.5))))
	}
	// spelled out for the first ones, so the formula above is checked too
	for j, w := range []byte{0, 15, 15, 8, 8, 7, 8, 9, 11, 5, 15, 0, 8, 8, 11, 14} {
		if want[j] != w {
			t.Fatalf("formula gives %d for %g, expected %d", want[j], x[j], w)
		}
	}
	q, d := quantizeOne(t, Q4_0, x)
	if d != 0x3c00 {
		t.Fatalf("scale %#04x, want 0x3c00", d)
	}
	for j := 0; j < 16; j++ {
		if lo, hi := q[j]&15, q[j]>>4; lo != want[j] || hi != want[j+16] {
			t.Errorf("byte %d = %#02x, want low %d (x=%g) high %d (x=%g)", j, q[j], want[j], x[j], want[j+16], x[j+16])
		}
	}
}

// m is the first value of largest magnitude: its sign sets the sign of d, and the opposite
// extreme clips to 15.
func TestQ4_0SignOfLargest(t *testing.T) {
	neg := block(1, -8, 8)
	q, d := quantizeOne(t, Q4_0, neg)
	if d != 0x3c00 || q[0]&15 != 8+0-8 || q[1]&15 != 15 {
		t.Fatalf("[-8, 8, ...]: scale %#04x quants %d %d, want 0x3c00 0 15", d, q[0]&15, q[1]&15)
	}
	pos := block(1, 8, -8)
	q, d = quantizeOne(t, Q4_0, pos)
	if d != 0xbc00 || q[0]&15 != 0 || q[1]&15 != 15 || q[2]&15 != 7 { // x=1, d=-1: trunc(-1+8.5) = 7
		t.Fatalf("[8, -8, 1...]: scale %#04x quants %d %d %d, want 0xbc00 0 15 7", d, q[0]&15, q[1]&15, q[2]&15)
	}
}

func TestZeroBlocks(t *testing.T) {
	x := make([]float32, 2*BlockSize)
	x[0] = float32(math.Copysign(0, -1))
	for _, dt := range []DType{Q8_0, Q4_0} {
		b, err := Quantize(dt, 1, len(x), x)
		if err != nil {
			t.Fatal(err)
		}
		qb, so, total := Layout(dt, 1, len(x))
		wantQ, wantD := byte(0), uint16(0)
		if dt == Q4_0 {
			wantQ = 0x88   // q = 8 in both nibbles: x = (8-8)*0
			wantD = 0x8000 // ggml's d = 0.0f / -8 is -0
		}
		for i, c := range b[:qb] {
			if c != wantQ {
				t.Fatalf("%v: zero block quant byte %d = %#02x, want %#02x", dt, i, c, wantQ)
			}
		}
		for i := so; i < total; i += 2 {
			if d := binary.LittleEndian.Uint16(b[i:]); d != wantD {
				t.Fatalf("%v: zero block scale %#04x, want %#04x", dt, d, wantD)
			}
		}
	}
}

// Tiny blocks: a normal tiny max keeps full-range quants with a scale that underflows fp16 to
// zero; a subnormal max makes d underflow in float32 itself, so id = 0 and every quant is zero.
func TestTinyBlocks(t *testing.T) {
	q, d := quantizeOne(t, Q8_0, block(0, 1e-30, -1e-30, 5e-31))
	if d != 0 || int8(q[0]) != 127 || int8(q[1]) != -127 || int8(q[2]) != 64 { // 63.5 rounds away
		t.Fatalf("q8_0 of ±1e-30: scale %#04x quants %d %d %d, want 0 127 -127 64", d, int8(q[0]), int8(q[1]), int8(q[2]))
	}
	q, d = quantizeOne(t, Q4_0, block(0, -1e-30, 1e-30))
	if d != 0 || q[0]&15 != 0 || q[1]&15 != 15 || q[2] != 0x88 {
		t.Fatalf("q4_0 of ±1e-30: scale %#04x bytes %#02x %#02x %#02x", d, q[0], q[1], q[2])
	}
	sub := math.Float32frombits(1) // smallest subnormal
	for _, dt := range []DType{Q8_0, Q4_0} {
		q, d = quantizeOne(t, dt, block(0, sub, -sub))
		want, wantD := byte(0), uint16(0)
		if dt == Q4_0 {
			want, wantD = 0x88, 0x8000 // m > 0: d = m/-8 underflows to -0
		}
		if d != wantD || q[0] != want || q[1] != want {
			t.Fatalf("%v of ±subnormal: scale %#04x bytes %#02x %#02x, want %#04x and %#02x", dt, d, q[0], q[1], wantD, want)
		}
	}
}

// Dequantization is x = q*d (q8_0) and x = (q-8)*d (q4_0) with d widened from fp16.
func TestDequantizeFormula(t *testing.T) {
	cols := 64
	qb8, so8, tot8 := Layout(Q8_0, 1, cols)
	b := make([]byte, tot8)
	for j := 0; j < cols; j++ {
		b[j] = byte(int8(j - 40))
	}
	binary.LittleEndian.PutUint16(b[so8:], F32ToF16(0.5))
	binary.LittleEndian.PutUint16(b[so8+2:], F32ToF16(-3))
	y, err := Dequantize(Q8_0, 1, cols, b)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range y {
		d := float32(0.5)
		if j >= 32 {
			d = -3
		}
		if v != float32(j-40)*d {
			t.Fatalf("q8_0 element %d = %g, want %g", j, v, float32(j-40)*d)
		}
	}
	_ = qb8
	_, so4, tot4 := Layout(Q4_0, 1, cols)
	b = make([]byte, tot4)
	for j := 0; j < cols/2; j++ {
		b[j] = byte(j%16) | byte(15-j%16)<<4
	}
	binary.LittleEndian.PutUint16(b[so4:], F32ToF16(0.25))
	binary.LittleEndian.PutUint16(b[so4+2:], F32ToF16(2))
	y, err = Dequantize(Q4_0, 1, cols, b)
	if err != nil {
		t.Fatal(err)
	}
	for blk := 0; blk < 2; blk++ {
		d := []float32{0.25, 2}[blk]
		for j := 0; j < 16; j++ {
			lo, hi := y[32*blk+j], y[32*blk+j+16]
			if wl, wh := float32(j-8)*d, float32(7-j)*d; lo != wl || hi != wh {
				t.Fatalf("q4_0 block %d byte %d: got %g %g, want %g %g", blk, j, lo, hi, wl, wh)
			}
		}
	}
}
