package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// RegionInput writes the model input of a region state (ref modelInput): the state with MASK at
// every position after its first EOA. Select does this itself for the next step; RegionInput is
// for states set otherwise: the first step of a loop, and the switch of independent diffusion
// from the image loop to the action loop (copy Select's Out into the state, then RegionInput).
type RegionInput struct {
	p         *vk.Pipeline
	mask, eoa int32
}

// NewRegionInput creates the pipeline on dev; t gives the MASK and EOA ids.
func NewRegionInput(dev *vk.Device, t Tokens) (*RegionInput, error) {
	return newRegionInput(dev, t, reductionShape(dev))
}

func newRegionInput(dev *vk.Device, t Tokens, sh groupShape) (*RegionInput, error) {
	p, err := dev.Pipeline("region_input", shaders.MustSPIRV("region_input"), sh.spec()[:1], 2, 16, sh.req)
	if err != nil {
		return nil, err
	}
	return &RegionInput{p: p, mask: t.Mask, eoa: t.EOA}, nil
}

// Record appends ids[idsOff+j] = input of state ([n] int32) at j, j < n.
func (k *RegionInput) Record(s *vk.Sequence, state, ids vk.Binding, idsOff, n int) error {
	const op = "region input"
	if n <= 0 || idsOff < 0 || int64(idsOff)+int64(n) > math.MaxInt32 {
		return fmt.Errorf("%s: region of %d at ids offset %d", op, n, idsOff)
	}
	for _, e := range []error{needBytes(op, "state", state, 4*int64(n)), needBytes(op, "ids", ids, 4*(int64(idsOff)+int64(n)))} {
		if e != nil {
			return e
		}
	}
	var p Push
	p.U32(uint32(n)).U32(uint32(idsOff)).I32(k.mask).I32(k.eoa)
	s.Dispatch(k.p, 1, 1, 1, p.Bytes(), vk.R(state), vk.W(ids))
	return nil
}
