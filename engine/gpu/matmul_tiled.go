package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// tiledBuild is one build of shaders/matmul_tiled.comp (see shaders/build.sh): its inner product.
type tiledBuild int

const (
	tiledNone tiledBuild = iota // shaders/matmul.comp
	tiledSIMT                   // fp32 FMAs from shared memory: any device
	tiledEmu                    // 16×16×16 fp16 fragments in plain arithmetic: any device, tests
	tiledNV                     // the same fragments through GL_NV_cooperative_matrix
	int8Emu                     // q8_0 × q8_1 activations, 16×16×32 int8 fragments in plain arithmetic
	int8NV                      // the same through GL_NV_integer_cooperative_matrix
)

// shader is the build's SPIR-V module name, also its pipeline name.
func (b tiledBuild) shader() string {
	return [...]string{"matmul", "matmul_tiled", "matmul_tiled_emu", "matmul_tiled_nv", "matmul_int8_emu", "matmul_int8_nv"}[b]
}

// mma reports whether the build multiplies 16×16 fragments per subgroup.
func (b tiledBuild) mma() bool { return b >= tiledEmu }

// int8 reports whether the build is the int8 path (x quantized as q8_1 first).
func (b tiledBuild) int8() bool { return b == int8Emu || b == int8NV }

// tiledVariants maps the matmul variants of the kernel table to their builds.
var tiledVariants = map[string]tiledBuild{
	MatmulTiled:    tiledSIMT,
	MatmulTiledEmu: tiledEmu,
	MatmulTiledNV:  tiledNV,
	MatmulInt8Emu:  int8Emu,
	MatmulInt8NV:   int8NV,
}

// tiledTileFor is the many-token tile of a build for a weight dtype. The int8 builds take q8_0
// only; other dtypes get the fp16 build of the same kind. 64×64 tiles: each weight value read
// serves 64 tokens and each x value 64 rows, in 64·40·2·2 + 64·64·4 = 26 KiB of shared memory for
// the fragment builds (17 KiB for SIMT), within every GPU's 32 KiB. The emulated builds, which run
// on CPU devices for tests and benchmarks, take 32×32 tiles: a quarter of the per-lane work.
func tiledTileFor(b tiledBuild, dt quant.DType, sg int) matmulTile {
	if b.int8() && dt != quant.Q8_0 {
		b = map[tiledBuild]tiledBuild{int8Emu: tiledEmu, int8NV: tiledNV}[b]
	}
	switch b {
	case tiledSIMT:
		return matmulTile{Tiled: b, Local: 256, R: 64, C: 64, TM: 4, TN: 4}
	case tiledEmu, int8Emu:
		return matmulTile{Tiled: b, Local: 4 * sg, R: 32, C: 32}
	}
	return matmulTile{Tiled: b, Local: 4 * sg, R: 64, C: 64}
}

// checkTiled reports whether t fits the shader's assumptions on a device with subgroup size sg
// and shared memory of shared bytes.
func checkTiled(t matmulTile, dt quant.DType, sg, shared int) error {
	b := t.Tiled
	var bytes int
	switch {
	case b.int8() && dt != quant.Q8_0:
		return fmt.Errorf("matmul: the int8 tile takes q8_0 weights, not %v", dt)
	case t.R <= 0 || t.C <= 0 || t.Local <= 0:
		return fmt.Errorf("matmul: tile %+v is empty", t)
	case !b.mma():
		if t.TM <= 0 || t.TN <= 0 || t.R%t.TM != 0 || t.C%t.TN != 0 || t.Local != t.R/t.TM*(t.C/t.TN) {
			return fmt.Errorf("matmul: tile %+v: want R/TM × C/TN invocations", t)
		}
		bytes = (t.R+t.C)*33*4 + 12*t.R
	default:
		frags := t.R / 16 * (t.C / 16)
		if t.R%16 != 0 || t.C%16 != 0 || t.Local%sg != 0 || 256%sg != 0 || frags%(t.Local/sg) != 0 {
			return fmt.Errorf("matmul: tile %+v does not split into 16×16 fragments over subgroups of %d", t, sg)
		}
		bytes = (t.R+t.C)*40*2 + t.R*t.C*4 + 12*t.R
		if b.int8() {
			bytes = (t.R+t.C)*48 + t.R*t.C*4 + 16*t.R + 4*t.C
			if (t.R*t.C)%t.Local != 0 {
				return fmt.Errorf("matmul: tile %+v: %d invocations do not divide its %d sums", t, t.Local, t.R*t.C)
			}
		}
	}
	if bytes > shared {
		return fmt.Errorf("matmul: tile %+v needs %d bytes of shared memory, the device has %d", t, bytes, shared)
	}
	return nil
}

