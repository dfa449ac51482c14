package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// RoPE applies rotate-half rotary embedding (ref.RoPE) to q and k in one dispatch, with positions
// read from an int32 buffer. The angles come from a (cos, sin) table of positions [0, maxPos)
// computed in float64 on the host (ref.RopeTable), uploaded once: the device rotates with exactly
// the reference's cos and sin instead of evaluating pos*theta^(-2i/hd) in fp32, whose error grows
// with the position (about 1e-4 rad at position 1600) and whose sin/cos are inexact on large
// arguments on many GPUs.
type RoPE struct {
	p                  *vk.Pipeline
	table              *vk.Buffer
	tableB             vk.Binding
	heads, kvHeads, hd int
	maxPos, local      int
}

// ropePush is rope.comp's push_constant block.
type ropePush struct {
	N, QStride, KStride, KOStride, KRow, MaxPos uint32
}

// NewRoPE creates the pipeline and the table for positions [0, maxPos) of a model with the given
// head layout and theta. Close frees the table.
func NewRoPE(dev *vk.Device, heads, kvHeads, headDim int, theta float64, maxPos int) (*RoPE, error) {
	switch {
	case heads <= 0 || kvHeads <= 0 || headDim <= 0 || headDim%2 != 0:
		return nil, fmt.Errorf("rope: bad head layout %d/%d heads of dim %d (even)", heads, kvHeads, headDim)
	case !(theta > 1):
		return nil, fmt.Errorf("rope: theta %g must be > 1", theta)
	case maxPos <= 0 || maxPos > 1<<24:
		return nil, fmt.Errorf("rope: table of %d positions out of range", maxPos)
	}
	const local = 64
	half := headDim / 2
	p, err := dev.Pipeline("rope", shaders.MustSPIRV("rope"),
		[]uint32{local, uint32(half), uint32(heads), uint32(kvHeads)}, 5, pushSize[ropePush](), 0)
	if err != nil {
		return nil, err
	}
	tb := ropeTable(maxPos, headDim, theta)
	table, err := dev.NewBuffer(4*int64(len(tb)), vk.DeviceLocal, 0)
	if err != nil {
		return nil, fmt.Errorf("rope: table: %w", err)
	}
	bind, err := table.All()
	if err == nil {
		err = vk.WriteFloat32s(table, 0, tb)
	}
	if err != nil {
		table.Close()
		return nil, fmt.Errorf("rope: table: %w", err)
	}
	return &RoPE{p: p, table: table, tableB: bind, heads: heads, kvHeads: kvHeads, hd: headDim, maxPos: maxPos, local: local}, nil
}

// ropeTable is [maxPos][headDim/2] of (cos, sin) float32 pairs: ref.RopeTable's numbers, so
// that the device and the reference rotate by the same cos and sin.
func ropeTable(maxPos, headDim int, theta float64) []float32 {
	pos := make([]int32, maxPos)
	for i := range pos {
		pos[i] = int32(i)
	}
	cos, sin := ref.RopeTable(pos, headDim, theta)
	t := make([]float32, 2*len(cos))
	for i := range cos {
		t[2*i], t[2*i+1] = cos[i], sin[i]
	}
	return t
}

// MaxPos is the number of positions the table covers.
func (r *RoPE) MaxPos() int { return r.maxPos }

// Close frees the table.
func (r *RoPE) Close() {
	r.table.Close()
	r.table = nil
}

// RoPEArgs are the operands of one RoPE dispatch. Strides count floats between token rows; zero
// means dense (heads*headDim for Q, kvHeads*headDim for K and KOut).
type RoPEArgs struct {
	Pos vk.Binding // int32 [N]: the absolute position of each token
	N   int

	Q       vk.Binding // [N][heads*headDim] at QStride, rotated in place
	QStride int
	K       vk.Binding // [N][kvHeads*headDim] at KStride
	KStride int
	// KOut receives rotated K at rows KOutRow..KOutRow+N-1: a KV cache, so that the rotation is
	// also the cache append. A zero KOut rotates K in place.
	KOut       vk.Binding
	KOutStride int
	KOutRow    int
}

// Record rotates q and k of a.N tokens. A position outside [0, MaxPos) turns that token's rotated
// values into NaN (the host is expected to validate positions).
func (r *RoPE) Record(s *vk.Sequence, a RoPEArgs) error {
	const op = "rope"
	qw, kw := r.heads*r.hd, r.kvHeads*r.hd
	if a.QStride == 0 {
		a.QStride = qw
	}
	if a.KStride == 0 {
		a.KStride = kw
	}
	if a.KOut.Size == 0 {
		if a.KOutRow != 0 || (a.KOutStride != 0 && a.KOutStride != a.KStride) {
			return fmt.Errorf("%s: in-place K takes no output row or stride", op)
		}
		a.KOut, a.KOutStride = a.K, a.KStride
	}
	if a.KOutStride == 0 {
		a.KOutStride = kw
	}
	if a.N <= 0 || a.KOutRow < 0 || int64(a.N)*int64(r.hd/2) > maxGroupsY*maxGroupsY*int64(r.local) {
		return fmt.Errorf("%s: %d tokens at output row %d", op, a.N, a.KOutRow)
	}
	for _, e := range []error{
		needBytes(op, "positions", a.Pos, 4*int64(a.N)),
		needRows(op, "q", a.Q, a.N, qw, a.QStride),
		needRows(op, "k", a.K, a.N, kw, a.KStride),
		needRows(op, "k output", a.KOut, a.KOutRow+a.N, kw, a.KOutStride),
	} {
		if e != nil {
			return e
		}
	}
	p := ropePush{N: uint32(a.N), QStride: uint32(a.QStride), KStride: uint32(a.KStride), KOStride: uint32(a.KOutStride),
		KRow: uint32(a.KOutRow), MaxPos: uint32(r.maxPos)}
	// 3 FLOPs an element of q and k (two products and a sum); each element read and written, and
	// a position read per token.
	elems := float64(a.N) * float64(r.hd) * float64(r.heads+r.kvHeads)
	work := vk.Work{Label: "rope", FLOPs: 3 * elems, Bytes: 4*2*elems + 4*float64(a.N)}
	gx, gy := grid(a.N*r.hd/2, r.local)
	s.Dispatch(r.p, work, gx, gy, 1, structBytes(&p), vk.R(r.tableB), vk.R(a.Pos), vk.W(a.Q), vk.R(a.K), vk.W(a.KOut))
	return nil
}
