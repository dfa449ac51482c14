package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// AttentionShape is the head layout of grouped-query attention: query head h reads K/V head
// h / (Heads/KVHeads).
type AttentionShape struct {
	Heads, KVHeads, HeadDim int
}

// MaxAttentionHeadDim bounds the head dim: each invocation keeps a query and an output row.
const MaxAttentionHeadDim = 256

// Attention is block-masked flash attention (ref.Attention with the mask of engine/seq): online
// softmax in fp32, GQA, queries at consecutive absolute positions over keys [0, NK) of a KV cache
// that holds [cached prefix ; current tokens], key chunks that no query of a subgroup may attend
// skipped.
type Attention struct {
	p     *vk.Pipeline
	shape AttentionShape
	local int
}

// NewAttention creates the pipeline for a head layout on dev.
func NewAttention(dev *vk.Device, shape AttentionShape) (*Attention, error) {
	s := shape
	if s.Heads <= 0 || s.KVHeads <= 0 || s.Heads%s.KVHeads != 0 || s.HeadDim <= 0 || s.HeadDim > MaxAttentionHeadDim {
		return nil, fmt.Errorf("attention: bad shape %+v (head dim at most %d)", s, MaxAttentionHeadDim)
	}
	local, kt := 64, 16
	if dev.Info.Type == vk.TypeCPU && dev.Info.SubgroupSize > 0 {
		local = dev.Info.SubgroupSize
	}
	p, err := dev.Pipeline("attention", shaders.MustSPIRV("attention"),
		[]uint32{uint32(local), uint32(s.HeadDim), uint32(kt)}, 5, 32, 0)
	if err != nil {
		return nil, err
	}
	return &Attention{p: p, shape: s, local: local}, nil
}

// AttentionArgs are the operands of one attention dispatch. Strides count floats between rows;
// zero means dense (Heads*HeadDim for Q and Out, KVHeads*HeadDim for K and V).
type AttentionArgs struct {
	Q       vk.Binding // [NQ][Heads*HeadDim], query i at absolute position Q0+i
	QStride int
	K, V    vk.Binding // [NK][KVHeads*HeadDim]: keys (rotated) and values at positions 0..NK-1
	KStride int        // for both K and V
	// Mask holds MaskWords of every position in [0, max(NK, Q0+NQ)).
	Mask      vk.Binding
	Out       vk.Binding // [NQ][Heads*HeadDim]
	OutStride int
	NQ, NK    int
	Q0        int
}

// Record appends the attention of a.NQ queries over a.NK keys.
func (at *Attention) Record(s *vk.Sequence, a AttentionArgs) error {
	const op = "attention"
	sh := at.shape
	qw, kw := sh.Heads*sh.HeadDim, sh.KVHeads*sh.HeadDim
	if a.QStride == 0 {
		a.QStride = qw
	}
	if a.KStride == 0 {
		a.KStride = kw
	}
	if a.OutStride == 0 {
		a.OutStride = qw
	}
	if a.NQ <= 0 || a.NK <= 0 || a.Q0 < 0 || a.NQ > maxGroupsY*at.local || a.Q0+a.NQ > math.MaxInt32 {
		return fmt.Errorf("%s: %d queries at %d over %d keys", op, a.NQ, a.Q0, a.NK)
	}
	for _, e := range []error{
		needRows(op, "q", a.Q, a.NQ, qw, a.QStride),
		needRows(op, "k", a.K, a.NK, kw, a.KStride),
		needRows(op, "v", a.V, a.NK, kw, a.KStride),
		needRows(op, "out", a.Out, a.NQ, qw, a.OutStride),
		needBytes(op, "mask", a.Mask, 4*int64(max(a.NK, a.Q0+a.NQ))),
	} {
		if e != nil {
			return e
		}
	}
	var p Push
	p.U32(uint32(a.NQ)).U32(uint32(a.NK)).U32(uint32(a.Q0)).U32(uint32(sh.Heads / sh.KVHeads)).
		U32(uint32(a.QStride)).U32(uint32(a.KStride)).U32(uint32(a.OutStride)).
		F32(float32(math.Log2E / math.Sqrt(float64(sh.HeadDim))))
	s.Dispatch(at.p, groups(a.NQ, at.local), uint32(sh.Heads), 1, p.Bytes(),
		vk.R(a.Q), vk.R(a.K), vk.R(a.V), vk.R(a.Mask), vk.W(a.Out))
	return nil
}
