package gpu

import (
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// Add is the residual add x += d over n float32s.
type Add struct {
	p     *vk.Pipeline
	local int
}

// addPush is add.comp's push_constant block.
type addPush struct {
	N uint32
}

// NewAdd creates the pipeline on dev.
func NewAdd(dev *vk.Device) (*Add, error) {
	const local = 64
	p, err := dev.Pipeline("add", shaders.MustSPIRV("add"), []uint32{local}, 2, pushSize[addPush](), 0)
	if err != nil {
		return nil, err
	}
	return &Add{p: p, local: local}, nil
}

// Record adds x[i] += d[i], i < n, to s.
func (a *Add) Record(s *vk.Sequence, x, d vk.Binding, n int) {
	p := addPush{N: uint32(n)}
	gx, gy := grid(n, a.local)
	s.Dispatch(a.p, vk.Work{Label: "add"}, gx, gy, 1, structBytes(&p), vk.W(x), vk.R(d))
}
