package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// GroupNorm is the vision tokenizer's GroupNorm over an HWC map [n][C] in fp32
// (shaders/vq_groupnorm.comp, ref.GroupNorm on a CHW map), with SiLU fused after it where the
// modules apply one.
type GroupNorm struct {
	plain, silu *vk.Pipeline
	local       int
}

// NewGroupNorm creates the pipelines (with and without SiLU) on dev.
func NewGroupNorm(dev *vk.Device) (*GroupNorm, error) {
	const local = 256
	k := &GroupNorm{local: local}
	spirv := shaders.MustSPIRV("vq_groupnorm")
	var err error
	if k.plain, err = dev.Pipeline("vq_groupnorm", spirv, []uint32{local, 0}, 4, pushSize[vqGroupNormPush](), 0); err != nil {
		return nil, err
	}
	if k.silu, err = dev.Pipeline("vq_groupnorm", spirv, []uint32{local, 1}, 4, pushSize[vqGroupNormPush](), 0); err != nil {
		return nil, err
	}
	return k, nil
}

// GroupNormArgs are one normalisation: x and y [N][C] (distinct buffers), gamma and beta [C].
type GroupNormArgs struct {
	X, Gamma, Beta, Y vk.Binding
	N, C, Groups      int
	Eps               float32
	SiLU              bool
}

// Record appends the normalisation to s.
func (k *GroupNorm) Record(s *vk.Sequence, a GroupNormArgs) error {
	const op = "vq groupnorm"
	if a.N <= 0 || a.C <= 0 || a.Groups <= 0 || a.C%a.Groups != 0 || a.Groups > maxGroupsY || int64(a.N)*int64(a.C) > 1<<31 ||
		!(a.Eps > 0) {
		return fmt.Errorf("%s: bad shape [%d][%d] in %d groups, eps %g", op, a.N, a.C, a.Groups, a.Eps)
	}
	if err := needBytes(op, "x", a.X, 4*int64(a.N)*int64(a.C)); err != nil {
		return err
	}
	if err := needBytes(op, "y", a.Y, 4*int64(a.N)*int64(a.C)); err != nil {
		return err
	}
	if err := needBytes(op, "gamma", a.Gamma, 4*int64(a.C)); err != nil {
		return err
	}
	if err := needBytes(op, "beta", a.Beta, 4*int64(a.C)); err != nil {
		return err
	}
	p := k.plain
	if a.SiLU {
		p = k.silu
	}
	push := vqGroupNormPush{N: uint32(a.N), C: uint32(a.C), Groups: uint32(a.Groups), Eps: a.Eps}
	// Two passes for the statistics, one to normalise (about 8 FLOPs an element, 12 with SiLU);
	// x read three times, y written once.
	elems := float64(a.N) * float64(a.C)
	work := vk.Work{Label: "vq_groupnorm", FLOPs: 8 * elems, Bytes: 4 * 4 * elems}
	if a.SiLU {
		work.FLOPs += 4 * elems
	}
	s.Dispatch(p, work, uint32(a.Groups), 1, 1, structBytes(&push), vk.R(a.X), vk.R(a.Gamma), vk.R(a.Beta), vk.W(a.Y))
	return nil
}

// Quantizer is the vision tokenizer's nearest-code search (shaders/vq_quantize.comp,
// ref.VQ.Quantize): for each position of z [n][E] the first codebook row of least
// (|z|^2 + |e|^2) - 2 z.e, as int32.
type Quantizer struct {
	p     *vk.Pipeline
	local int
}

// NewQuantizer creates the pipeline on dev.
func NewQuantizer(dev *vk.Device) (*Quantizer, error) {
	const local = 64
	p, err := dev.Pipeline("vq_quantize", shaders.MustSPIRV("vq_quantize"), []uint32{local}, 3, pushSize[vqQuantizePush](), 0)
	if err != nil {
		return nil, err
	}
	return &Quantizer{p: p, local: local}, nil
}

// Record appends the search of n positions of z [n][e] in book [k][e] to s, writing codes [n].
func (q *Quantizer) Record(s *vk.Sequence, z, book, codes vk.Binding, n, k, e int) error {
	const op = "vq quantize"
	if n <= 0 || k <= 0 || e <= 0 || k > 1<<24 || int64(n)*int64(e) > 1<<31 || int64(k)*int64(e) > 1<<31 {
		return fmt.Errorf("%s: bad shape: %d positions, %d codes of %d", op, n, k, e)
	}
	if err := needBytes(op, "z", z, 4*int64(n)*int64(e)); err != nil {
		return err
	}
	if err := needBytes(op, "codebook", book, 4*int64(k)*int64(e)); err != nil {
		return err
	}
	if err := needBytes(op, "codes", codes, 4*int64(n)); err != nil {
		return err
	}
	push := vqQuantizePush{N: uint32(n), K: uint32(k), E: uint32(e)}
	// Per position and code: |e|^2 and z.e, two FMAs a dimension, and the distance.
	work := vk.Work{Label: "vq_quantize", FLOPs: float64(n) * float64(k) * float64(4*e+3),
		Bytes: 4 * (float64(n)*float64(e) + float64(n)*float64(k)*float64(e) + float64(n))}
	gx, gy := grid(n, q.local)
	s.Dispatch(q.p, work, gx, gy, 1, structBytes(&push), vk.R(z), vk.R(book), vk.W(codes))
	return nil
}
