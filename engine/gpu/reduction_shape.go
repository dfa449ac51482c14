package gpu

import "github.com/udvla/udvla/engine/vk"

// groupShape is the workgroup of a reduction kernel: LOCAL_X, whether it is exactly one subgroup
// (no shared memory, no barrier), and the subgroup size to require (0: the driver's choice).
type groupShape struct {
	local int
	one   bool
	req   int
}

// spec is the specialization constants (LOCAL_X, ONE_SUBGROUP).
func (g groupShape) spec() []uint32 {
	one := uint32(0)
	if g.one {
		one = 1
	}
	return []uint32{uint32(g.local), one}
}

// reductionShape is one subgroup on a CPU device (lavapipe), where barriers and shared memory are
// costly, with its size pinned; 256 invocations elsewhere.
func reductionShape(dev *vk.Device) groupShape {
	if dev.Info.Type == vk.TypeCPU && dev.Info.SubgroupSize > 0 {
		return groupShape{dev.Info.SubgroupSize, true, dev.Info.SubgroupSize}
	}
	return groupShape{min(256, max(dev.Info.MaxWorkgroupInvoc, 1)), false, 0}
}
