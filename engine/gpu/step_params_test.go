package gpu

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/udvla/udvla/engine/ref"
)

// The shaders clamp MaskBase as max(1, min(unknown-1, base)): that must be ref.MaskLen for every
// loop size, schedule step and unknown count (the cases where n·cos(π/2·r) is an exact integer
// included: n = 70, T = 72, s = 47).
func TestMaskLenBaseMatchesReference(t *testing.T) {
	for _, steps := range []int{1, 2, 5, 72, 96} {
		for _, n := range []int{1, 2, 7, 33, 70, 747, 817, 1100} {
			for s := range steps {
				base := ref.MaskLenBase(n, s, steps)
				for _, unknown := range []int{0, 1, 2, n / 3, n - 1, n} {
					got := max(1, min(unknown-1, base))
					if want := ref.MaskLen(n, s, steps, unknown); got != want {
						t.Fatalf("n=%d s=%d T=%d unknown=%d: %d, want %d", n, s, steps, unknown, got, want)
					}
				}
			}
		}
	}
}

// The encoding is the word layout of step_params.glsl, and LoopParams takes tau and the mask_len
// base from the reference's schedule.
func TestStepParamsEncoding(t *testing.T) {
	p, err := LoopParams(0x0123456789abcdef, 5, 72, 747, 817, ref.PurposeActionSample, ref.PurposeActionConfidence)
	if err != nil {
		t.Fatal(err)
	}
	p.Position = 33
	if p.Tau != float32(ref.TauAfter(5, 72)) || p.MaskBase != ref.MaskLenBase(70, 5, 72) {
		t.Fatalf("tau %v base %d", p.Tau, p.MaskBase)
	}
	b := smpParamBytes(p)
	if len(b) != StepParamsSize {
		t.Fatalf("%d bytes", len(b))
	}
	want := []uint32{0x89abcdef, 0x01234567, 5, 2, 3, math.Float32bits(p.Tau), uint32(p.MaskBase), 747, 817, 33, 0, 0, 0, 0, 0, 0}
	for i, w := range want {
		if got := binary.LittleEndian.Uint32(b[4*i:]); got != w {
			t.Fatalf("word %d = %#x, want %#x", i, got, w)
		}
	}
	neg := StepParams{MaskBase: -3}
	if got := int32(binary.LittleEndian.Uint32(smpParamBytes(neg)[24:])); got != -3 {
		t.Fatalf("negative base encoded as %d", got)
	}
	if err := p.Put(make([]byte, StepParamsSize-1)); err == nil {
		t.Fatal("short destination accepted")
	}
}

func TestStepParamsRejectsBadValues(t *testing.T) {
	for i, f := range []func() error{
		func() error { _, err := LoopParams(1, 72, 72, 0, 10, 0, 1); return err },
		func() error { _, err := LoopParams(1, -1, 72, 0, 10, 0, 1); return err },
		func() error { _, err := LoopParams(1, 0, 0, 0, 10, 0, 1); return err },
		func() error { _, err := LoopParams(1, 0, 72, 5, 5, 0, 1); return err },
		func() error { _, err := LoopParams(1, 0, 72, -1, 5, 0, 1); return err },
		func() error { p := StepParams{A0: 0, A1: 11}; return p.Check(10) },
		func() error { p := StepParams{A1: 10, Step: -1}; return p.Check(10) },
		func() error { p := StepParams{A1: 10, Position: -2}; return p.Check(10) },
		func() error { p := StepParams{A1: 10, Tau: float32(math.NaN())}; return p.Check(10) },
		func() error { p := StepParams{A1: 10, MaskBase: math.MaxInt32 + 1}; return p.Check(10) },
	} {
		if f() == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	p, err := LoopParams(1, 3, 72, 0, 817, 0, 1)
	if err != nil || p.Check(817) != nil {
		t.Fatalf("valid parameters rejected: %v %v", err, p.Check(817))
	}
}
