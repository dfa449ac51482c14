package ref

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
)

// KVCache holds the rotated keys and the values of already-processed tokens, per layer, as
// [Len(), KVHeads*HeadDim] row-major, with their absolute positions. A forward pass with a cache
// attends [cached ; current] and may append the current tokens afterwards.
type KVCache struct {
	K, V [][]float32 // per layer
	Pos  []int32
	arch model.Arch
}

// NewKVCache returns an empty cache for a model of the given architecture.
func NewKVCache(arch model.Arch) *KVCache {
	return &KVCache{K: make([][]float32, arch.Layers), V: make([][]float32, arch.Layers), arch: arch}
}

// Len is the number of cached tokens.
func (c *KVCache) Len() int { return len(c.Pos) }

// Reset empties the cache, keeping its arrays for reuse.
func (c *KVCache) Reset() {
	for l := range c.K {
		c.K[l], c.V[l] = c.K[l][:0], c.V[l][:0]
	}
	c.Pos = c.Pos[:0]
}

func (c *KVCache) check(arch model.Arch) error {
	if c.arch != arch || len(c.K) != arch.Layers || len(c.V) != arch.Layers {
		return fmt.Errorf("kv cache: built for another architecture")
	}
	kw := arch.KVHeads * arch.HeadDim
	for l := range c.K {
		if len(c.K[l]) != len(c.Pos)*kw || len(c.V[l]) != len(c.Pos)*kw {
			return fmt.Errorf("kv cache: layer %d holds %d/%d values for %d tokens", l, len(c.K[l]), len(c.V[l]), len(c.Pos))
		}
	}
	return nil
}
