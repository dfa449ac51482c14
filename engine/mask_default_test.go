package engine

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
)

// A random HF checkpoint whose config.json sets use_blockwise_attn_mask, converted without naming
// a rule, records the release rule, and a request's zero Mask runs it on both backends: the
// regions equal an explicit release run's and differ from the paper mode's.
func TestConvertedBlockwiseCheckpointRunsReleaseByDefault(t *testing.T) {
	o, err := build.TinyOptions("../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	o.Seed = rand.Uint64()
	t.Logf("seed %d", o.Seed)
	dir := t.TempDir()
	hf := filepath.Join(dir, "hf")
	os.Mkdir(hf, 0o755)
	if err := build.WriteRandomHF(hf, build.HFOptions{Arch: o.Arch, Seed: o.Seed, DType: "F32", ModelType: "llama", Blockwise: true}); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "layout.json")
	os.WriteFile(layout, build.LayoutJSON(o.Vocab), 0o644)
	path := filepath.Join(dir, "m.udvla")
	if _, err := build.Convert(build.ConvertOptions{HFDir: hf, Out: path, Quant: quant.F32, Layout: layout,
		Cameras: o.Decoding.Cameras, Steps: o.Decoding.Steps, ActionLen: o.Decoding.ActionLen}); err != nil {
		t.Fatal(err)
	}
	g, ref := openPair(t, path)
	if got := g.Config().Decoding.Mask; got != model.MaskRelease {
		t.Fatalf("the converted model records %v, want release", got)
	}
	r := rand.New(rand.NewPCG(o.Seed, 7))
	differs := false
	for i := 0; i < 3; i++ {
		req := randomRequest(g.Config(), r)
		for _, e := range []*Engine{g, ref} {
			def, err := e.Step(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			explicit := *req
			explicit.Mask = model.MaskRelease
			rel, err := e.Step(context.Background(), &explicit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(def.Region, rel.Region) {
				t.Fatalf("%s: the default request's region differs from the release rule's", e.BackendName())
			}
			explicit.Mask = model.MaskPaper
			pap, err := e.Step(context.Background(), &explicit)
			if err != nil {
				t.Fatal(err)
			}
			differs = differs || !reflect.DeepEqual(def.Region, pap.Region)
		}
	}
	if !differs {
		t.Fatal("the default and the paper mode agree on every request: the test cannot tell the rules apart")
	}
}

// A model whose rule is causal (a checkpoint trained without a block mask) refuses the diffusion
// modes under its own rule with an error that says why, runs AR, and runs JD3P when a rule is named.
func TestCausalModelRefusesDiffusionByDefault(t *testing.T) {
	o, err := build.TinyOptions("../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	o.Decoding.Mask = model.MaskCausal
	path := filepath.Join(t.TempDir(), "causal.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	g, ref := openPair(t, path)
	for _, e := range []*Engine{g, ref} {
		req := randomRequest(e.Config(), rand.New(rand.NewPCG(3, 4)))
		for _, mode := range []Mode{ModeJD3P, ModeID} {
			req.Mode = mode
			if _, err := e.Step(context.Background(), req); err == nil || !strings.Contains(err.Error(), "causal") {
				t.Errorf("%s %v under the model's causal rule: %v", e.BackendName(), mode, err)
			}
		}
		req.Mode = ModeAR
		if _, err := e.Step(context.Background(), req); err != nil {
			t.Errorf("%s AR: %v", e.BackendName(), err)
		}
		req.Mode, req.Mask = ModeJD3P, model.MaskRelease
		if _, err := e.Step(context.Background(), req); err != nil {
			t.Errorf("%s JD3P with the release rule named: %v", e.BackendName(), err)
		}
	}
}
