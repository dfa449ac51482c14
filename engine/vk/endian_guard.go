//go:build armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64

package vk

// udvla writes Go values into Vulkan buffers and push constants as they lie in memory
// (scalars.go, gpu's push constants), which is the shaders' layout on little-endian hosts only.
var _ int = "udvla needs a little-endian host"
