package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// ReleaseMask recomputes the release rule's block mask (seq.ReleaseMask) from the token ids of the
// whole sequence on the device, packed as MaskWords packs it for Attention. The decoding loop
// runs it after every selection under the release rule, since the mask follows the model input
// (MASK slots, a predicted EOA).
type ReleaseMask struct {
	p                       *vk.Pipeline
	shape                   groupShape
	boi, eoi, boa, eoa, pad int32
}

// releaseMaskPush is release_mask.comp's push_constant block.
type releaseMaskPush struct {
	N                       uint32
	BOI, EOI, BOA, EOA, Pad int32
}

// NewReleaseMask creates the pipeline on dev; t gives the BOI, EOI, BOA, EOA and PAD ids.
func NewReleaseMask(dev *vk.Device, t Tokens) (*ReleaseMask, error) {
	return newReleaseMask(dev, t, reductionShape(dev))
}

func newReleaseMask(dev *vk.Device, t Tokens, sh groupShape) (*ReleaseMask, error) {
	p, err := dev.Pipeline("release_mask", shaders.MustSPIRV("release_mask"), sh.spec(), 2, pushSize[releaseMaskPush](), sh.req)
	if err != nil {
		return nil, err
	}
	return &ReleaseMask{p: p, shape: sh, boi: t.BOI, eoi: t.EOI, boa: t.BOA, eoa: t.EOA, pad: t.Pad}, nil
}

// Record appends the mask of the n ids of ids ([n] int32: prefix then region input) into
// words ([n] int32, block<<2 | pad<<1 | bidir).
func (k *ReleaseMask) Record(s *vk.Sequence, ids, words vk.Binding, n int) error {
	const op = "release mask"
	if n <= 0 || n > MaxMaskBlock {
		return fmt.Errorf("%s: %d positions", op, n)
	}
	for _, e := range []error{needBytes(op, "ids", ids, 4*int64(n)), needBytes(op, "words", words, 4*int64(n))} {
		if e != nil {
			return e
		}
	}
	p := releaseMaskPush{N: uint32(n), BOI: k.boi, EOI: k.eoi, BOA: k.boa, EOA: k.eoa, Pad: k.pad}
	// One workgroup over the sequence: no work worth a rate.
	s.Dispatch(k.p, vk.Work{Label: "release_mask"}, 1, 1, 1, structBytes(&p), vk.R(ids), vk.W(words))
	return nil
}
