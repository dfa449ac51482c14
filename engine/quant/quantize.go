package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// EncodeRows encodes len(x)/cols whole rows of x as dt: their quants (or plain values) go to
// quants and their fp16 scales to scales, each exactly as long as RowBytes says for that many rows.
// It is the piece a streaming writer needs: the rows of a tensor's quants are contiguous, and so
// are the rows of its scales.
func EncodeRows(dt DType, cols int, x []float32, quants, scales []byte) error {
	if cols <= 0 || len(x)%cols != 0 {
		return fmt.Errorf("%d values are not whole rows of %d", len(x), cols)
	}
	rows := len(x) / cols
	if err := CheckShape(dt, max(rows, 1), cols); err != nil {
		return err
	}
	qr, sr := RowBytes(dt, cols)
	if len(quants) != rows*qr || len(scales) != rows*sr {
		return fmt.Errorf("%v: %d rows of %d need %d quant and %d scale bytes, got %d and %d",
			dt, rows, cols, rows*qr, rows*sr, len(quants), len(scales))
	}
	for i, v := range x {
		if !finite(v) {
			return fmt.Errorf("element %d (row %d, column %d) is %g", i, i/cols, i%cols, v)
		}
	}
	switch dt {
	case F32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(quants[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range x {
			if !fitsF16(v) {
				return fmt.Errorf("element %d (row %d, column %d) = %g does not fit in fp16", i, i/cols, i%cols, v)
			}
			binary.LittleEndian.PutUint16(quants[2*i:], F32ToF16(v))
		}
	case Q8_0, Q4_0:
		bq := BlockSize
		if dt == Q4_0 {
			bq = BlockSize / 2
		}
		for b := 0; b < len(x)/BlockSize; b++ {
			blk := x[b*BlockSize : (b+1)*BlockSize]
			var d uint16
			if dt == Q8_0 {
				d = quantizeBlockQ8_0(blk, quants[b*bq:])
			} else {
				d = quantizeBlockQ4_0(blk, quants[b*bq:])
			}
			if F16ToF32(d) > MaxF16 || F16ToF32(d) < -MaxF16 {
				return fmt.Errorf("block %d (row %d) has a scale beyond the fp16 range", b, b*BlockSize/cols)
			}
			binary.LittleEndian.PutUint16(scales[2*b:], d)
		}
	}
	return nil
}

// DecodeRows is the inverse of EncodeRows: it fills y (whole rows of cols) from quants and scales.
func DecodeRows(dt DType, cols int, quants, scales []byte, y []float32) error {
	if cols <= 0 || len(y)%cols != 0 {
		return fmt.Errorf("%d values are not whole rows of %d", len(y), cols)
	}
	rows := len(y) / cols
	if err := CheckShape(dt, max(rows, 1), cols); err != nil {
		return err
	}
	qr, sr := RowBytes(dt, cols)
	if len(quants) != rows*qr || len(scales) != rows*sr {
		return fmt.Errorf("%v: %d rows of %d need %d quant and %d scale bytes, got %d and %d",
			dt, rows, cols, rows*qr, rows*sr, len(quants), len(scales))
	}
	switch dt {
	case F32:
		for i := range y {
			y[i] = math.Float32frombits(binary.LittleEndian.Uint32(quants[4*i:]))
		}
	case F16:
		DecodeF16(y, quants)
	case Q8_0:
		for b := 0; b < len(y)/BlockSize; b++ {
			d := F16ToF32(binary.LittleEndian.Uint16(scales[2*b:]))
			dequantizeBlockQ8_0(quants[b*BlockSize:], d, y[b*BlockSize:])
		}
	case Q4_0:
		for b := 0; b < len(y)/BlockSize; b++ {
			d := F16ToF32(binary.LittleEndian.Uint16(scales[2*b:]))
			dequantizeBlockQ4_0(quants[b*BlockSize/2:], d, y[b*BlockSize:])
		}
	}
	return nil
}

// Quantize stores a [rows, cols] tensor as dt in the layout of Layout.
func Quantize(dt DType, rows, cols int, x []float32) ([]byte, error) {
	if err := CheckShape(dt, rows, cols); err != nil {
		return nil, err
	}
	if int64(len(x)) != int64(rows)*int64(cols) {
		return nil, fmt.Errorf("shape [%d, %d] needs %d values, got %d", rows, cols, int64(rows)*int64(cols), len(x))
	}
	qb, so, total := Layout(dt, rows, cols)
	out := make([]byte, total)
	if err := EncodeRows(dt, cols, x, out[:qb], out[so:]); err != nil {
		return nil, err
	}
	return out, nil
}

// Dequantize is the inverse of Quantize. The padding between quants and scales must be zero.
func Dequantize(dt DType, rows, cols int, b []byte) ([]float32, error) {
	if err := CheckShape(dt, rows, cols); err != nil {
		return nil, err
	}
	qb, so, total := Layout(dt, rows, cols)
	if int64(len(b)) != total {
		return nil, fmt.Errorf("%v [%d, %d] takes %d bytes, got %d", dt, rows, cols, total, len(b))
	}
	for i, c := range b[qb:so] {
		if c != 0 {
			return nil, fmt.Errorf("%v [%d, %d]: padding byte %d is %#x, not zero", dt, rows, cols, qb+int64(i), c)
		}
	}
	y := make([]float32, int64(rows)*int64(cols))
	if err := DecodeRows(dt, cols, b[:qb], b[so:], y); err != nil {
		return nil, err
	}
	return y, nil
}
