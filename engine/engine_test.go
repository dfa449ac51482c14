package engine

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/internal/vkbackend"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk/vktest"
)

const tinyModel = "../testdata/tiny.udvla"

// openPair opens the same model on the Vulkan backend (validated) and on the CPU reference.
func openPair(t testing.TB, path string) (gpuEng, refEng *Engine) {
	t.Helper()
	g, err := Open(path, Options{Backend: BackendVulkan, Validate: true, Device: vktest.Options().Device})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	vktest.Gate(t, vkOf(g).VulkanDevice().Instance())
	r, err := Open(path, Options{Backend: BackendReference})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return g, r
}

// vkOf is the Vulkan backend of an engine, for tests that look inside it.
func vkOf(e *Engine) *vkbackend.Backend { return e.be.(*vkbackend.Backend) }

// checkStepEqualsRef runs req on e and on the reference and demands the same region.
func checkStepEqualsRef(t *testing.T, what string, e, ref *Engine, req *Request) {
	t.Helper()
	want, err := ref.Step(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Step(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(got.Region, want.Region) {
		t.Errorf("%s, seed %d:\n gpu %v\n ref %v", what, req.Seed, got.Region, want.Region)
	}
}

// randomRequest makes a request with random instruction tokens and camera codes.
func randomRequest(cfg *model.Config, r *rand.Rand) *Request {
	req := &Request{Seed: r.Uint64()}
	n := 3 + r.IntN(6)
	for i := 0; i < n; i++ {
		req.Instruction = append(req.Instruction, 30+r.Int32N(cfg.Vocab.TextSize-30))
	}
	for _, c := range cfg.Decoding.Cameras {
		codes := make([]int32, c.H*c.W)
		for i := range codes {
			codes[i] = r.Int32N(cfg.Vocab.CodebookSize)
		}
		req.Codes = append(req.Codes, codes)
	}
	return req
}

func TestVulkanEqualsReferenceTiny(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(11, 12))
	for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease, model.MaskReleaseKV} {
		for _, mode := range Modes {
			for i := 0; i < 3; i++ {
				req := randomRequest(g.Config(), r)
				req.Mask, req.Mode = rule, mode
				if mode == ModeID {
					req.Steps, req.ActionSteps = 6, 5 // the release's 64 and 28 are slow on the CPU
				}
				stepBoth(t, g, ref, req)
			}
		}
	}
}

// stepBoth runs req on the Vulkan engine and on the reference and reports a differing region.
func stepBoth(t *testing.T, g, ref *Engine, req *Request) (got, want *Result) {
	t.Helper()
	ctx := context.Background()
	want, err := ref.Step(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err = g.Step(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Region, want.Region) {
		t.Errorf("%v %v seed %d:\n gpu %v\n ref %v", req.Mask, req.Mode, req.Seed, got.Region, want.Region)
	}
	return got, want
}
