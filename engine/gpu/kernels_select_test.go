package gpu

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// deviceGrid is device facts across vendors, types, subgroup sizes and cooperative-matrix support.
func deviceGrid() []vk.DeviceInfo {
	var out []vk.DeviceInfo
	coop := []vk.CoopMatShape{{M: 16, N: 16, K: 16, A: "f16", B: "f16", C: "f32", Result: "f32"},
		{M: 16, N: 16, K: 32, A: "s8", B: "s8", C: "s32", Result: "s32"}}
	for _, t := range []vk.DeviceType{vk.TypeCPU, vk.TypeDiscrete, vk.TypeIntegrated} {
		for _, sg := range []int{4, 8, 16, 32, 64} {
			for _, cm := range [][]vk.CoopMatShape{nil, coop} {
				for _, vendor := range []string{"CPU", "NVIDIA", "AMD", "Intel"} {
					out = append(out, vk.DeviceInfo{Name: "dev", Vendor: vendor, Type: t, SubgroupSize: sg,
						MinSubgroup: sg, MaxSubgroup: sg, MaxSharedMemory: 32 << 10, CoopMat: cm})
				}
			}
		}
	}
	return out
}

// The table never picks a variant the device cannot run (the register-tile matmul, which needs
// subgroups of 8, is never picked at 4), and every family gets a variant.
func TestChooseKernelsOnlyRunnable(t *testing.T) {
	for _, info := range deviceGrid() {
		k := ChooseKernels(info)
		for family, variant := range k.Map() {
			if !slices.Contains(KernelVariants(family, info), variant) {
				t.Errorf("%s %v subgroup %d coop %d: %s=%q is not one it can run (%v)", info.Vendor, info.Type,
					info.SubgroupSize, len(info.CoopMat), family, variant, KernelVariants(family, info))
			}
		}
		if info.SubgroupSize%8 != 0 && k.Matmul == MatmulRegTile {
			t.Errorf("regtile picked at subgroup %d", info.SubgroupSize)
		}
	}
}

// On the device the tests run on, the chosen matmul runs at its subgroup size: at 4
// (LP_NATIVE_VECTOR_WIDTH=128 on lavapipe) the register tile is neither picked nor accepted.
func TestKernelsFitTestDevice(t *testing.T) {
	dev := vktest.Device(t)
	k, err := KernelsFor(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("subgroup %d: %v", dev.Info.SubgroupSize, k)
	// tools/test.sh names the size it set up, so that a run meant for another size cannot pass
	// silently at the default one
	if want := os.Getenv("UDVLA_TEST_SUBGROUP"); want != "" && want != strconv.Itoa(dev.Info.SubgroupSize) {
		t.Fatalf("the device has subgroups of %d, the run wants %s", dev.Info.SubgroupSize, want)
	}
	if dev.Info.SubgroupSize%8 != 0 {
		if k.Matmul == MatmulRegTile {
			t.Errorf("subgroup %d: regtile chosen", dev.Info.SubgroupSize)
		}
		if _, err := OverrideKernels(k, dev.Info, "matmul="+MatmulRegTile); err == nil {
			t.Errorf("subgroup %d: an override to regtile was accepted", dev.Info.SubgroupSize)
		}
	}
}

func TestKernelReportHelpers(t *testing.T) {
	cpu4 := vk.DeviceInfo{Type: vk.TypeCPU, SubgroupSize: 4}
	if v := KernelVariants("matmul", cpu4); slices.Contains(v, MatmulRegTile) || !slices.Contains(v, MatmulSubgroup) {
		t.Errorf("matmul at subgroup 4: %v", v)
	}
	if v := KernelVariants("nope", cpu4); len(v) != 0 {
		t.Errorf("unknown family: %v", v)
	}
	m := Kernels{Matmul: "a", Attention: "b"}.Map()
	if len(m) != len(KernelFamilies()) || m["matmul"] != "a" || m["attention"] != "b" {
		t.Errorf("Map: %v", m)
	}
	if err := CheckKernels(" matmul=regtile, attention=scalar"); err != nil {
		t.Error(err)
	}
	for spec, want := range map[string]string{"matmul=bogus": "variants", "x=y": "family=variant", "matmul": "family=variant"} {
		if err := CheckKernels(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckKernels(%q) = %v, want %q", spec, err, want)
		}
	}
}
