package model

import (
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/udvla/udvla/engine/quant"
)

// The .udvla file (the layout is described in schema/udvla.fbs): a size-prefixed FlatBuffer
// header with the file identifier "UDVL", the CRC-32C of the prefix and header, zeros up to the
// data section, then the tensors, each at a multiple of 256 bytes, packed in directory order of
// their offsets with only alignment zeros between them, the last one ending the file.
const (
	FileIdentifier = "UDVL"
	FormatVersion  = 1
	Alignment      = quant.Align // of the data section and of every tensor
	FileExtension  = ".udvla"
)

// crcTable is CRC-32C (Castagnoli), which the CPU computes in hardware.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// TensorInfo is one entry of the tensor directory.
type TensorInfo struct {
	Name   string
	DType  quant.DType
	Shape  []int // [rows, cols] or [n]
	Offset int64 // from the start of the file
	Length int64 // bytes
	CRC32C uint32
}

// Rows and Cols view the shape as a matrix: a vector [n] is one row of n.
func (t TensorInfo) Rows() int {
	if len(t.Shape) == 1 {
		return 1
	}
	return t.Shape[0]
}

// Cols is the length of a row (see Rows).
func (t TensorInfo) Cols() int { return t.Shape[len(t.Shape)-1] }

// TensorBytes returns the stored size of a tensor of the given shape and dtype, or why it cannot
// be stored: vectors must be f32, matrices need whole blocks for quantized types.
func TensorBytes(dt quant.DType, shape []int) (int64, error) {
	switch len(shape) {
	case 1:
		if dt != quant.F32 {
			return 0, fmt.Errorf("a vector of shape %v is stored as f32, not %v", shape, dt)
		}
		if err := quant.CheckShape(dt, 1, shape[0]); err != nil {
			return 0, err
		}
		_, _, n := quant.Layout(dt, 1, shape[0])
		return n, nil
	case 2:
		if err := quant.CheckShape(dt, shape[0], shape[1]); err != nil {
			return 0, err
		}
		_, _, n := quant.Layout(dt, shape[0], shape[1])
		return n, nil
	}
	return 0, fmt.Errorf("shape %v: tensors have 1 or 2 dimensions", shape)
}

// AlignUp rounds n up to the next multiple of Alignment, where the file places every tensor.
func AlignUp(n int64) int64 { return (n + Alignment - 1) / Alignment * Alignment }

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Checksum is the file's checksum of b (CRC-32C), for the header and each tensor.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// NewChecksum is Checksum as a running hash, for data written in pieces.
func NewChecksum() hash.Hash32 { return crc32.New(crcTable) }
