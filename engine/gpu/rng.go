package gpu

import (
	"encoding/binary"
	"fmt"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// RNG evaluates the engine's random numbers (docs/RNG.md, shaders/include/philox.glsl) for a list
// of counters: the check that the device draws what engine/ref draws.
type RNG struct {
	p     *vk.Pipeline
	local int
}

// RNGCounter is one draw: key and counter words.
type RNGCounter struct {
	Seed                  uint64
	Step, Position, Index uint32
	Purpose               uint32
}

// RNGCounterSize and RNGDrawSize are the byte sizes of one encoded counter (6 words) and of one
// result (x, u bits, G bits).
const (
	RNGCounterSize = 24
	RNGDrawSize    = 12
)

// EncodeRNGCounters lays counters out as the shader reads them.
func EncodeRNGCounters(cs []RNGCounter) []byte {
	b := make([]byte, RNGCounterSize*len(cs))
	for i, c := range cs {
		for k, w := range [6]uint32{uint32(c.Seed), uint32(c.Seed >> 32), c.Step, c.Position, c.Index, c.Purpose} {
			binary.LittleEndian.PutUint32(b[RNGCounterSize*i+4*k:], w)
		}
	}
	return b
}

// NewRNG creates the pipeline on dev.
func NewRNG(dev *vk.Device) (*RNG, error) {
	const local = 64
	p, err := dev.Pipeline("rng", shaders.MustSPIRV("rng"), []uint32{local}, 2, 8, 0)
	if err != nil {
		return nil, err
	}
	return &RNG{p: p, local: local}, nil
}

// Record appends the draws of n counters (in: n encoded RNGCounters) into out (n results). With
// words, the first word of each counter (the low seed word) is taken as the Philox output x
// itself, to check the uniform and Gumbel maps at chosen words.
func (k *RNG) Record(s *vk.Sequence, in, out vk.Binding, n int, words bool) error {
	const op = "rng"
	if n <= 0 || n > 1<<26 {
		return fmt.Errorf("%s: %d counters", op, n)
	}
	for _, e := range []error{needBytes(op, "counters", in, RNGCounterSize*int64(n)), needBytes(op, "draws", out, RNGDrawSize*int64(n))} {
		if e != nil {
			return e
		}
	}
	var p Push
	p.U32(uint32(n))
	if words {
		p.U32(1)
	} else {
		p.U32(0)
	}
	gx, gy := grid(n, k.local)
	s.Dispatch(k.p, gx, gy, 1, p.Bytes(), vk.R(in), vk.W(out))
	return nil
}
