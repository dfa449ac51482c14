// Package gpu holds the Go side of every compute shader: pipeline creation with the device's
// specialization constants, and the recording of its dispatches into a vk.Sequence.
package gpu

import (
	"encoding/binary"
	"math"
)

// Push builds push-constant bytes on the stack: no allocation per dispatch.
type Push struct {
	b [128]byte
	n int
}

// U32 appends a uint32.
func (p *Push) U32(v uint32) *Push {
	binary.LittleEndian.PutUint32(p.b[p.n:], v)
	p.n += 4
	return p
}

// I32 appends an int32.
func (p *Push) I32(v int32) *Push { return p.U32(uint32(v)) }

// F32 appends a float32.
func (p *Push) F32(v float32) *Push { return p.U32(math.Float32bits(v)) }

// Bytes returns the bytes appended so far.
func (p *Push) Bytes() []byte { return p.b[:p.n] }

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
