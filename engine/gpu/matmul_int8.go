package gpu

import (
	"fmt"
	"sync"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// q81Scratch quantizes x per block of 32 as ggml's q8_1 (shaders/quantize_q8_1.comp) into a
// buffer the int8 tile reads: 36 bytes a block, the quants of every column first, then (d, s)
// as fp16 pairs. The buffer grows to the largest product recorded; a buffer it outgrows stays
// alive until Close, since sequences recorded earlier still bind it. Every int8 product of one
// Matmul quantizes into the same buffer: within a sequence the automatic barriers order them, but
// two sequences that use the same Matmul must not run at the same time (as for their y buffers).
type q81Scratch struct {
	dev  *vk.Device
	pipe *vk.Pipeline

	mu      sync.Mutex
	buf     *vk.Buffer
	retired []*vk.Buffer
}

const q81Local = 64

func newQ81Scratch(dev *vk.Device) (*q81Scratch, error) {
	p, err := dev.Pipeline("quantize_q8_1", shaders.MustSPIRV("quantize_q8_1"), []uint32{q81Local}, 2, pushSize[q81Push](), 0)
	if err != nil {
		return nil, err
	}
	return &q81Scratch{dev: dev, pipe: p}, nil
}

// q81Push is quantize_q8_1.comp's push_constant block.
type q81Push struct {
	N, K, LDX uint32 // columns, their length, and the x row stride in floats
	NB, DSOff uint32 // blocks per column, and the word where the (d, s) pairs start
}

// q81Work is the napkin math of quantizing n columns of k floats: per element a scale, a round
// and the block's max and sum (about 4 FLOPs); x read, and 36 bytes a block written.
func q81Work(n, k, nb int) vk.Work {
	return vk.Work{Label: "quantize_q8_1", FLOPs: 4 * float64(n) * float64(k), Bytes: 4*float64(n)*float64(k) + float64(q81Bytes(n, nb))}
}

// q81Bytes is the size of n columns of nb blocks quantized as q8_1.
func q81Bytes(n, nb int) int64 { return 36 * int64(n) * int64(nb) }

// record appends the quantization of x [n][k] (nb blocks a column) to s and returns the binding
// of the result and the word where its (d, s) pairs start.
func (q *q81Scratch) record(s *vk.Sequence, x vk.Binding, n, k, nb int) (vk.Binding, uint32, error) {
	need := q81Bytes(n, nb)
	if need > int64(q.dev.Info.MaxStorageBufferRange) || 8*int64(n)*int64(nb) > 1<<32-1 {
		return vk.Binding{}, 0, fmt.Errorf("matmul: %d columns of %d blocks do not fit one q8_1 binding", n, nb)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.buf == nil || q.buf.Size() < need {
		b, err := q.dev.NewBuffer(need, vk.DeviceLocal, 0)
		if err != nil {
			return vk.Binding{}, 0, fmt.Errorf("matmul: q8_1 scratch: %w", err)
		}
		if q.buf != nil {
			q.retired = append(q.retired, q.buf)
		}
		q.buf = b
	}
	out, err := q.buf.Bind(0, need)
	if err != nil {
		return vk.Binding{}, 0, err
	}
	dsoff := uint32(8 * n * nb)
	push := q81Push{N: uint32(n), K: uint32(k), LDX: uint32(k), NB: uint32(nb), DSOff: dsoff}
	gx, gy := grid(n*nb, q81Local)
	s.Dispatch(q.pipe, q81Work(n, k, nb), gx, gy, 1, structBytes(&push), vk.R(x), vk.W(out))
	return out, dsoff, nil
}

// Close frees the scratch buffers.
func (q *q81Scratch) Close() {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.buf.Close()
	for _, b := range q.retired {
		b.Close()
	}
	q.buf, q.retired = nil, nil
}
