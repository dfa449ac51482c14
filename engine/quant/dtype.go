// Package quant holds the storage types of model tensors (f32, f16, q8_0, q4_0), their byte layout
// in a .udvla file and on the GPU, and quantizers that are numerically identical to ggml's
// reference ones (quantize_row_q8_0_ref, quantize_row_q4_0_ref).
package quant

import "fmt"

// DType is the storage type of a tensor. The values are those of the file format's enum.
type DType uint8

const (
	F32  DType = 0
	F16  DType = 1
	Q8_0 DType = 2 // blocks of 32: int8 quants, fp16 scale d, x = q*d
	Q4_0 DType = 3 // blocks of 32: 4-bit quants, fp16 scale d, x = (q-8)*d
)

// DTypes lists every storage type, in enum order.
var DTypes = []DType{F32, F16, Q8_0, Q4_0}

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q8_0:
		return "q8_0"
	case Q4_0:
		return "q4_0"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Parse is the inverse of String.
func Parse(s string) (DType, error) {
	for _, d := range DTypes {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown dtype %q (want f32, f16, q8_0 or q4_0)", s)
}

// Valid reports whether d is one of the defined storage types.
func (d DType) Valid() bool { return d <= Q4_0 }

// Quantized reports whether d stores blocks with a scale (q8_0, q4_0).
func (d DType) Quantized() bool { return d == Q8_0 || d == Q4_0 }
