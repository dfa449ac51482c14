package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// The action loop of independent diffusion (tau held at 0, the slots after the state's first EOA
// frozen): the device equals ref.StepSelectRule exactly on given c values, and on computed ones up
// to near-ties; frozen slots keep their state, MASK included.
func TestSelectRuleMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	r := rand.New(rand.NewPCG(51, 52))
	rule := ref.LoopRule{TauZero: true, FreezeAfterEOA: true}
	cases := []selectCase{
		{n: 44, a0: 36, a1: 44, steps: 9, s: 2, seed: 21, known: 20, eoa: true, confPurpose: 3},
		{n: 817, a0: 747, a1: 817, steps: 28, s: 5, seed: 22, known: 30, eoa: true, confPurpose: 3},
		{n: 817, a0: 747, a1: 817, steps: 28, s: 27, seed: 23, known: 60, eoa: true, tiedC: true, confPurpose: 3},
		{n: 101, a0: 0, a1: 101, steps: 5, s: 0, seed: 24, known: 10, eoa: true, confPurpose: 3},
	}
	near, decided := 0, 0
	for _, k := range selectKernels(t, dev, v) {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%v/N%d_loop%d-%d_s%d", k.shape, c.n, c.a0, c.a1, c.s), func(t *testing.T) {
				state, sampled, conf := selectInputs(r, v, c)
				// An EOA a third into the loop with MASK slots after it, whatever was drawn.
				e := c.a0 + (c.a1-c.a0)/3
				for j := c.a0; j < e; j++ {
					if state[j] == v.EOA {
						state[j] = v.Mask
					}
				}
				state[e], state[e+1] = v.EOA, v.Mask
				p, err := LoopParams(c.seed, c.s, c.steps, c.a0, c.a1, 0, c.confPurpose)
				if err != nil {
					t.Fatal(err)
				}
				p = p.WithRule(rule)
				pos := loopPositions(c.a0, c.a1)
				given := make([]float32, c.n)
				for j := range given {
					given[j] = float32(r.IntN(40)) / 4
				}
				got := runSelect(t, dev, k, p, state, sampled, conf, given)
				want, err := ref.StepSelectRule(state, pos, sampled[c.a0:c.a1], f64s(conf[c.a0:c.a1]), v, c.seed, c.s, c.steps,
					c.confPurpose, f64s(given[c.a0:c.a1]), rule)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.state, want.State) || !slices.Equal(got.out, want.Out) || !slices.Equal(got.ids, want.Input) {
					t.Fatalf("given c: state differs at %d positions (mask_len %d, unknown %d)", diffCount(got.state, want.State), want.MaskLen, want.Unknown)
				}

				got = runSelect(t, dev, k, p, state, sampled, conf, nil)
				want, err = ref.StepSelectRule(state, pos, sampled[c.a0:c.a1], f64s(conf[c.a0:c.a1]), v, c.seed, c.s, c.steps, c.confPurpose, nil, rule)
				if err != nil {
					t.Fatal(err)
				}
				for i, j := range pos {
					if e := math.Abs(float64(got.c[j])-want.C[i]) / math.Max(1, math.Abs(want.C[i])); !(e <= cTol) {
						t.Fatalf("position %d: c %v, want %v", j, got.c[j], want.C[i])
					}
				}
				// With computed c a frozen slot holds the largest c: it is never re-masked.
				for j := e + 1; j < c.a1; j++ {
					if got.state[j] != state[j] || got.out[j] != state[j] {
						t.Fatalf("frozen slot %d: state %d out %d, was %d", j, got.state[j], got.out[j], state[j])
					}
				}
				margins := ref.MaskMargins(want.C, want.MaskLen)
				for i, j := range pos {
					decided++
					if got.state[j] != want.State[j] {
						if margins[i] >= maskTieMargin {
							t.Fatalf("position %d: state %d, want %d (margin %.3g)", j, got.state[j], want.State[j], margins[i])
						}
						near++
					}
				}
			})
		}
	}
	if near > max(1, decided/1000) {
		t.Fatalf("%d near-tie differences in %d decisions", near, decided)
	}
}
