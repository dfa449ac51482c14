package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/ref"
)

// StepParamsSize is the byte size of one encoded StepParams (shaders/include/step_params.glsl).
// An array of them, one per step, can be bound entry by entry at offsets that are multiples of
// max(StepParamsSize, the device's MinStorageAlign).
const StepParamsSize = 64 // the size of stepParamsRecord

// StepParams are the parameters of one decoding step that change from step to step and from
// request to request. The host writes them into a small device buffer before each submission
// (Put), so that one recorded command buffer is replayed for every step and every seed. The
// sampling, selection and greedy-AR shaders read them at binding 0.
type StepParams struct {
	Seed          uint64  // Philox key (docs/RNG.md)
	Step          int     // denoising step s of the loop, 0-based
	SamplePurpose uint32  // ref.PurposeSample, or ref.PurposeActionSample in the action loop
	ConfPurpose   uint32  // ref.PurposeConfidence, or ref.PurposeActionConfidence
	Tau           float32 // confidence-noise temperature of this step: ref.TauAfter(s, T)
	MaskBase      int     // ref.MaskLenBase(A1-A0, s, T), float32 as the release; the shader clamps it
	A0, A1        int     // the loop's region positions [A0, A1)
	Position      int     // greedy AR: the region position this pass generates
	// FreezeAfterEOA makes the loop positions after the state's first EOA known to the selection
	// (ref.LoopRule): the action loop of independent diffusion.
	FreezeAfterEOA bool
}

// LoopParams are the parameters of step s of a T-step denoising loop over the region positions
// [a0, a1): the joint JD3P loop (a0 = 0, a1 = N, purposes ref.PurposeSample and
// ref.PurposeConfidence) or one loop of independent diffusion.
func LoopParams(seed uint64, s, steps, a0, a1 int, sample, confidence uint32) (StepParams, error) {
	if steps < 1 || s < 0 || s >= steps {
		return StepParams{}, fmt.Errorf("step params: step %d of %d", s, steps)
	}
	if a0 < 0 || a1 <= a0 {
		return StepParams{}, fmt.Errorf("step params: empty or negative range [%d, %d)", a0, a1)
	}
	return StepParams{
		Seed: seed, Step: s, SamplePurpose: sample, ConfPurpose: confidence,
		Tau: float32(ref.TauAfter(s, steps)), MaskBase: ref.MaskLenBase(a1-a0, s, steps), A0: a0, A1: a1,
	}, nil
}

// WithRule applies a loop rule to the parameters of one of its steps: tau held at 0, the slots
// after the first EOA frozen.
func (p StepParams) WithRule(rule ref.LoopRule) StepParams {
	if rule.TauZero {
		p.Tau = 0
	}
	p.FreezeAfterEOA = rule.FreezeAfterEOA
	return p
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// ARParams are the parameters of the greedy-AR pass that generates region position j.
func ARParams(j int) StepParams { return StepParams{Position: j} }

// Check reports parameters that do not fit a region of n positions or the encoding.
func (p *StepParams) Check(n int) error {
	switch {
	case p.Step < 0 || p.Step > math.MaxUint32:
		return fmt.Errorf("step params: step %d out of range", p.Step)
	case p.MaskBase < math.MinInt32 || p.MaskBase > math.MaxInt32:
		return fmt.Errorf("step params: mask_len base %d out of range", p.MaskBase)
	case p.A0 < 0 || p.A1 < p.A0 || p.A1 > n:
		return fmt.Errorf("step params: range [%d, %d) is not inside the region of %d", p.A0, p.A1, n)
	case p.Position < 0 || p.Position > math.MaxUint32:
		return fmt.Errorf("step params: AR position %d out of range", p.Position)
	case math.IsNaN(float64(p.Tau)) || math.IsInf(float64(p.Tau), 0):
		return fmt.Errorf("step params: tau %g", p.Tau)
	}
	return nil
}

// stepParamsRecord is the StepParamsBuffer block of shaders/include/step_params.glsl.
type stepParamsRecord struct {
	SeedLo, SeedHi uint32 // the Philox key
	Step           uint32
	SamplePurpose  uint32
	ConfPurpose    uint32
	Tau            float32
	MaskBase       int32
	A0, A1         uint32
	Position       uint32
	FreezeAfterEOA uint32
	Reserved       [5]uint32
}

// Put encodes the parameters into b[:StepParamsSize] (the layout of step_params.glsl; the
// reserved words are zero).
func (p *StepParams) Put(b []byte) error {
	if len(b) < StepParamsSize {
		return fmt.Errorf("step params: %d-byte destination, need %d", len(b), StepParamsSize)
	}
	r := stepParamsRecord{SeedLo: uint32(p.Seed), SeedHi: uint32(p.Seed >> 32), Step: uint32(p.Step),
		SamplePurpose: p.SamplePurpose, ConfPurpose: p.ConfPurpose, Tau: p.Tau, MaskBase: int32(p.MaskBase),
		A0: uint32(p.A0), A1: uint32(p.A1), Position: uint32(p.Position), FreezeAfterEOA: b2u(p.FreezeAfterEOA)}
	copy(b, structBytes(&r))
	return nil
}
