// Package gpu holds the Go side of every compute shader: pipeline creation with the device's
// specialization constants, and the recording of its dispatches into a vk.Sequence, each with the
// work it does (vk.Work: the napkin math beside the kernel, read by profiles).
package gpu

import "unsafe"

// Push constants: every shader's push_constant block has one Go struct beside its kernel (matmulPush,
// attentionPush, ...), of 4-byte scalars (uint32, int32, float32, and arrays of them) named and
// ordered as the block's members; so has the step parameters' buffer (stepParamsRecord). Such a
// struct's memory is the block's std430 bytes on a little-endian host (the only hosts udvla
// builds for), so structBytes, the one encoder, is a view of it: no copy, nothing allocated per
// dispatch. TestPushStructsMatchGLSL and TestStepParamsRecordMatchesGLSL check each struct against
// its GLSL block.

// structBytes views the push-constant (or step-parameter) struct *p as the bytes the device reads.
func structBytes[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}

// pushSize is the byte size of a push-constant struct, as its pipeline is created with.
func pushSize[T any]() int {
	var p T
	return int(unsafe.Sizeof(p))
}

// grid splits n invocations of local-sized workgroups into a 2-D grid that respects the device's
// per-dimension workgroup count limit (shaders index with flat_index()).
func grid(n, local int) (gx, gy uint32) {
	groups := (n + local - 1) / local
	if groups < 1 {
		groups = 1
	}
	const maxX = 65535
	if groups <= maxX {
		return uint32(groups), 1
	}
	gy = uint32((groups + maxX - 1) / maxX)
	gx = uint32((groups + int(gy) - 1) / int(gy))
	return gx, gy
}
