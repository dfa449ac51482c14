package shaders

import (
	"os/exec"
	"testing"
)

// The committed SPIR-V must be what the committed GLSL compiles to.
func TestSPIRVUpToDate(t *testing.T) {
	if _, err := exec.LookPath("glslc"); err != nil {
		t.Fatalf("glslc not installed: run tools/setup.sh")
	}
	out, err := exec.Command("bash", "build.sh", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
