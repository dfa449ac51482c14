package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// ArgmaxAR is one token of the greedy autoregressive baseline (ref GreedyARRestricted) at the region
// position StepParams.Position: a pre-filled position keeps its token, another takes the argmax
// of its logits; the token goes into the region state and into the ids buffer as the next forward
// pass's input. After the first EOA of the state it writes nothing, so positions after it stay
// MASK and a command buffer that runs past the end changes nothing.
type ArgmaxAR struct {
	p         *vk.Pipeline
	mask, eoa int32
}

// argmaxARPush is argmax_ar.comp's push_constant block.
type argmaxARPush struct {
	N, NAllowed   uint32
	IDsOff        uint32 // ids index of region position 0
	MaskID, EOAID int32
}

// NewArgmaxAR creates the pipeline on dev; t gives the MASK and EOA ids.
func NewArgmaxAR(dev *vk.Device, t Tokens) (*ArgmaxAR, error) {
	return newArgmaxAR(dev, t, reductionShape(dev))
}

func newArgmaxAR(dev *vk.Device, t Tokens, sh groupShape) (*ArgmaxAR, error) {
	p, err := dev.Pipeline("argmax_ar", shaders.MustSPIRV("argmax_ar"), sh.spec(), 5, pushSize[argmaxARPush](), sh.req)
	if err != nil {
		return nil, err
	}
	return &ArgmaxAR{p: p, mask: t.Mask, eoa: t.EOA}, nil
}

// ArgmaxARArgs are the operands of one greedy-AR token.
type ArgmaxARArgs struct {
	Params  vk.Binding // StepParams: Position
	Logits  vk.Binding // [NAllowed] float32: the logits that predict region position Position
	Allowed vk.Binding // [NAllowed] int32, the position's decoding space, ascending
	State   vk.Binding // [N] int32: pre-filled tokens, MASK elsewhere; the token is written here
	IDs     vk.Binding // int32: the token is also written at IDsOff+Position
	IDsOff  int
	N       int
	// NAllowed is the size of the decoding space.
	NAllowed int
}

// Record appends one greedy-AR token.
func (k *ArgmaxAR) Record(s *vk.Sequence, a ArgmaxARArgs) error {
	const op = "argmax AR"
	if a.N <= 0 || a.NAllowed <= 0 || a.IDsOff < 0 || int64(a.IDsOff)+int64(a.N) > math.MaxInt32 {
		return fmt.Errorf("%s: region of %d over %d ids at ids offset %d", op, a.N, a.NAllowed, a.IDsOff)
	}
	for _, e := range []error{
		needBytes(op, "params", a.Params, StepParamsSize),
		needBytes(op, "logits", a.Logits, 4*int64(a.NAllowed)),
		needBytes(op, "allowed", a.Allowed, 4*int64(a.NAllowed)),
		needBytes(op, "state", a.State, 4*int64(a.N)),
		needBytes(op, "ids", a.IDs, 4*(int64(a.IDsOff)+int64(a.N))),
	} {
		if e != nil {
			return e
		}
	}
	p := argmaxARPush{N: uint32(a.N), NAllowed: uint32(a.NAllowed), IDsOff: uint32(a.IDsOff), MaskID: k.mask, EOAID: k.eoa}
	// One workgroup over one row of logits: no work worth a rate.
	s.Dispatch(k.p, vk.Work{Label: "argmax_ar"}, 1, 1, 1, structBytes(&p), vk.R(a.Params), vk.R(a.Logits), vk.R(a.Allowed), vk.W(a.State), vk.W(a.IDs))
	return nil
}
