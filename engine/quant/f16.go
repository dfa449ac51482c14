package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// MaxF16 is the largest finite fp16 value.
const MaxF16 = 65504

// F32ToF16 rounds f to the nearest fp16 value, ties to even (as ggml's GGML_FP32_TO_FP16 and the
// F16C instruction do).
func F32ToF16(f float32) uint16 { return uint16(float16.Fromfloat32(f)) }

// F16ToF32 widens an fp16 value exactly.
func F16ToF32(h uint16) float32 { return float16.Frombits(h).Float32() }

// EncodeF16 appends the little-endian fp16 encoding of x to dst. Values beyond the fp16 range are
// an error rather than a silent infinity.
func EncodeF16(dst []byte, x []float32) ([]byte, error) {
	for i, v := range x {
		if !fitsF16(v) {
			return nil, fmt.Errorf("element %d = %g does not fit in fp16", i, v)
		}
		dst = binary.LittleEndian.AppendUint16(dst, F32ToF16(v))
	}
	return dst, nil
}

// DecodeF16 widens little-endian fp16 values into dst (len(src) = 2*len(dst)).
func DecodeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// fitsF16 reports whether v rounds to a finite fp16 value: below 65520, the midpoint between 65504
// and the first power of two past the range, which rounds (to even) to infinity.
func fitsF16(v float32) bool { return finite(v) && math.Abs(float64(v)) < MaxF16+16 }

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
