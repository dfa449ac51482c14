package engine

import "github.com/udvla/udvla/engine/gpu"

// kernelTable is a backend that runs the device's kernel variants.
type kernelTable interface {
	Kernels() gpu.Kernels
}

// Kernels names the kernel variant of each op family the engine runs (the device's table choice
// with Options.Kernels over it); false for the CPU reference.
func (e *Engine) Kernels() (gpu.Kernels, bool) {
	if b, ok := e.be.(kernelTable); ok {
		return b.Kernels(), true
	}
	return gpu.Kernels{}, false
}
