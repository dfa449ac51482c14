package gpu

import (
	"encoding/binary"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// matrixGuardForTest is set by the kernel tests (to their guard band size): every matrix whose
// buffers fit one binding then keeps a band of that many bytes after its quants and after its
// scales, and its bindings cover the band as their Guard, which no size check counts. The band
// holds NaN (f32 and f16 values, and the fp16 scales of q8_0 and q4_0), so a kernel that reads
// past the last row carries NaN into its output. Zero in production.
var matrixGuardForTest int64

// Patterns of the band: a float32 NaN, an fp16 NaN twice, and the largest int8 quant (quants of
// q8_0 and q4_0 cannot be NaN; their rows past the end meet NaN scales).
const (
	guardF32   = 0x7fa1dead
	guardF16   = 0x7e017e01
	guardQuant = 0x7f7f7f7f
)

// newMatrixBuffer makes a buffer holding data, split at multiples of unit, with the test band
// after it when one binding holds both; it returns the band's size (0 without one).
func newMatrixBuffer(dev *vk.Device, data []byte, unit int64, pattern uint32) (*vk.Buffer, int64, error) {
	n, g := int64(len(data)), matrixGuardForTest
	if g > 0 {
		b, err := dev.NewBuffer(n+g, vk.DeviceLocal, unit)
		if err != nil {
			return nil, 0, err
		}
		if b.ChunkSize() >= b.Size() {
			band := make([]byte, g)
			for i := int64(0); i+4 <= g; i += 4 {
				binary.LittleEndian.PutUint32(band[i:], pattern)
			}
			if err := b.Write(n, band); err != nil {
				b.Close()
				return nil, 0, err
			}
			return b, g, b.Write(0, data)
		}
		b.Close() // several bindings: the band would lie in a binding of its own
	}
	b, err := dev.NewBuffer(n, vk.DeviceLocal, unit)
	if err != nil {
		return nil, 0, err
	}
	return b, 0, b.Write(0, data)
}

// quantsGuard is the band pattern after a matrix's quants.
func quantsGuard(dt quant.DType) uint32 {
	switch dt {
	case quant.F32:
		return guardF32
	case quant.F16:
		return guardF16
	}
	return guardQuant
}
