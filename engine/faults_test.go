package engine

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// A device fault in the middle of a step (after the uploads, in the prefill or the denoising
// loop) gives the failing engine an error and leaves the process and the other engines working:
// after VK_ERROR_OUT_OF_DEVICE_MEMORY the same engine steps correctly again; after
// VK_ERROR_DEVICE_LOST it refuses every further call with a clear error, and closes.
func TestDeviceFaultsMidStep(t *testing.T) {
	other, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(31, 32))
	ctx := context.Background()
	checkStep := func(what string, e *Engine, req *Request) { t.Helper(); checkStepEqualsRef(t, what, e, ref, req) }
	checkStep("the other engine before", other, randomRequest(other.Config(), r))
	for _, c := range []struct {
		name   string
		result int32
		at     int64
		want   string
	}{
		{"out of device memory in the loop", -2, 3, "VK_ERROR_OUT_OF_DEVICE_MEMORY"},
		{"out of device memory at the first submission", -2, 1, "VK_ERROR_OUT_OF_DEVICE_MEMORY"},
		{"device lost in the loop", -4, 3, "VK_ERROR_DEVICE_LOST"},
		{"device lost at the first submission", -4, 1, "VK_ERROR_DEVICE_LOST"},
	} {
		e, err := Open(tinyModel, Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device})
		if err != nil {
			t.Fatal(err)
		}
		name := c.name
		t.Cleanup(func() { // after the validation gate below, which reads the instance
			if err := e.Close(); err != nil {
				t.Errorf("%s: close: %v", name, err)
			}
		})
		dev := vkOf(e).VulkanDevice()
		vktest.Gate(t, dev.Instance())
		req := randomRequest(e.Config(), r)
		checkStep(c.name+": a step before", e, req)
		dev.InjectFaultForTest(c.result, c.at)
		if _, err := e.Step(ctx, req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: step error %v, want %s", c.name, err, c.want)
		}
		if c.result == -4 {
			_, err := e.Step(ctx, req)
			if err == nil || !strings.Contains(err.Error(), "lost") || !strings.Contains(err.Error(), "open a new one") {
				t.Errorf("%s: the next step gave %v, want a refusal", c.name, err)
			}
			if _, err := e.Logits([]int32{1, 2, 3}, model.MaskCausal); err == nil {
				t.Errorf("%s: logits ran on a lost device", c.name)
			}
		} else {
			checkStep(c.name+": the step after", e, req)
			checkStep(c.name+": another shape after", e, randomRequest(e.Config(), r))
		}
		checkStep(c.name+": the other engine", other, randomRequest(other.Config(), r))
	}
}
