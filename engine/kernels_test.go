package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// An engine opened with a kernel override runs it, says so, and still equals the reference; the
// table's choice fills the families the override leaves out.
func TestEngineReportsKernels(t *testing.T) {
	g, err := Open(tinyModel, Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device,
		Kernels: "attention=scalar"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	vktest.Gate(t, vkOf(g).VulkanDevice().Instance())
	k, ok := g.Kernels()
	info, _ := g.Device()
	if want := gpu.ChooseKernels(info); !ok || k.Attention != gpu.AttentionScalar || k.Matmul != want.Matmul {
		t.Fatalf("Kernels() = %+v, %v; want attention=scalar and the table's matmul %q", k, ok, want.Matmul)
	}
	ref, err := Open(tinyModel, Options{Backend: BackendReference})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	req := randomRequest(g.Config(), rand.New(rand.NewPCG(3, 4)))
	checkStepEqualsRef(t, "attention=scalar", g, ref, req)
	if _, ok := ref.Kernels(); ok {
		t.Error("the CPU reference reports Vulkan kernels")
	}
}

// A bad override is refused at Open with the choices named.
func TestEngineRefusesBadKernels(t *testing.T) {
	for spec, want := range map[string]string{"matmul=bogus": "variants", "conv=x": "family=variant"} {
		e, err := Open(tinyModel, Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device, Kernels: spec})
		if err == nil {
			e.Close()
			t.Errorf("%q opened", spec)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
}
