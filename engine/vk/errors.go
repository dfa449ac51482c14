package vk

// #include "vkc.h"
import "C"

import "fmt"

// Error is a failed Vulkan call: the operation and the VkResult it returned.
type Error struct {
	Op     string
	Result int32
	Detail string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("vulkan: %s: %s", e.Op, ResultName(e.Result))
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// OutOfMemory reports whether the call failed for lack of host or device memory.
func (e *Error) OutOfMemory() bool { return e.Result == -1 || e.Result == -2 }

var resultNames = map[int32]string{
	0: "VK_SUCCESS", 1: "VK_NOT_READY", 2: "VK_TIMEOUT", 3: "VK_EVENT_SET", 4: "VK_EVENT_RESET", 5: "VK_INCOMPLETE",
	-1: "VK_ERROR_OUT_OF_HOST_MEMORY", -2: "VK_ERROR_OUT_OF_DEVICE_MEMORY", -3: "VK_ERROR_INITIALIZATION_FAILED",
	-4: "VK_ERROR_DEVICE_LOST", -5: "VK_ERROR_MEMORY_MAP_FAILED", -6: "VK_ERROR_LAYER_NOT_PRESENT",
	-7: "VK_ERROR_EXTENSION_NOT_PRESENT", -8: "VK_ERROR_FEATURE_NOT_PRESENT", -9: "VK_ERROR_INCOMPATIBLE_DRIVER",
	-10: "VK_ERROR_TOO_MANY_OBJECTS", -11: "VK_ERROR_FORMAT_NOT_SUPPORTED", -12: "VK_ERROR_FRAGMENTED_POOL",
	-13: "VK_ERROR_UNKNOWN", -1000069000: "VK_ERROR_OUT_OF_POOL_MEMORY", -1000072003: "VK_ERROR_INVALID_EXTERNAL_HANDLE",
	-1000161000: "VK_ERROR_FRAGMENTATION", -1000257000: "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS",
	-1000012000: "VK_ERROR_INVALID_SHADER_NV",
}

// ResultName names a VkResult.
func ResultName(r int32) string {
	if n, ok := resultNames[r]; ok {
		return n
	}
	return fmt.Sprintf("VkResult(%d)", r)
}

func check(op string, r C.int, detail string) error {
	if r == 0 {
		return nil
	}
	return &Error{Op: op, Result: int32(r), Detail: detail}
}
