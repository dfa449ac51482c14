package build

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/fb"
)

func intsToInt32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func buildVQ(b *flatbuffers.Builder, c *model.VQConfig) flatbuffers.UOffsetT {
	mult := int32Vector(b, intsToInt32(c.ChMult))
	attn := int32Vector(b, intsToInt32(c.AttnResolutions))
	fb.VQStart(b)
	fb.VQAddCodebookSize(b, int32(c.CodebookSize))
	fb.VQAddEmbedDim(b, int32(c.EmbedDim))
	fb.VQAddZChannels(b, int32(c.ZChannels))
	if c.DoubleZ {
		fb.VQAddDoubleZ(b, true)
	}
	fb.VQAddInChannels(b, int32(c.InChannels))
	fb.VQAddOutChannels(b, int32(c.OutChannels))
	fb.VQAddTemporalDownsampleFactor(b, int32(c.TemporalDownsampleFactor))
	fb.VQAddCh(b, int32(c.Ch))
	fb.VQAddChMult(b, mult)
	fb.VQAddNumResBlocks(b, int32(c.NumResBlocks))
	fb.VQAddAttnResolutions(b, attn)
	fb.VQAddDropout(b, c.Dropout)
	return fb.VQEnd(b)
}