// tiledSpec is the build's specialization constants: local, subgroup, dtype, BM, BN, TM, TN.
func tiledSpec(t matmulTile, dt quant.DType, sg int) []uint32 {
	return []uint32{uint32(t.Local), uint32(sg), uint32(dt), uint32(t.R), uint32(t.C), uint32(max(t.TM, 1)), uint32(max(t.TN, 1))}
}

// tiledSubgroup is the subgroup size a build's pipeline is pinned to: the fragment builds divide
// a fragment among the lanes of a subgroup of size SG; SIMT uses no subgroup operation.
func tiledSubgroup(t matmulTile, sg int) int {
	if t.Tiled.mma() {
		return sg
	}
	return 0
}

// coopMatHas reports whether the device multiplies a 16×16 A of type a by a B into an accumulator
// of type c with K = k (VK_NV_cooperative_matrix properties).
func coopMatHas(info vk.DeviceInfo, a, c string, k int) bool {
	for _, s := range info.CoopMat {
		if s.M == 16 && s.N == 16 && s.K == k && s.A == a && s.B == a && s.C == c && s.Result == c {
			return true
		}
	}
	return false
}

// fits reports whether the device takes build b's production tile for every dtype it runs:
// workgroup size, shared memory, and for the fragment builds a subgroup size dividing a
// fragment's 256 elements.
func fits(d vk.DeviceInfo, b tiledBuild) bool {
	sg := d.SubgroupSize
	if sg <= 0 {
		return false
	}
	for _, dt := range []quant.DType{quant.F16, quant.Q8_0} {
		t := tiledTileFor(b, dt, sg)
		if t.Local > d.MaxWorkgroupInvoc || t.Local > d.MaxWorkgroupSize[0] || checkTiled(t, dt, sg, d.MaxSharedMemory) != nil {
			return false
		}
	}
	return true
}

func runsTiled(d vk.DeviceInfo) bool { return fits(d, tiledSIMT) }

// The shapes the NV builds use: 16×16×16 fp16 into fp32, and 16×16×32 int8 into int32.
func runsTiledNV(d vk.DeviceInfo) bool {
	return coopMatHas(d, "f16", "f32", 16) && fits(d, tiledNV)
}

func runsInt8NV(d vk.DeviceInfo) bool {
	return coopMatHas(d, "f16", "f32", 16) && coopMatHas(d, "s8", "s32", 32) && fits(d, int8NV)
}

func runsEmu(d vk.DeviceInfo) bool { return fits(d, tiledEmu) }

func runsInt8Emu(d vk.DeviceInfo) bool { return fits(d, int8Emu) }

// tiledWork is the napkin math of one tiled dispatch: FLOPs (a multiply-add is two) and the
// minimal bytes (W read once, x read once as fp32 or as q8_1, y written, and read too when
// accumulating), for count rows of cols elements times n tokens.
func tiledWork(b tiledBuild, dt quant.DType, count, n, cols int, accumulate bool) (flops, bytes float64) {
	flops = 2 * float64(count) * float64(n) * float64(cols)
	q, s := quant.RowBytes(dt, cols)
	x := 4 * float64(cols)
	if b.int8() {
		nb := float64((cols + 31) / 32)
		x = 36 * nb
	}
	y := 4 * float64(count) * float64(n)
	if accumulate {
		y *= 2
	}
	return flops, float64(count)*float64(q+s) + float64(n)*x + y
}
