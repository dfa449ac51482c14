package vk

import "testing"

// The names follow Vulkan's numbering of VkComponentTypeNV.
func TestComponentNames(t *testing.T) {
	for v, want := range map[uint32]string{0: "f16", 1: "f32", 3: "s8", 5: "s32", 7: "u8", 99: "unknown"} {
		if got := componentName(v); got != want {
			t.Errorf("component %d: %q, want %q", v, got, want)
		}
	}
}
