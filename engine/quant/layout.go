package quant

import "fmt"

// BlockSize is the number of elements sharing one scale in q8_0 and q4_0, along a row.
const BlockSize = 32

// Align is the alignment of the scales inside a quantized tensor and of every tensor in a file: a
// GPU binding offset must be a multiple of minStorageBufferOffsetAlignment, at most 256 in practice.
const Align = 256

// MaxElements bounds the element count of one tensor (2^40), so that byte sizes never overflow.
const MaxElements = 1 << 40

// RowBytes returns the bytes of one row of cols elements: its quants (or plain values) and its
// scales (zero for f32 and f16).
func RowBytes(dt DType, cols int) (quant, scales int) {
	switch dt {
	case F32:
		return 4 * cols, 0
	case F16:
		return 2 * cols, 0
	case Q8_0:
		return cols, 2 * (cols / BlockSize)
	case Q4_0:
		return cols / 2, 2 * (cols / BlockSize)
	}
	return 0, 0
}

// CheckShape reports why a [rows, cols] tensor cannot be stored as dt, or nil when it can.
func CheckShape(dt DType, rows, cols int) error {
	switch {
	case !dt.Valid():
		return fmt.Errorf("unknown dtype %d", uint8(dt))
	case rows <= 0 || cols <= 0:
		return fmt.Errorf("shape [%d, %d] is not positive", rows, cols)
	case rows > MaxElements/cols:
		return fmt.Errorf("shape [%d, %d] has more than 2^40 elements", rows, cols)
	case dt.Quantized() && cols%BlockSize != 0:
		return fmt.Errorf("%v needs a row length that is a multiple of %d, not %d", dt, BlockSize, cols)
	}
	return nil
}

// Layout returns the byte layout of a [rows, cols] tensor stored as dt: the quants (or plain
// values) fill [0, quantBytes), row-major; for q8_0 and q4_0 zeros follow up to scaleOffset, the
// next multiple of Align, and the fp16 scales, row-major by block, end at totalBytes. For f32 and
// f16, scaleOffset = totalBytes = quantBytes. A shape that CheckShape rejects gives -1, -1, -1.
//
// Within a q4_0 row, the 16 bytes of block b hold element 32b+j in the low nibble of byte j and
// element 32b+j+16 in its high nibble, as in ggml.
func Layout(dt DType, rows, cols int) (quantBytes, scaleOffset, totalBytes int64) {
	if CheckShape(dt, rows, cols) != nil {
		return -1, -1, -1
	}
	q, s := RowBytes(dt, cols)
	quantBytes = int64(rows) * int64(q)
	if !dt.Quantized() {
		return quantBytes, quantBytes, quantBytes
	}
	scaleOffset = (quantBytes + Align - 1) / Align * Align
	return quantBytes, scaleOffset, scaleOffset + int64(rows)*int64(s)
}
