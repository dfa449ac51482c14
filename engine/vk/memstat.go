package vk

// #include "vkc.h"
import "C"

// CHeapInUse is the number of bytes the C heap (the driver's and ours) has allocated and not
// freed. Leak tests use it instead of RSS, which glibc's per-thread arenas inflate.
func CHeapInUse() uint64 { return uint64(C.uv_malloc_in_use()) }
