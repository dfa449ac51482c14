package gpu

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// Select is the selection half of one denoising step (spec §5 steps 6-10, ref jd3p.go): the
// confidences c = log p + tau·G of the loop's positions, the re-masking of the mask_len lowest by
// the release's cutoff rule, the new state, the step's output tokens and the next model input.
// One workgroup holds the loop's c values in shared memory, so a loop covers at most
// MaxPositions positions.
type Select struct {
	p, given  *vk.Pipeline
	shape     groupShape
	nmax      int
	mask, eoa int32
}

// maxSelectPositions caps the shared c array: a few thousand positions is the largest region of
// the supported robots (CALVIN 817, Bridge about 1100).
const maxSelectPositions = 8192

// selectPush is select.comp's push_constant block.
type selectPush struct {
	N, IDsOff     uint32
	MaskID, EOAID int32
}

// NewSelect creates the pipelines on dev; t gives the MASK and EOA ids.
func NewSelect(dev *vk.Device, t Tokens) (*Select, error) {
	// On a CPU device one subgroup does everything (its barriers are free); elsewhere up to 1024
	// invocations, so that a CALVIN region is one position per invocation.
	sh := groupShape{local: min(1024, max(dev.Info.MaxWorkgroupInvoc, 1), max(dev.Info.MaxWorkgroupSize[0], 1))}
	if dev.Info.Type == vk.TypeCPU && dev.Info.SubgroupSize > 0 {
		sh = groupShape{dev.Info.SubgroupSize, true, dev.Info.SubgroupSize}
	}
	return newSelect(dev, t, sh)
}

func newSelect(dev *vk.Device, t Tokens, sh groupShape) (*Select, error) {
	local, req := sh.local, sh.req
	nmax := min(maxSelectPositions, (dev.Info.MaxSharedMemory-64)/4/64*64)
	if nmax < 64 {
		return nil, fmt.Errorf("select: %d bytes of shared memory are too few", dev.Info.MaxSharedMemory)
	}
	k := &Select{shape: sh, nmax: nmax, mask: t.Mask, eoa: t.EOA}
	for _, given := range []uint32{0, 1} {
		p, err := dev.Pipeline("select", shaders.MustSPIRV("select"), []uint32{uint32(local), uint32(nmax), given}, 7, pushSize[selectPush](), req)
		if err != nil {
			return nil, err
		}
		if given == 1 {
			k.given = p
		} else {
			k.p = p
		}
	}
	return k, nil
}

// MaxPositions is the largest loop (A1 - A0) the device's shared memory holds.
func (k *Select) MaxPositions() int { return k.nmax }

// SelectArgs are the operands of one selection dispatch. Every per-position buffer is indexed by
// region position j < N.
type SelectArgs struct {
	Params  vk.Binding // StepParams: Seed, Step, ConfPurpose, Tau, MaskBase, A0, A1
	State   vk.Binding // g [N] int32, read and updated in place
	Sampled vk.Binding // [N] int32, the sampler's tokens (read at unknown positions of the loop)
	Conf    vk.Binding // [N] float32, the sampler's confidences (same)
	// C [N] float32 receives c of the loop's positions; with GivenC it supplies them instead
	// (a test of the selection on exactly given c values).
	C   vk.Binding
	Out vk.Binding // [N] int32: the step's tokens in the loop, g elsewhere
	// IDs receives the next model input at [IDsOff, IDsOff+N): g with MASK after its first EOA.
	IDs    vk.Binding
	IDsOff int
	N      int
	GivenC bool
}

// Record appends one selection. The loop range comes from the params buffer, which the host must
// have checked (StepParams.Check(N), and A1-A0 <= MaxPositions); the shader clamps a bad range
// to the buffers rather than reading outside them.
func (k *Select) Record(s *vk.Sequence, a SelectArgs) error {
	const op = "select"
	if a.N <= 0 || a.IDsOff < 0 || int64(a.IDsOff)+int64(a.N) > math.MaxInt32 {
		return fmt.Errorf("%s: region of %d at ids offset %d", op, a.N, a.IDsOff)
	}
	n4 := 4 * int64(a.N)
	for _, e := range []error{
		needBytes(op, "params", a.Params, StepParamsSize),
		needBytes(op, "state", a.State, n4), needBytes(op, "sampled", a.Sampled, n4),
		needBytes(op, "conf", a.Conf, n4), needBytes(op, "c", a.C, n4), needBytes(op, "out", a.Out, n4),
		needBytes(op, "ids", a.IDs, 4*(int64(a.IDsOff)+int64(a.N))),
	} {
		if e != nil {
			return e
		}
	}
	p := k.p
	if a.GivenC {
		p = k.given
	}
	pc := selectPush{N: uint32(a.N), IDsOff: uint32(a.IDsOff), MaskID: k.mask, EOAID: k.eoa}
	// One workgroup over the loop's positions: no work worth a rate.
	s.Dispatch(p, vk.Work{Label: "select"}, 1, 1, 1, structBytes(&pc), vk.R(a.Params), vk.W(a.State), vk.R(a.Sampled), vk.R(a.Conf),
		vk.W(a.C), vk.W(a.Out), vk.W(a.IDs))
	return nil
}
