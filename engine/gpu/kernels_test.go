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
		{vk.DeviceInfo{Type: vk.TypeDiscrete, SubgroupSize: 32}, Kernels{Matmul: MatmulSubgroup, Attention: AttentionSubgroup}},
	} {
		if got := ChooseKernels(c.info); got != c.want {
			t.Errorf("%v subgroup %d: %+v, want %+v", c.info.Type, c.info.SubgroupSize, got, c.want)
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
		"matmul":          "family=variant",
		"conv=x":          "family=variant",
		"matmul=nope":     "variants regtile, subgroup",
		"matmul=regtile":  "cannot run",
		"attention=fast,": "variants subgroup, scalar",
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
