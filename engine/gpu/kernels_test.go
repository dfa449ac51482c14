package gpu

import (
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

func TestChooseKernelsTable(t *testing.T) {
	for _, c := range []struct {
		info vk.DeviceInfo
		want Kernels
	}{
		{vk.DeviceInfo{Type: vk.TypeCPU, SubgroupSize: 8}, Kernels{Matmul: MatmulRegTile, Attention: AttentionSubgroup}},
		{vk.DeviceInfo{Type: vk.TypeCPU, SubgroupSize: 4}, Kernels{Matmul: MatmulSubgroup, Attention: AttentionSubgroup}},
		{gpuInfo(32, 48<<10, nil), Kernels{Matmul: MatmulTiled, Attention: AttentionFlash}},
		{gpuInfo(64, 64<<10, nil), Kernels{Matmul: MatmulTiled, Attention: AttentionFlash}},
		{gpuInfo(32, 48<<10, nvShapes), Kernels{Matmul: MatmulTiledNV, Attention: AttentionFlashNV}},
		// int8 shapes alone are no reason to change the choice: the int8 path is opt-in. Nor is
		// a 16×8×16 fp16 shape: flash-nv multiplies 16×16×16 fragments.
		{gpuInfo(32, 48<<10, nvShapes[1:]), Kernels{Matmul: MatmulTiled, Attention: AttentionFlash}},
		// Too little shared memory for the tiles: the K-split paths (attention falls back per
		// head dim in NewAttention).
		{gpuInfo(32, 16<<10, nvShapes), Kernels{Matmul: MatmulSubgroup, Attention: AttentionFlashNV}},
		{vk.DeviceInfo{Type: vk.TypeCPU, SubgroupSize: 8, CoopMat: nvShapes}, Kernels{Matmul: MatmulRegTile, Attention: AttentionSubgroup}},
	} {
		if got := ChooseKernels(c.info); got != c.want {
			t.Errorf("%v subgroup %d: %+v, want %+v", c.info.Type, c.info.SubgroupSize, got, c.want)
		}
	}
}

// gpuInfo is a discrete GPU with the given subgroup size, shared memory and cooperative-matrix
// shapes, and 1024 invocations a workgroup.
func gpuInfo(sg, shared int, coop []vk.CoopMatShape) vk.DeviceInfo {
	return vk.DeviceInfo{Name: "gpu", Type: vk.TypeDiscrete, SubgroupSize: sg, MaxSharedMemory: shared,
		MaxWorkgroupInvoc: 1024, MaxWorkgroupSize: [3]int{1024, 1024, 64}, CoopMat: coop}
}

// nvShapes is what NVIDIA drivers report through VK_NV_cooperative_matrix (among other shapes).
var nvShapes = []vk.CoopMatShape{
	{M: 16, N: 16, K: 16, A: "f16", B: "f16", C: "f32", Result: "f32"},
	{M: 16, N: 16, K: 32, A: "s8", B: "s8", C: "s32", Result: "s32"},
	{M: 16, N: 8, K: 16, A: "f16", B: "f16", C: "f16", Result: "f16"},
}

// TestOverrideKernelsTiled: the NV builds run only where the device reports their shapes; the
// emulated ones anywhere with a subgroup size dividing a fragment.
func TestOverrideKernelsTiled(t *testing.T) {
	gpu := gpuInfo(32, 48<<10, nil)
	nv := gpuInfo(32, 48<<10, nvShapes)
	for _, c := range []struct {
		info vk.DeviceInfo
		spec string
		ok   bool
	}{
		{gpu, "matmul=tiled-nv", false}, {gpu, "matmul=int8-nv", false}, {nv, "matmul=tiled-nv", true},
		{nv, "matmul=int8-nv", true}, {gpu, "matmul=tiled-emu", true}, {gpu, "matmul=int8-emu", true},
		{gpuInfo(48, 48<<10, nvShapes), "matmul=tiled-emu", false},
		{gpuInfo(48, 48<<10, nvShapes), "matmul=tiled-nv", false},
		{gpuInfo(32, 16<<10, nvShapes), "matmul=tiled-nv", false},
		{gpuInfo(8, 32<<10, nil), "matmul=tiled", true},
		{vk.DeviceInfo{Type: vk.TypeDiscrete, SubgroupSize: 32, MaxSharedMemory: 48 << 10, MaxWorkgroupInvoc: 128,
			MaxWorkgroupSize: [3]int{128, 128, 64}}, "matmul=tiled", false},
	} {
		k, err := OverrideKernels(ChooseKernels(c.info), c.info, c.spec)
		if (err == nil) != c.ok {
			t.Errorf("%s on %+v: %v", c.spec, c.info.CoopMat, err)
		} else if err == nil && "matmul="+k.Matmul != c.spec {
			t.Errorf("%s: got %s", c.spec, k.Matmul)
		}
	}
}

func TestOverrideKernels(t *testing.T) {
	cpu4 := vk.DeviceInfo{Name: "cpu", Type: vk.TypeCPU, SubgroupSize: 4}
	base := ChooseKernels(cpu4)
	k, err := OverrideKernels(base, cpu4, " attention=scalar ,")
	if err != nil || k.Attention != AttentionScalar || k.Matmul != base.Matmul {
		t.Fatalf("override: %+v, %v", k, err)
	}
	if s := k.String(); s != "attention=scalar,matmul=subgroup" {
		t.Errorf("String: %q", s)
	}
	for spec, want := range map[string]string{
		"matmul":             "family=variant",
		"conv=x":             "family=variant",
		"matmul=nope":        "variants regtile, tiled-nv, tiled, subgroup, tiled-emu, int8-nv, int8-emu",
		"matmul=regtile":     "cannot run",
		"attention=fast,":    "variants flash-nv, flash, subgroup, scalar, flash-emu",
		"attention=flash-nv": "cannot run",
	} {
		if _, err := OverrideKernels(base, cpu4, spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", spec, err, want)
		}
	}
}

// TestKernelOverrideReachesPipelines opens a device with an override and checks that the kernels
// are built from it.
func TestKernelOverrideReachesPipelines(t *testing.T) {
	dev := vktest.Device(t)
	saved := dev.Kernels
	t.Cleanup(func() { dev.Kernels = saved })
	dev.Kernels = "attention=scalar"
	at, err := NewAttention(dev, AttentionShape{Heads: 2, KVHeads: 1, HeadDim: 8})
	if err != nil {
		t.Fatal(err)
	}
	if at.fast != nil {
		t.Error("attention=scalar still built the subgroup pipeline")
	}
	dev.Kernels = "matmul=bogus"
	if _, err := NewMatmul(dev); err == nil {
		t.Error("an unknown matmul variant was accepted")
	}
}
