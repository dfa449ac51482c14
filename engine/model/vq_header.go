package model

import (
	"fmt"
	"strings"

	"github.com/udvla/udvla/engine/model/fb"
	"github.com/udvla/udvla/engine/quant"
)

// The VQ table of the header (schema/udvla.fbs), for the verifier.
var vqSpec = &tableSpec{"VQ", concat(
	scalars(4, "codebook_size", "embed_dim", "z_channels"),
	scalars(1, "double_z"),
	scalars(4, "in_channels", "out_channels", "temporal_downsample_factor", "ch"),
	[]fieldSpec{{name: "ch_mult", kind: kVector, size: 4}},
	scalars(4, "num_res_blocks"),
	[]fieldSpec{{name: "attn_resolutions", kind: kVector, size: 4}},
	scalars(8, "dropout"))}

// readVQ copies the VQ table. Its lists are read up to one past their limits, which then fails
// validation, so that a lying length allocates nothing.
func readVQ(q *fb.VQ) *VQConfig {
	c := &VQConfig{
		CodebookSize: int(q.CodebookSize()), EmbedDim: int(q.EmbedDim()), ZChannels: int(q.ZChannels()),
		DoubleZ: q.DoubleZ(), InChannels: int(q.InChannels()), OutChannels: int(q.OutChannels()),
		TemporalDownsampleFactor: int(q.TemporalDownsampleFactor()), Ch: int(q.Ch()),
		NumResBlocks: int(q.NumResBlocks()), Dropout: q.Dropout(),
	}
	for i := 0; i < q.ChMultLength() && i <= maxVQLevels; i++ {
		c.ChMult = append(c.ChMult, int(q.ChMult(i)))
	}
	for i := 0; i < q.AttnResolutionsLength() && i <= maxVQLevels; i++ {
		c.AttnResolutions = append(c.AttnResolutions, int(q.AttnResolutions(i)))
	}
	return c
}

// validateVQAlone checks a file without a language model: it holds the vision tokenizer and
// nothing that describes a language model.
func (c *Config) validateVQAlone() error {
	if c.Vocab != nil || c.Decoding != nil || c.Fast != nil || len(c.TextBPE) > 0 {
		return fmt.Errorf("config: a vocabulary layout, decoding defaults, FAST tokenizer or text vocabulary " +
			"describe a language model, and this file has no architecture")
	}
	return nil
}

// CheckVQDType refuses block-quantized storage for the vision tokenizer: its codes are an argmin
// over distances with near-ties, which quantization error would flip.
func CheckVQDType(dt quant.DType) error {
	if dt != quant.F32 && dt != quant.F16 {
		return fmt.Errorf("the vision tokenizer is stored as f32 or f16, not %v", dt)
	}
	return nil
}

// isVQTensor tells the vision tokenizer's tensors from the language model's by their checkpoint
// prefixes, which no language-model tensor name has.
func isVQTensor(name string) bool {
	for _, p := range []string{"encoder.", "decoder.", "quantize.", "quant_conv.", "post_quant_conv."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
