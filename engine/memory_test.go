package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// openVulkan opens a validated Vulkan engine with the memory hook set to setting while it opens.
func openVulkan(t *testing.T, path, setting string) (*Engine, error) {
	t.Helper()
	t.Setenv(vk.MemoryEnv, setting)
	e, err := Open(path, Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { e.Close() })
	vktest.Gate(t, vkOf(e).VulkanDevice().Instance())
	return e, nil
}

// With device-local memory the host cannot map (a discrete card), weights, activations and the
// per-step buffers travel through the staging ring, and the engine's results are bit-identical to
// those of an engine whose memory is mapped.
func TestStagedEngineIsBitIdentical(t *testing.T) {
	for _, path := range []string{tinyModel, randomModel(t, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192}, quant.Q8_0, 41)} {
		mapped, err := openVulkan(t, path, "")
		if err != nil {
			t.Fatal(err)
		}
		staged, err := openVulkan(t, path, "hide-hvdl")
		if err != nil {
			t.Fatal(err)
		}
		if acts, params, weights := vkOf(staged).MappedBuffers(); acts || params || weights {
			t.Fatal("the staged engine's buffers are mapped")
		}
		if acts, _, _ := vkOf(mapped).MappedBuffers(); !acts {
			t.Fatal("lavapipe's device-local memory is host-visible: the mapped engine should map it")
		}
		r := rand.New(rand.NewPCG(51, 52))
		for i := 0; i < 4; i++ {
			req := randomRequest(mapped.Config(), r)
			req.Mode = Modes[i%len(Modes)]
			req.Mask = []model.MaskRule{model.MaskRelease, model.MaskPaper}[i%2]
			if req.Mode == ModeID {
				req.Steps, req.ActionSteps = 6, 5
			}
			want, err := mapped.Step(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := staged.Step(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Region, want.Region) || !reflect.DeepEqual(got.ActionTokens, want.ActionTokens) ||
				!reflect.DeepEqual(got.Actions, want.Actions) {
				t.Errorf("%s: %v %v seed %d: the staged engine differs:\n staged %v\n mapped %v", path, req.Mask, req.Mode,
					req.Seed, got.Region, want.Region)
			}
		}
		ids := []int32{1, 5, 9, 30, 31, 77, 2}
		lw, err := mapped.Logits(ids, model.MaskCausal)
		if err != nil {
			t.Fatal(err)
		}
		lg, err := staged.Logits(ids, model.MaskCausal)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lw {
			if math.Float32bits(lg[i]) != math.Float32bits(lw[i]) {
				t.Fatalf("%s: logit %d: staged %v, mapped %v", path, i, lg[i], lw[i])
			}
		}
	}
}

// An engine that does not fit the device's memory fails to open with an error that names the
// buffer and the bytes missing; the engine already open, and the process, carry on.
func TestEngineTooLargeForTheHeap(t *testing.T) {
	other, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(53, 54))
	checkStepEqualsRef(t, "before", other, ref, randomRequest(other.Config(), r))
	probe, err := openVulkan(t, tinyModel, "hide-hvdl")
	if err != nil {
		t.Fatal(err)
	}
	need := vkOf(probe).VulkanDevice().MemoryUse().DeviceLocalBytes // probe closes at cleanup, after its gate
	for _, c := range []struct {
		heap uint64
		want string
	}{
		{4096, "upload embeddings"},      // the first buffer
		{need - 1, "activations logits"}, // the last buffer
	} {
		_, err := openVulkan(t, tinyModel, fmt.Sprintf("hide-hvdl,heap=%d", c.heap))
		if err == nil {
			t.Fatalf("an engine of %d bytes opened on a heap of %d", need, c.heap)
		}
		msg := err.Error()
		for _, w := range []string{c.want, "VK_ERROR_OUT_OF_DEVICE_MEMORY", "bytes of budget left", "bytes short"} {
			if !strings.Contains(msg, w) {
				t.Errorf("heap of %d bytes: error %q does not say %q", c.heap, msg, w)
			}
		}
		t.Logf("heap of %d bytes: %v", c.heap, err)
		checkStepEqualsRef(t, "the other engine after", other, ref, randomRequest(other.Config(), r))
	}
	if _, err := openVulkan(t, tinyModel, fmt.Sprintf("hide-hvdl,heap=%d", need)); err != nil {
		t.Errorf("the engine on a heap of exactly its size: %v", err)
	}
}
