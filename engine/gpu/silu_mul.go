package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// SiLUMul is the gated part of SwiGLU, out = silu(gate)·up elementwise over [n][ffn]
// (ref.SiLUMul). It reads gate and up either from two buffers or from the output of a fused
// gate/up matmul whose rows are [gate | up]. ffn must be a multiple of 4 (the model's is of 32)
// and bindings 16-byte aligned: the kernel moves vec4s.
type SiLUMul struct {
	p        *vk.Pipeline
	local, r int
}

// siluMulPush is silu_mul.comp's push_constant block.
type siluMulPush struct {
	N, FFN, Stride, GOff, UOff uint32
}

// NewSiLUMul creates the pipeline on dev: 256 invocations of 4 vec4s each on a CPU device, where
// every workgroup has a fixed cost, one vec4 per invocation elsewhere.
func NewSiLUMul(dev *vk.Device) (*SiLUMul, error) {
	local, r := 64, 1
	if dev.Info.Type == vk.TypeCPU {
		local, r = 256, 4
	}
	p, err := dev.Pipeline("silu_mul", shaders.MustSPIRV("silu_mul"), []uint32{uint32(local), uint32(r)}, 3, pushSize[siluMulPush](), 0)
	if err != nil {
		return nil, err
	}
	return &SiLUMul{p: p, local: local, r: r}, nil
}

// Record computes out [n][ffn] from gate and up, two separate [n][ffn] buffers.
func (k *SiLUMul) Record(s *vk.Sequence, gate, up, out vk.Binding, n, ffn int) error {
	return k.record(s, gate, up, out, n, ffn, ffn, 0)
}

// RecordFused computes out [n][ffn] from gu [n][2*ffn], whose row t is [gate(t) | up(t)]: the
// output of one matmul by the gate and up weights stacked as [2*ffn][hidden].
func (k *SiLUMul) RecordFused(s *vk.Sequence, gu, out vk.Binding, n, ffn int) error {
	return k.record(s, gu, gu, out, n, ffn, 2*ffn, ffn)
}

// record reads gate at t*stride + j and up at uOff + t*stride + j.
func (k *SiLUMul) record(s *vk.Sequence, gate, up, out vk.Binding, n, ffn, stride, uOff int) error {
	const op = "silu_mul"
	if n <= 0 || ffn <= 0 || ffn%4 != 0 || n > maxGroupsY {
		return fmt.Errorf("%s: bad shape [%d][%d] (ffn a multiple of 4, at most %d tokens)", op, n, ffn, maxGroupsY)
	}
	for _, b := range []vk.Binding{gate, up, out} {
		if b.Off%16 != 0 {
			return fmt.Errorf("%s: binding offset %d is not 16-byte aligned", op, b.Off)
		}
	}
	if err := needRows(op, "gate", gate, n, ffn, stride); err != nil {
		return err
	}
	if err := needRows(op, "up", up, n, uOff+ffn, stride); err != nil {
		return err
	}
	if err := needRows(op, "out", out, n, ffn, ffn); err != nil {
		return err
	}
	p := siluMulPush{N: uint32(n), FFN: uint32(ffn), Stride: uint32(stride), UOff: uint32(uOff)}
	// 5 FLOPs an element (negate, exp, add, divide, multiply); gate and up read, out written.
	elems := float64(n) * float64(ffn)
	work := vk.Work{Label: "silu_mul", FLOPs: 5 * elems, Bytes: 4 * 3 * elems}
	s.Dispatch(k.p, work, groups(ffn/4, k.local*k.r), uint32(n), 1, structBytes(&p), vk.R(gate), vk.R(up), vk.W(out))
	return nil
}
