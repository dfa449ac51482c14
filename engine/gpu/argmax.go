package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// Argmax is greedy decoding over a decoding space (ref argmax): the id of the largest logit of
// each row, ties to the smaller id. Comparisons only, so exact on every device.
type Argmax struct {
	p *vk.Pipeline
}

// NewArgmax creates the pipeline on dev.
func NewArgmax(dev *vk.Device) (*Argmax, error) { return newArgmax(dev, reductionShape(dev)) }

func newArgmax(dev *vk.Device, sh groupShape) (*Argmax, error) {
	p, err := dev.Pipeline("argmax", shaders.MustSPIRV("argmax"), sh.spec(), 3, 16, sh.req)
	if err != nil {
		return nil, err
	}
	return &Argmax{p: p}, nil
}

// ArgmaxArgs are the operands of one argmax dispatch.
type ArgmaxArgs struct {
	Logits   vk.Binding // [NP][Stride] float32
	Stride   int        // floats between rows; 0 means NAllowed
	Allowed  vk.Binding // [NAllowed] int32, ascending
	Out      vk.Binding // int32: row i's token at OutOff+i
	OutOff   int
	NP       int
	NAllowed int
}

// Record appends the argmax of a.NP rows.
func (k *Argmax) Record(s *vk.Sequence, a ArgmaxArgs) error {
	const op = "argmax"
	if a.Stride == 0 {
		a.Stride = a.NAllowed
	}
	if a.NP <= 0 || a.NAllowed <= 0 || a.OutOff < 0 || int64(a.OutOff)+int64(a.NP) > math.MaxInt32 ||
		int64(a.NP)*int64(a.Stride) > math.MaxUint32 {
		return fmt.Errorf("%s: %d rows over %d ids (stride %d) into offset %d", op, a.NP, a.NAllowed, a.Stride, a.OutOff)
	}
	for _, e := range []error{
		needRows(op, "logits", a.Logits, a.NP, a.NAllowed, a.Stride),
		needBytes(op, "allowed", a.Allowed, 4*int64(a.NAllowed)),
		needBytes(op, "out", a.Out, 4*(int64(a.OutOff)+int64(a.NP))),
	} {
		if e != nil {
			return e
		}
	}
	var p Push
	p.U32(uint32(a.NP)).U32(uint32(a.NAllowed)).U32(uint32(a.Stride)).U32(uint32(a.OutOff))
	gx, gy := grid(a.NP, 1)
	s.Dispatch(k.p, gx, gy, 1, p.Bytes(), vk.R(a.Logits), vk.R(a.Allowed), vk.W(a.Out))
	return nil
}

// ArgmaxAR is one token of the greedy autoregressive baseline (ref GreedyARRestricted) at the region
// position StepParams.Position: a pre-filled position keeps its token, another takes the argmax
// of its logits; the token goes into the region state and into the ids buffer as the next forward
// pass's input. After the first EOA of the state it writes nothing, so positions after it stay
// MASK and a command buffer that runs past the end changes nothing.
type ArgmaxAR struct {
	p         *vk.Pipeline
	mask, eoa int32
}

// NewArgmaxAR creates the pipeline on dev; t gives the MASK and EOA ids.
func NewArgmaxAR(dev *vk.Device, t Tokens) (*ArgmaxAR, error) {
	return newArgmaxAR(dev, t, reductionShape(dev))
}

func newArgmaxAR(dev *vk.Device, t Tokens, sh groupShape) (*ArgmaxAR, error) {
	p, err := dev.Pipeline("argmax_ar", shaders.MustSPIRV("argmax_ar"), sh.spec(), 5, 20, sh.req)
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
	var p Push
	p.U32(uint32(a.N)).U32(uint32(a.NAllowed)).U32(uint32(a.IDsOff)).I32(k.mask).I32(k.eoa)
	s.Dispatch(k.p, 1, 1, 1, p.Bytes(), vk.R(a.Params), vk.R(a.Logits), vk.R(a.Allowed), vk.W(a.State), vk.W(a.IDs))
	return nil
}
