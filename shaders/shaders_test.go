package shaders

import (
	"encoding/binary"
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

// capabilities lists the OpCapability operands of a SPIR-V module.
func capabilities(t *testing.T, name string) map[uint32]bool {
	t.Helper()
	b, err := SPIRV(name)
	if err != nil {
		t.Fatal(err)
	}
	caps := map[uint32]bool{}
	for i := 5 * 4; i+4 <= len(b); {
		w := binary.LittleEndian.Uint32(b[i:])
		n := int(w >> 16)
		if n == 0 {
			t.Fatalf("%s: zero-length instruction at byte %d", name, i)
		}
		if w&0xffff == 17 && n == 2 { // OpCapability
			caps[binary.LittleEndian.Uint32(b[i+4:])] = true
		}
		i += 4 * n
	}
	return caps
}

// The builds of matmul_tiled.comp differ in their inner product only: the NV builds need the
// cooperative-matrix capability, and no other build may, or it would not run on a device without
// the extension (the emulated builds are what the tests run in its place).
func TestTiledBuildsCapabilities(t *testing.T) {
	const coopMatNV = 5357 // CooperativeMatrixNV
	for name, want := range map[string]bool{
		"matmul_tiled": false, "matmul_tiled_emu": false, "matmul_int8_emu": false,
		"matmul_tiled_nv": true, "matmul_int8_nv": true,
	} {
		if got := capabilities(t, name)[coopMatNV]; got != want {
			t.Errorf("%s: CooperativeMatrixNV %v, want %v", name, got, want)
		}
	}
}
