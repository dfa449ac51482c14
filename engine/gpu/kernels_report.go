package gpu

import "github.com/udvla/udvla/engine/vk"

// KernelVariants lists the variants of family that a device can run, the table's preference
// first: what an override may name there.
func KernelVariants(family string, info vk.DeviceInfo) []string {
	var out []string
	for _, r := range kernelTable[family] {
		if r.runs(info) {
			out = append(out, r.variant)
		}
	}
	return out
}

// Map is k as family → variant, every family of the table present.
func (k Kernels) Map() map[string]string {
	m := map[string]string{}
	for _, f := range KernelFamilies() {
		m[f] = *k.field(f)
	}
	return m
}
