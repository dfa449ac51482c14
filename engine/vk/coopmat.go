package vk

/*
#include "vkc.h"
*/
import "C"

// maxCoopMatShapes bounds the shapes read from a device (NVIDIA drivers report about a dozen).
const maxCoopMatShapes = 64

// coopMatShapes reads the subgroup-scope VK_NV_cooperative_matrix shapes of a physical device;
// none when it lacks the extension or its feature. Device creation enables both when present.
func (in *Instance) coopMatShapes(phys uint64) []CoopMatShape {
	var buf [maxCoopMatShapes]C.uv_coopmat_shape
	n := int(C.uv_coopmat_shapes(in.c, C.uint64_t(phys), &buf[0], C.int(len(buf))))
	var out []CoopMatShape
	for _, s := range buf[:n] {
		out = append(out, CoopMatShape{
			M: int(s.m), N: int(s.n), K: int(s.k),
			A: componentName(uint32(s.a)), B: componentName(uint32(s.b)),
			C: componentName(uint32(s.c)), Result: componentName(uint32(s.result)),
		})
	}
	return out
}

// componentNames names the VkComponentTypeNV values as CoopMatShape does.
var componentNames = map[uint32]string{
	C.VK_COMPONENT_TYPE_FLOAT16_NV: "f16", C.VK_COMPONENT_TYPE_FLOAT32_NV: "f32", C.VK_COMPONENT_TYPE_FLOAT64_NV: "f64",
	C.VK_COMPONENT_TYPE_SINT8_NV: "s8", C.VK_COMPONENT_TYPE_SINT16_NV: "s16", C.VK_COMPONENT_TYPE_SINT32_NV: "s32",
	C.VK_COMPONENT_TYPE_SINT64_NV: "s64", C.VK_COMPONENT_TYPE_UINT8_NV: "u8", C.VK_COMPONENT_TYPE_UINT16_NV: "u16",
	C.VK_COMPONENT_TYPE_UINT32_NV: "u32", C.VK_COMPONENT_TYPE_UINT64_NV: "u64",
}

func componentName(t uint32) string {
	if n, ok := componentNames[t]; ok {
		return n
	}
	return "unknown"
}
