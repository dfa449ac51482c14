package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// Sample is the Gumbel-max sampling of one denoising step over a run of positions of one decoding
// space (ref gumbelMax, spec §5 steps 4-6): the token of each unknown position and its softmax
// probability, known positions passed through with confidence +max float.
type Sample struct {
	p    *vk.Pipeline
	mask int32
}

// samplePush is sample.comp's push_constant block.
type samplePush struct {
	P0, NP   uint32 // the run of region positions
	NAllowed uint32 // ids of the decoding space
	Stride   uint32 // floats between logit rows
	MaskID   int32
}

// NewSample creates the pipeline on dev; t gives the MASK id.
func NewSample(dev *vk.Device, t Tokens) (*Sample, error) {
	return newSample(dev, t, reductionShape(dev))
}

func newSample(dev *vk.Device, t Tokens, sh groupShape) (*Sample, error) {
	p, err := dev.Pipeline("sample", shaders.MustSPIRV("sample"), sh.spec(), 6, pushSize[samplePush](), sh.req)
	if err != nil {
		return nil, err
	}
	return &Sample{p: p, mask: t.Mask}, nil
}

// SampleArgs are the operands of one sampling dispatch.
type SampleArgs struct {
	Params vk.Binding // StepParams: Seed, Step, SamplePurpose
	// Logits [NP][Stride] float32: row i holds the logits (shifted: of position P0+i-1 of the
	// sequence's region part) that predict region position P0+i, over the NAllowed ids of Allowed.
	Logits  vk.Binding
	Stride  int        // floats between rows; 0 means NAllowed
	Allowed vk.Binding // [NAllowed] int32, the decoding space's ids in ascending order
	State   vk.Binding // g [N] int32: a position is sampled only when it holds MASK
	Sampled vk.Binding // [N] int32: positions [P0, P0+NP) written
	Conf    vk.Binding // [N] float32: positions [P0, P0+NP) written
	N       int
	P0, NP  int
	// NAllowed is the size of the decoding space.
	NAllowed int
}

// Record appends the sampling of region positions [a.P0, a.P0+a.NP).
func (k *Sample) Record(s *vk.Sequence, a SampleArgs) error {
	const op = "sample"
	if a.Stride == 0 {
		a.Stride = a.NAllowed
	}
	if a.NP <= 0 || a.P0 < 0 || a.P0+a.NP > a.N || a.NAllowed <= 0 || a.N > math.MaxInt32 ||
		int64(a.NP)*int64(a.Stride) > math.MaxUint32 {
		return fmt.Errorf("%s: run [%d, +%d) of a %d-position region over %d ids (stride %d)", op, a.P0, a.NP, a.N, a.NAllowed, a.Stride)
	}
	for _, e := range []error{
		needBytes(op, "params", a.Params, StepParamsSize),
		needRows(op, "logits", a.Logits, a.NP, a.NAllowed, a.Stride),
		needBytes(op, "allowed", a.Allowed, 4*int64(a.NAllowed)),
		needBytes(op, "state", a.State, 4*int64(a.N)),
		needBytes(op, "sampled", a.Sampled, 4*int64(a.N)),
		needBytes(op, "conf", a.Conf, 4*int64(a.N)),
	} {
		if e != nil {
			return e
		}
	}
	p := samplePush{P0: uint32(a.P0), NP: uint32(a.NP), NAllowed: uint32(a.NAllowed), Stride: uint32(a.Stride), MaskID: k.mask}
	// The NP rows of restricted logits read; FLOPs not counted (sampling is exp, log and Philox).
	work := vk.Work{Label: "sample", Bytes: 4 * float64(a.NP) * float64(a.NAllowed)}
	gx, gy := grid(a.NP, 1)
	s.Dispatch(k.p, work, gx, gy, 1, structBytes(&p), vk.R(a.Params), vk.R(a.Logits), vk.R(a.Allowed), vk.R(a.State),
		vk.W(a.Sampled), vk.W(a.Conf))
	return nil
}
