package engine

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/ref"
)

// randomModel writes a random model shaped like the tiny one with another architecture.
func randomModel(t testing.TB, arch model.Arch, dt quant.DType, seed uint64) string {
	t.Helper()
	o, err := build.TinyOptions("../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	arch.Vocab, arch.RopeTheta, arch.RMSEps = o.Arch.Vocab, 1e6, 1e-5
	o.Arch, o.DType, o.Seed = arch, dt, seed
	path := filepath.Join(t.TempDir(), "model.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	return path
}

// margin tolerated for a GPU decision that differs from the reference: a genuine near-tie.
const maxDifferingMargin = 1e-4

// checkEquality runs seeds requests of each mask rule (paper, release, release-kv) on the Vulkan
// backend and the reference and demands identical regions in at least 39 of every 40 runs; a
// differing run must trace back to a near-tie of the reference (margin below maxDifferingMargin).
func checkEquality(t *testing.T, path string, seeds int) {
	g, _ := openPair(t, path)
	vb := vkOf(g)
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rm, err := ref.NewModel(f.Config.Arch, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(seeds), 99))
	runs, differ := 0, 0
	for _, rule := range []model.MaskRule{model.MaskPaper, model.MaskRelease, model.MaskReleaseKV} {
		for i := 0; i < seeds; i++ {
			req := randomRequest(g.Config(), r)
			req.Mask = rule
			l, steps, err := g.layout(req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := rm.JD3P(l, ref.Options{Seed: req.Seed, Steps: steps, Mask: rule, Cache: true, Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.Step(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			runs++
			if reflect.DeepEqual(got.Region, want.Region) {
				continue
			}
			differ++
			// Again step by step, reading the state back after each, to find the first
			// differing decision.
			vb.TraceStates(true)
			again, err := g.Step(context.Background(), req)
			vb.TraceStates(false)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again.Region, got.Region) {
				t.Errorf("%v seed %d: the traced run, step by step, differs from the run in segments", rule, req.Seed)
			}
			states := make([][]int32, len(vb.States()))
			for k, s := range vb.States() {
				states[k] = s[:l.N()]
			}
			d, found, err := want.Trace.FirstDifference(states, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v seed %d differs: %v", rule, req.Seed, d)
			if !found || d.Margin >= maxDifferingMargin {
				t.Errorf("%v seed %d: the output differs and the first differing decision (%v, found %v) is no near-tie", rule, req.Seed, d, found)
			}
		}
	}
	t.Logf("%d of %d runs identical to the reference", runs-differ, runs)
	if differ*40 > runs {
		t.Errorf("%d of %d runs differ: more than 1 in 40", differ, runs)
	}
}

func TestEqualityTinyModel(t *testing.T) { checkEquality(t, tinyModel, 20) }

func TestEqualityWideGQA(t *testing.T) {
	checkEquality(t, randomModel(t, model.Arch{Layers: 2, Hidden: 128, Heads: 8, KVHeads: 2, HeadDim: 16, FFN: 256}, quant.F32, 7), 20)
}

func TestEqualityDeep(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	checkEquality(t, randomModel(t, model.Arch{Layers: 4, Hidden: 256, Heads: 8, KVHeads: 4, HeadDim: 32, FFN: 512}, quant.F32, 8), 20)
}

// With q8_0 weights the GPU equals the reference run on the same quantized numbers.
func TestEqualityQ8(t *testing.T) {
	checkEquality(t, randomModel(t, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192}, quant.Q8_0, 9), 10)
}

// An FFN size that is not a multiple of 32 (f16 weights: the down projection's rows are padded to
// whole tiles on the device) decodes as the reference does.
func TestEqualityFFNNotWholeBlocks(t *testing.T) {
	checkEquality(t, randomModel(t, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 100}, quant.F16, 10), 5)
}
