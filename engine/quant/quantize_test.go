package quant

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

func freshRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("UDVLA_TEST_SEED"); env != "" { // reproduce a logged failure
		if v, err := strconv.ParseUint(env, 10, 64); err == nil {
			seed = v
		}
	}
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// randomMatrix has rows of different magnitudes, with outliers, as real weights do.
func randomMatrix(r *rand.Rand, rows, cols int) []float32 {
	x := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		s := math.Exp(r.Float64()*8 - 6)
		for j := 0; j < cols; j++ {
			v := r.NormFloat64() * s
			if r.IntN(50) == 0 {
				v *= 6
			}
			x[i*cols+j] = float32(v)
		}
	}
	return x
}

func TestParseString(t *testing.T) {
	for _, d := range DTypes {
		got, err := Parse(d.String())
		if err != nil || got != d {
			t.Fatalf("Parse(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := Parse("q5_1"); err == nil {
		t.Fatal("Parse accepted q5_1")
	}
	if DType(4).Valid() || DType(4).String() != "DType(4)" {
		t.Fatal("DType(4) is not a dtype")
	}
}

func TestLayout(t *testing.T) {
	cases := []struct {
		dt                  DType
		rows, cols          int
		quant, scale, total int64
	}{
		{F32, 3, 5, 60, 60, 60},
		{F16, 3, 5, 30, 30, 30},
		{Q8_0, 2, 64, 128, 256, 256 + 8},
		{Q8_0, 3, 96, 288, 512, 512 + 18},
		{Q4_0, 2, 64, 64, 256, 256 + 8},
		{Q4_0, 16, 32, 256, 256, 256 + 32},
		{Q4_0, 1367, 64, 1367 * 32, 43776, 43776 + 1367*4},
	}
	for _, c := range cases {
		q, s, tot := Layout(c.dt, c.rows, c.cols)
		if q != c.quant || s != c.scale || tot != c.total {
			t.Errorf("Layout(%v, %d, %d) = %d %d %d, want %d %d %d", c.dt, c.rows, c.cols, q, s, tot, c.quant, c.scale, c.total)
		}
		if s%Align != 0 && c.dt.Quantized() {
			t.Errorf("scales of %v at %d, not aligned", c.dt, s)
		}
	}
	for _, bad := range []struct {
		dt         DType
		rows, cols int
	}{{Q8_0, 2, 48}, {Q4_0, 1, 16}, {F32, 0, 4}, {F32, 4, -1}, {F16, 1 << 21, 1 << 20}, {DType(9), 1, 32}} {
		if q, s, tot := Layout(bad.dt, bad.rows, bad.cols); q != -1 || s != -1 || tot != -1 {
			t.Errorf("Layout(%v, %d, %d) = %d %d %d, want -1s", bad.dt, bad.rows, bad.cols, q, s, tot)
		}
		if CheckShape(bad.dt, bad.rows, bad.cols) == nil {
			t.Errorf("CheckShape(%v, %d, %d) accepted it", bad.dt, bad.rows, bad.cols)
		}
	}
}

// The quantized layout puts block (r, b) of a row-major tensor at quants r*rowQuant + b*blockQuant
// and its scale at scaleOffset + 2*(r*blocksPerRow + b): each block quantized alone must land there.
func TestLayoutPlacesBlocks(t *testing.T) {
	r := freshRand(t)
	rows, cols := 7, 96
	x := randomMatrix(r, rows, cols)
	for _, dt := range []DType{Q8_0, Q4_0} {
		b, err := Quantize(dt, rows, cols, x)
		if err != nil {
			t.Fatal(err)
		}
		qb, so, _ := Layout(dt, rows, cols)
		bq := int64(BlockSize)
		if dt == Q4_0 {
			bq = BlockSize / 2
		}
		for i := 0; i < rows*cols/BlockSize; i++ {
			one, err := Quantize(dt, 1, BlockSize, x[i*BlockSize:(i+1)*BlockSize])
			if err != nil {
				t.Fatal(err)
			}
			_, so1, _ := Layout(dt, 1, BlockSize)
			if !bytes.Equal(b[int64(i)*bq:int64(i+1)*bq], one[:bq]) || !bytes.Equal(b[so+2*int64(i):so+2*int64(i)+2], one[so1:]) {
				t.Fatalf("%v: block %d is not where the layout says", dt, i)
			}
		}
		for i, c := range b[qb:so] {
			if c != 0 {
				t.Fatalf("%v: padding byte %d is %#x", dt, i, c)
			}
		}
	}
}

// Round trips stay within each format's bound. Per block, with a = max|x| and d the scale:
// q8_0 rounds to the nearest step (d/2) and stores d in fp16 (127 steps of 2^-11 relative);
// q4_0 has steps of d = a/8 but the extreme opposite to m clips from 8d to 7d (error d);
// f16 is relative 2^-11.
func TestRoundTripBounds(t *testing.T) {
	r := freshRand(t)
	for _, shape := range [][2]int{{1, 32}, {5, 96}, {13, 160}, {33, 224}} {
		rows, cols := shape[0], shape[1]
		x := randomMatrix(r, rows, cols)
		for _, dt := range DTypes {
			b, err := Quantize(dt, rows, cols, x)
			if err != nil {
				t.Fatal(err)
			}
			y, err := Dequantize(dt, rows, cols, b)
			if err != nil {
				t.Fatal(err)
			}
			for blk := 0; blk < rows*cols/BlockSize; blk++ {
				var amax float64
				for _, v := range x[blk*BlockSize : (blk+1)*BlockSize] {
					amax = max(amax, math.Abs(float64(v)))
				}
				for j := blk * BlockSize; j < (blk+1)*BlockSize; j++ {
					e := math.Abs(float64(y[j]) - float64(x[j]))
					var bound float64
					switch dt {
					case F32:
						bound = 0
					case F16:
						bound = math.Abs(float64(x[j]))*math.Exp2(-11) + 6e-8
					// The fp16 scale d is off by at most 2^-11 of itself, or by 2^-25 (half the
					// spacing of fp16 subnormals) when amax is small enough to make d subnormal:
					// a quant q multiplies that error.
					case Q8_0:
						bound = amax/127*(0.5+127*math.Exp2(-11)+1e-6) + 127*math.Exp2(-25)
					case Q4_0:
						bound = amax/8*(1+8*math.Exp2(-11)+1e-6) + 8*math.Exp2(-25)
					}
					if e > bound {
						t.Fatalf("%v [%d,%d] element %d: %g -> %g, error %g over bound %g", dt, rows, cols, j, x[j], y[j], e, bound)
					}
				}
			}
		}
	}
}

// Encoding a tensor a few rows at a time, as the file writer streams it, gives the bytes of
// encoding it at once.
func TestEncodeRowsInChunks(t *testing.T) {
	r := freshRand(t)
	rows, cols := 11, 64
	x := randomMatrix(r, rows, cols)
	for _, dt := range DTypes {
		whole, err := Quantize(dt, rows, cols, x)
		if err != nil {
			t.Fatal(err)
		}
		qr, sr := RowBytes(dt, cols)
		_, so, total := Layout(dt, rows, cols)
		got := make([]byte, total)
		for r0 := 0; r0 < rows; r0 += 3 {
			r1 := min(rows, r0+3)
			if err := EncodeRows(dt, cols, x[r0*cols:r1*cols], got[r0*qr:r1*qr], got[so+int64(r0*sr):so+int64(r1*sr)]); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, whole) {
			t.Fatalf("%v: chunked encoding differs", dt)
		}
		y := make([]float32, 4*cols)
		if err := DecodeRows(dt, cols, whole[2*qr:6*qr], whole[so+int64(2*sr):so+int64(6*sr)], y); err != nil {
			t.Fatal(err)
		}
		all, _ := Dequantize(dt, rows, cols, whole)
		for i := range y {
			if y[i] != all[2*cols+i] {
				t.Fatalf("%v: DecodeRows of rows 2..5 differs at %d", dt, i)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i) - 20.5
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		x[37] = bad
		for _, dt := range DTypes {
			if _, err := Quantize(dt, 2, 32, x); err == nil {
				t.Errorf("%v accepted %g", dt, bad)
			}
		}
	}
	x[37] = 70000
	if _, err := Quantize(F16, 2, 32, x); err == nil {
		t.Error("f16 accepted 70000")
	}
	x[37] = 3e38
	for _, dt := range []DType{Q8_0, Q4_0} {
		if _, err := Quantize(dt, 2, 32, x); err == nil {
			t.Errorf("%v accepted a block whose scale overflows fp16", dt)
		}
	}
	x[37] = 1
	if _, err := Quantize(Q8_0, 2, 33, x); err == nil {
		t.Error("Quantize accepted a length that is not rows*cols")
	}
	b, err := Quantize(Q4_0, 1, 64, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dequantize(Q4_0, 1, 64, b[:len(b)-1]); err == nil {
		t.Error("Dequantize accepted a short buffer")
	}
	b[40] = 1 // padding between quants (32 bytes) and scales (at 256)
	if _, err := Dequantize(Q4_0, 1, 64, b); err == nil {
		t.Error("Dequantize accepted non-zero padding")
	}
}

func TestF16Helpers(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {float32(math.Exp2(-24)), 0x0001}, {0.1, 0x2e66}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}} {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	b, err := EncodeF16(nil, []float32{1.5, -0.25, 65519})
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 3)
	DecodeF16(y, b)
	if y[0] != 1.5 || y[1] != -0.25 || y[2] != 65504 || binary.LittleEndian.Uint16(b) != 0x3e00 {
		t.Fatalf("f16 round trip: %v", y)
	}
	if _, err := EncodeF16(nil, []float32{65520}); err == nil {
		t.Fatal("EncodeF16 accepted 65520, which rounds to infinity")
	}
}
