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
// that holds [cached prefix ; current tokens]; with the masks' reaches, the keys past the last one
// a query tile may attend are skipped. On GPUs the kernel table picks the flash kernel
// (attention_flash.go), which takes a tile of queries per workgroup.
type Attention struct {
	fast, scalar *vk.Pipeline // fast is nil when the head dim is not a multiple of 4
	flash        *vk.Pipeline // a flash variant, when the kernel table picks one and a tile fits
	tiles        flashTiles
	flashVariant string
	shape        AttentionShape
	local        int // fast path: the subgroup size
	scalarLocal  int
}

// attentionPush is the push_constant block of attention.comp and attention_scalar.comp.
type attentionPush struct {
	NQ, NK, Q0 uint32
	Group      uint32 // heads / kv heads
	QStride    uint32 // floats between query rows
	KVStride   uint32 // floats between key (value) rows
	OStride    uint32 // floats between output rows
	Scale      float32
	UseReach   uint32
}

// NewAttention creates the pipeline for a head layout on dev.
func NewAttention(dev *vk.Device, shape AttentionShape) (*Attention, error) {
	s := shape
	if s.Heads <= 0 || s.KVHeads <= 0 || s.Heads%s.KVHeads != 0 || s.HeadDim <= 0 || s.HeadDim > MaxAttentionHeadDim {
		return nil, fmt.Errorf("attention: bad shape %+v (head dim at most %d)", s, MaxAttentionHeadDim)
	}
	a := &Attention{shape: s, local: dev.Info.SubgroupSize, scalarLocal: 64}
	if a.local <= 0 {
		return nil, fmt.Errorf("attention: device reports no subgroup size")
	}
	k, err := KernelsFor(dev)
	if err != nil {
		return nil, err
	}
	variant := k.Attention
	if variant == AttentionFlash || variant == AttentionFlashEmu || variant == AttentionFlashNV {
		if a.flash, a.tiles, err = newFlash(dev, variant, s); err != nil {
			return nil, err
		}
		a.flashVariant = variant
		if a.flash != nil {
			return a, nil // the flash kernel takes every layout: no per-query pipelines to compile
		}
		variant = AttentionSubgroup // the head dim's tiles exceed the shared memory
	}
	if s.HeadDim%4 == 0 && variant == AttentionSubgroup {
		// One subgroup per workgroup, at the device's subgroup size (pinned where the device
		// lets it vary): the shader broadcasts across exactly LOCAL_X lanes.
		p, err := dev.Pipeline("attention", shaders.MustSPIRV("attention"),
			[]uint32{uint32(a.local), uint32(s.HeadDim)}, 6, pushSize[attentionPush](), a.local)
		if err != nil {
			return nil, err
		}
		a.fast = p
	}
	p, err := dev.Pipeline("attention_scalar", shaders.MustSPIRV("attention_scalar"),
		[]uint32{uint32(a.scalarLocal), uint32(s.HeadDim)}, 6, pushSize[attentionPush](), 0)
	if err != nil {
		return nil, err
	}
	a.scalar = p
	return a, nil
}

// Variant names the kernel that Record dispatches: a flash variant, or the subgroup kernel with
// the scalar one for the layouts it does not take, or the scalar kernel alone.
func (at *Attention) Variant() string {
	switch {
	case at.flash != nil:
		return at.flashVariant
	case at.fast != nil:
		return AttentionSubgroup
	}
	return AttentionScalar
}

