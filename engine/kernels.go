package engine

import "github.com/udvla/udvla/engine/gpu"

// Kernels names the kernel variant of each op family the engine runs (the device's table choice
// with Options.Kernels over it); false for the CPU reference.
func (e *Engine) Kernels() (gpu.Kernels, bool) {
	if b, ok := e.be.(*vkBackend); ok {
		return b.kernels, true
	}
	return gpu.Kernels{}, false
}
