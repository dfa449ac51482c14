package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// Matrix is a [Rows, Cols] weight on the device in engine/quant's layout: the quants (or plain
// values) in one buffer, the fp16 scales of q8_0 and q4_0 in another. Each buffer is split at row
// boundaries into chunks no larger than one storage binding, so a weight of any size (the 8B
// model's lm_head is ~800 MB in q8_0, over six bindings of lavapipe's 128 MiB) is used through
// pieces: runs of rows whose quants and scales each lie in one binding.
//
// f32 and f16 rows whose length is not a multiple of 32 are stored zero-padded to whole blocks of
// 32, so that every kernel walks rows by blocks.
type Matrix struct {
	DType      quant.DType
	Rows, Cols int

	stride         int // stored row length in elements: Cols rounded up to a multiple of 32
	quants, scales *vk.Buffer
	pieces         []matrixPiece
	// the bytes of the quants and the scales, and the test guard bands after them (matrix_guard.go)
	qBytes, sBytes int64
	qGuard, sGuard int64
}

// matrixPiece is rows [lo, hi): row lo is row qrow of the quants binding and row srow of the
// scales binding (which is unset for f32 and f16).
type matrixPiece struct {
	lo, hi         int
	quants, scales vk.Binding
	qrow, srow     int
}

// UploadMatrix copies a [rows, cols] tensor stored as dt (raw in the layout of quant.Layout: the
// quants, zero padding, the scales) into new device buffers.
func UploadMatrix(dev *vk.Device, dt quant.DType, rows, cols int, raw []byte) (*Matrix, error) {
	if err := quant.CheckShape(dt, rows, cols); err != nil {
		return nil, fmt.Errorf("matrix: %w", err)
	}
	qb, so, total := quant.Layout(dt, rows, cols)
	if int64(len(raw)) != total {
		return nil, fmt.Errorf("matrix: %v [%d, %d] takes %d bytes, got %d", dt, rows, cols, total, len(raw))
	}
	m := &Matrix{DType: dt, Rows: rows, Cols: cols, stride: (cols + 31) / 32 * 32}
	quants := raw[:qb]
	if m.stride != cols {
		quants = padRows(quants, rows, cols*elemBytes(dt), m.stride*elemBytes(dt))
	}
	qRow := int64(len(quants)) / int64(rows)
	var err error
	m.qBytes = int64(len(quants))
	if m.quants, m.qGuard, err = newMatrixBuffer(dev, quants, qRow, quantsGuard(dt)); err != nil {
		m.Close()
		return nil, fmt.Errorf("matrix: %w", err)
	}
	var sRow int64
	if dt.Quantized() {
		sRow = 2 * int64(cols/quant.BlockSize)
		// A buffer splits at multiples of 4 bytes: with an odd number of blocks a row has 2 mod 4
		// scale bytes, so the scales split every other row.
		unit := sRow
		if unit%4 != 0 {
			unit *= 2
		}
		m.sBytes = total - so
		if m.scales, m.sGuard, err = newMatrixBuffer(dev, raw[so:], unit, guardF16); err != nil {
			m.Close()
			return nil, fmt.Errorf("matrix: %w", err)
		}
	}
	if err = m.split(qRow, sRow); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// elemBytes is the size of one stored element of f32 and f16 (the only dtypes ever padded).
func elemBytes(dt quant.DType) int {
	if dt == quant.F16 {
		return 2
	}
	return 4
}

// padRows copies rows of n bytes into rows of stride bytes, zero-filled.
func padRows(src []byte, rows, n, stride int) []byte {
	dst := make([]byte, rows*stride)
	for r := 0; r < rows; r++ {
		copy(dst[r*stride:r*stride+n], src[r*n:(r+1)*n])
	}
	return dst
}

// split cuts the rows into pieces at every chunk boundary of either buffer.
func (m *Matrix) split(qRow, sRow int64) error {
	qRows := m.quants.ChunkSize() / qRow
	sRows := int64(m.Rows)
	if m.scales != nil {
		sRows = m.scales.ChunkSize() / sRow
	}
	for lo := int64(0); lo < int64(m.Rows); {
		qc, sc := lo/qRows, lo/sRows
		hi := min((qc+1)*qRows, (sc+1)*sRows, int64(m.Rows))
		p := matrixPiece{lo: int(lo), hi: int(hi), qrow: int(lo - qc*qRows), srow: int(lo - sc*sRows)}
		var err error
		if p.quants, err = bindChunk(m.quants, qc, m.qBytes, m.qGuard); err != nil {
			return fmt.Errorf("matrix: %w", err)
		}
		if m.scales != nil {
			if p.scales, err = bindChunk(m.scales, sc, m.sBytes, m.sGuard); err != nil {
				return fmt.Errorf("matrix: %w", err)
			}
		}
		m.pieces = append(m.pieces, p)
		lo = hi
	}
	return nil
}

// bindChunk binds chunk i of b whole, up to the end of its n bytes of data; a guard band after
// them (only ever in a buffer of one chunk) is the binding's Guard.
func bindChunk(b *vk.Buffer, i, n, guard int64) (vk.Binding, error) {
	off := i * b.ChunkSize()
	bd, err := b.Bind(off, min(b.ChunkSize(), n-off))
	bd.Guard = guard
	return bd, err
}

// Pieces is the number of binding-sized pieces the rows are split into.
func (m *Matrix) Pieces() int { return len(m.pieces) }

// Close frees the device buffers. The device must not be using them.
func (m *Matrix) Close() {
	if m == nil {
		return
	}
	m.quants.Close()
	m.scales.Close()
	m.quants, m.scales, m.pieces = nil, nil, nil
}
