package model

import (
	"fmt"
	"math"
)

// VQConfig is the Emu3 vision tokenizer (Emu3VisionVQ, spec §7): the fields of its config.json.
// The tensors keep the checkpoint's names (VQTensors). DoubleZ and Dropout are recorded as the
// checkpoint states them; a model with DoubleZ cannot run (quant_conv takes z_channels inputs)
// and is refused, and dropout is inactive in evaluation.
type VQConfig struct {
	CodebookSize             int
	EmbedDim                 int
	ZChannels                int
	DoubleZ                  bool
	InChannels               int
	OutChannels              int
	TemporalDownsampleFactor int
	Ch                       int
	ChMult                   []int
	NumResBlocks             int
	AttnResolutions          []int // level indices (not pixel sizes)
	Dropout                  float64
}

// Limits of a VQ configuration: far above the real one (ch 256, ch_mult 1,2,2,4, codebook 32768),
// small enough that a lying header cannot make the loader enumerate without bound.
const (
	maxVQLevels     = 8
	maxVQChannels   = 1 << 13
	maxVQCodebook   = 1 << 20
	maxVQEmbed      = 1 << 10
	maxVQResBlocks  = 16
	maxVQTemporal   = 64
	maxVQImageChans = 16
	vqGroups        = 32 // GroupNorm groups of every 2-D norm
)

// EmuVQConfig is the released Emu3 vision tokenizer's configuration (the class defaults).
func EmuVQConfig() *VQConfig {
	return &VQConfig{CodebookSize: 32768, EmbedDim: 4, ZChannels: 4, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: 4, Ch: 256, ChMult: []int{1, 2, 2, 4}, NumResBlocks: 2, AttnResolutions: []int{3}}
}

// Validate checks the relations the modules rely on.
func (c *VQConfig) Validate() error {
	switch {
	case c.CodebookSize <= 0 || c.CodebookSize > maxVQCodebook:
		return fmt.Errorf("vq: codebook size %d outside [1, %d]", c.CodebookSize, maxVQCodebook)
	case c.EmbedDim <= 0 || c.EmbedDim > maxVQEmbed:
		return fmt.Errorf("vq: embed dim %d outside [1, %d]", c.EmbedDim, maxVQEmbed)
	case c.ZChannels != c.EmbedDim:
		// The decoder concatenates the latents and the code vectors along the batch.
		return fmt.Errorf("vq: z_channels %d must equal embed_dim %d", c.ZChannels, c.EmbedDim)
	case c.DoubleZ:
		return fmt.Errorf("vq: double_z is set: the encoder would give 2*z_channels to a quant_conv of z_channels")
	case c.InChannels <= 0 || c.InChannels > maxVQImageChans || c.OutChannels <= 0 || c.OutChannels > maxVQImageChans:
		return fmt.Errorf("vq: in/out channels %d/%d outside [1, %d]", c.InChannels, c.OutChannels, maxVQImageChans)
	case c.TemporalDownsampleFactor <= 0 || c.TemporalDownsampleFactor > maxVQTemporal ||
		c.TemporalDownsampleFactor&(c.TemporalDownsampleFactor-1) != 0:
		return fmt.Errorf("vq: temporal downsample factor %d is not a power of 2 in [1, %d]", c.TemporalDownsampleFactor, maxVQTemporal)
	case len(c.ChMult) == 0 || len(c.ChMult) > maxVQLevels:
		return fmt.Errorf("vq: %d levels in ch_mult, want 1 to %d", len(c.ChMult), maxVQLevels)
	case c.NumResBlocks <= 0 || c.NumResBlocks > maxVQResBlocks:
		return fmt.Errorf("vq: num_res_blocks %d outside [1, %d]", c.NumResBlocks, maxVQResBlocks)
	case math.IsNaN(c.Dropout) || c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("vq: dropout %g outside [0, 1)", c.Dropout)
	case c.Ch <= 0:
		return fmt.Errorf("vq: ch %d must be positive", c.Ch)
	}
	for i, m := range c.ChMult {
		n := c.Ch * m
		if m <= 0 || m > maxVQChannels || n > maxVQChannels || n%vqGroups != 0 {
			return fmt.Errorf("vq: level %d has ch*ch_mult = %d*%d channels: want a positive multiple of %d up to %d (GroupNorm)",
				i, c.Ch, m, vqGroups, maxVQChannels)
		}
	}
	if c.Ch%vqGroups != 0 {
		return fmt.Errorf("vq: ch %d is not a multiple of %d (GroupNorm)", c.Ch, vqGroups)
	}
	seen := map[int]bool{}
	for _, l := range c.AttnResolutions {
		if l < 0 || l >= len(c.ChMult) || seen[l] {
			return fmt.Errorf("vq: attn_resolutions %v: level indices must be distinct and in [0, %d)", c.AttnResolutions, len(c.ChMult))
		}
		seen[l] = true
	}
	return nil
}

// HasAttn reports whether level i has attention blocks.
func (c *VQConfig) HasAttn(level int) bool {
	for _, l := range c.AttnResolutions {
		if l == level {
			return true
		}
	}
	return false
}

// TemporalBlocks is the number of temporal down- (encoder) and up-sampling (decoder) convolutions.
func (c *VQConfig) TemporalBlocks() int {
	n := 0
	for f := c.TemporalDownsampleFactor; f > 1; f >>= 1 {
		n++
	}
	return n
}

// SpatialFactor is how many pixels one code covers along each side.
func (c *VQConfig) SpatialFactor() int { return 1 << (len(c.ChMult) - 1) }

// TinyVQConfig is the vision tokenizer of testdata/tiny_vq.udvla: the real topology (two spatial
// levels with a stride-2 downsample, attention at the last level and in the mid block, the
// temporal factor 4 with its two causal time convolutions and the temporal res stacks, SpatialNorm
// decoder) at 32 channels, one res block per level and a codebook of 256 codes of 4.
func TinyVQConfig() *VQConfig {
	return &VQConfig{CodebookSize: 256, EmbedDim: 4, ZChannels: 4, InChannels: 3, OutChannels: 3,
		TemporalDownsampleFactor: 4, Ch: 32, ChMult: []int{1, 1}, NumResBlocks: 1, AttnResolutions: []int{1}}
}