// AttentionArgs are the operands of one attention dispatch. Strides count floats between rows;
// zero means dense (Heads*HeadDim for Q and Out, KVHeads*HeadDim for K and V).
type AttentionArgs struct {
	Q       vk.Binding // [NQ][Heads*HeadDim], query i at absolute position Q0+i
	QStride int
	K, V    vk.Binding // [NK][KVHeads*HeadDim]: keys (rotated) and values at positions 0..NK-1
	KStride int        // for both K and V
	// Mask holds MaskWords of MaskLen positions, at least max(NK, Q0+NQ) (0 means that many).
	Mask    vk.Binding
	MaskLen int
	// Reach, optional, holds MaskReach of the same positions: each query tile then stops at the
	// last key its queries may attend. A zero Reach visits all NK keys (masked keys weigh 0).
	Reach     vk.Binding
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
	if a.MaskLen == 0 {
		a.MaskLen = max(a.NK, a.Q0+a.NQ)
	}
	if a.NQ <= 0 || a.NK <= 0 || a.Q0 < 0 || a.NQ > maxGroupsY || a.Q0+a.NQ > math.MaxInt32 || a.MaskLen > math.MaxInt32/2 {
		return fmt.Errorf("%s: %d queries at %d over %d keys", op, a.NQ, a.Q0, a.NK)
	}
	for _, e := range []error{
		needRows(op, "q", a.Q, a.NQ, qw, a.QStride),
		needRows(op, "k", a.K, a.NK, kw, a.KStride),
		needRows(op, "v", a.V, a.NK, kw, a.KStride),
		needRows(op, "out", a.Out, a.NQ, qw, a.OutStride),
		needBytes(op, "mask", a.Mask, 4*int64(a.MaskLen)),
	} {
		if e != nil {
			return e
		}
	}
	useReach := uint32(0)
	if a.Reach.Size > 0 {
		if err := needBytes(op, "reach", a.Reach, 4*int64(a.MaskLen)); err != nil {
			return err
		}
		useReach = 1
	} else {
		a.Reach = a.Mask // bound but not read
	}
	if a.MaskLen < max(a.NK, a.Q0+a.NQ) {
		return fmt.Errorf("%s: a mask of %d positions for keys [0,%d) and queries [%d,%d)", op, a.MaskLen, a.NK, a.Q0, a.Q0+a.NQ)
	}
	p := attentionPush{NQ: uint32(a.NQ), NK: uint32(a.NK), Q0: uint32(a.Q0), Group: uint32(sh.Heads / sh.KVHeads),
		QStride: uint32(a.QStride), KVStride: uint32(a.KStride), OStride: uint32(a.OutStride),
		Scale: float32(math.Log2E / math.Sqrt(float64(sh.HeadDim))), UseReach: useReach}
	binds := [6]vk.Access{vk.R(a.Q), vk.R(a.K), vk.R(a.V), vk.R(a.Mask), vk.R(a.Reach), vk.W(a.Out)}
	if at.flash != nil {
		w := at.work(flashShaders[at.flashVariant], a)
		w.FLOPs, w.Bytes = flashWork(sh, at.tiles, a.NQ, a.NK)
		s.Dispatch(at.flash, w, groups(a.NQ, at.tiles.bq), uint32(sh.Heads), 1, structBytes(&p), binds[:]...)
	} else if at.fast != nil && a.KStride%4 == 0 && a.K.Off%16 == 0 && a.V.Off%16 == 0 {
		s.Dispatch(at.fast, at.work("attention", a), groups(a.NQ, at.local), uint32(sh.Heads), 1, structBytes(&p), binds[:]...)
	} else {
		s.Dispatch(at.scalar, at.work("attention_scalar", a), groups(a.NQ, at.scalarLocal), uint32(sh.Heads), 1, structBytes(&p), binds[:]...)
	}
	return nil
}

// work is the work of a dispatch over all NQ·NK (query, key) pairs, masked or not: 4·heads·head_dim
// FLOPs a pair (QKᵀ and PV, a multiply-add each; vk.Work.Pairs lets a profile that knows the
// mask count the visible pairs only). Bytes: 4·head_dim·(2·heads·NQ + 2·kv_heads·NK + NK), q read
// and out written, K and V read, and the keys' mask side.
func (at *Attention) work(label string, a AttentionArgs) vk.Work {
	sh := at.shape
	heads, kvHeads, hd := float64(sh.Heads), float64(sh.KVHeads), float64(sh.HeadDim)
	nq, nk := float64(a.NQ), float64(a.NK)
	pairs := vk.PairWork{Q0: a.Q0, NQ: a.NQ, NK: a.NK, FLOPsPerPair: 4 * heads * hd}
	return vk.Work{Label: label, FLOPs: pairs.FLOPsPerPair * nq * nk, Bytes: 4 * hd * (2*heads*nq + 2*kvHeads*nk + nk), Pairs: pairs}
}
