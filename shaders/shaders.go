// Package shaders holds udvla's GLSL compute shaders and their SPIR-V, compiled by build.sh
// (glslc --target-env=vulkan1.2 -O -Werror, checked by spirv-val) and embedded here.
package shaders

import (
	"embed"
	"fmt"
)

//go:embed spv/*.spv
var spv embed.FS

// SPIRV returns the compiled module of shaders/<name>.comp.
func SPIRV(name string) ([]byte, error) {
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no compiled shader %q (run shaders/build.sh)", name)
	}
	return b, nil
}

// MustSPIRV is SPIRV for names known at compile time.
func MustSPIRV(name string) []byte {
	b, err := SPIRV(name)
	if err != nil {
		panic(err)
	}
	return b
}
