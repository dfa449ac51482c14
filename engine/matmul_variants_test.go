package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
)

// TestLogitsMatmulVariants opens the engine with UDVLA_KERNELS=matmul=<variant>, as a user sets
// it, and compares its logits over 70 tokens (the many-token path) with the reference's, on a
// random model with q8_0 matrices (the int8 path's weights). The
// shared-memory SIMT tile keeps fp32 throughout, so it is held to the default kernels' limit; the
// emulated fragment tile rounds weights and activations to fp16, and the int8 path quantizes
// activations per block, through every layer of the model.
func TestLogitsMatmulVariants(t *testing.T) {
	q8 := randomModel(t, model.Arch{Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, FFN: 192}, quant.Q8_0, 41)
	for _, c := range []struct {
		variant string
		limit   float64
	}{{"tiled", 1e-5}, {"tiled-emu", 4e-3}, {"int8-emu", 4e-2}} {
		t.Run(c.variant, func(t *testing.T) {
			t.Setenv("UDVLA_KERNELS", "matmul="+c.variant)
			g, ref := openPair(t, q8)
			r := rand.New(rand.NewPCG(5, 6))
			ids := make([]int32, 70)
			for i := range ids {
				ids[i] = r.Int32N(int32(g.Config().Arch.Vocab))
			}
			got, err := g.Logits(ids, model.MaskCausal)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Logits(ids, model.MaskCausal)
			if err != nil {
				t.Fatal(err)
			}
			diff, scale := maxLogitDiff(got, want)
			t.Logf("%s: max |vulkan - reference| = %.3g of max |logit| %.3g", c.variant, diff/scale, scale)
			if !(diff <= c.limit*scale) {
				t.Errorf("%s: max |vulkan - reference| = %g of max |logit| %g, over %g", c.variant, diff, scale, c.limit)
			}
		})
	}
}

// maxLogitDiff is max|got - want| and max|want|.
func maxLogitDiff(got, want []float32) (diff, scale float64) {
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
	}
	return diff, scale
}
