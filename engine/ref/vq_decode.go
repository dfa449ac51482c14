package ref

import (
	"fmt"
	"math"
)

// codeMap looks the codes (row-major gh x gw) up in the codebook: the quantized latent
// [embed, gh, gw].
func (m *VQ) codeMap(codes []int32, gh, gw int) (Map, error) {
	c := m.Cfg
	if gh <= 0 || gw <= 0 || len(codes) != gh*gw {
		return Map{}, fmt.Errorf("vq decode: %d codes for a %dx%d grid", len(codes), gw, gh)
	}
	book := m.w["quantize.embedding.weight"]
	q := NewMap(c.EmbedDim, gh, gw)
	n := gh * gw
	for i, k := range codes {
		if k < 0 || int(k) >= c.CodebookSize {
			return Map{}, fmt.Errorf("vq decode: code %d at %d outside the codebook [0, %d)", k, i, c.CodebookSize)
		}
		for d := 0; d < c.EmbedDim; d++ {
			q.X[d*n+i] = float64(book[int(k)*c.EmbedDim+d])
		}
	}
	return q, nil
}

// temporal runs the decoder's temporal modules on one clip (the latents or the code vectors: the
// release batches both through the same modules): the temporal res stack, then each temporal
// upsampling (nearest x2 in time, causal 3x3x3 conv) followed by SiLU.
func (m *VQ) temporal(frames []Map) ([]Map, error) {
	c := m.Cfg
	var err error
	for i := 0; i < c.NumResBlocks; i++ {
		if frames, err = m.temporalResBlock(fmt.Sprintf("decoder.time_res_stack.%d", i), frames); err != nil {
			return nil, err
		}
	}
	for i := 0; i < c.TemporalBlocks(); i++ {
		up := make([]Map, 2*len(frames))
		for j := range up {
			up[j] = frames[j/2]
		}
		p := fmt.Sprintf("decoder.time_conv.%d.conv.conv", i)
		if frames, err = CausalConv3D(up, m.w[p+".weight"], m.w[p+".bias"], c.ZChannels, 3, 3, 1); err != nil {
			return nil, err
		}
		for j := range frames {
			frames[j] = SiLU(frames[j])
		}
	}
	return frames, nil
}

// Decode turns codes (row-major gh x gw) into the first frame of the decoded clip, CHW, in the
// model's [-1, 1] scale: post_quant_conv, the temporal modules on the latents and on the code
// vectors, then the 2-D decoder on frame 0 with every SpatialNorm conditioned on the temporally
// processed code vectors of that frame. The 2-D decoder works frame by frame, so frame 0 alone is
// exact.
func (m *VQ) Decode(codes []int32, gh, gw int) (Map, error) {
	c := m.Cfg
	quant, err := m.codeMap(codes, gh, gw)
	if err != nil {
		return Map{}, err
	}
	z, err := CausalConv3D([]Map{quant}, m.w["post_quant_conv.conv.weight"], m.w["post_quant_conv.conv.bias"], c.ZChannels, 3, 1, 1)
	if err != nil {
		return Map{}, err
	}
	hs, err := m.temporal(z)
	if err != nil {
		return Map{}, err
	}
	zqs, err := m.temporal([]Map{quant})
	if err != nil {
		return Map{}, err
	}
	h, zq := hs[0], zqs[0]
	levels := len(c.ChMult)
	if h, err = m.conv("decoder.conv_in", h, c.Ch*c.ChMult[levels-1], 3, 1, same(3)); err != nil {
		return Map{}, err
	}
	if h, err = m.resBlock("decoder.mid.block_1", h, h.C, &zq); err != nil {
		return Map{}, err
	}
	if h, err = m.attn("decoder.mid.attn_1", h, &zq); err != nil {
		return Map{}, err
	}
	if h, err = m.resBlock("decoder.mid.block_2", h, h.C, &zq); err != nil {
		return Map{}, err
	}
	for i := levels - 1; i >= 0; i-- {
		for j := 0; j <= c.NumResBlocks; j++ {
			if h, err = m.resBlock(fmt.Sprintf("decoder.up.%d.block.%d", i, j), h, c.Ch*c.ChMult[i], &zq); err != nil {
				return Map{}, err
			}
			if c.HasAttn(i) {
				if h, err = m.attn(fmt.Sprintf("decoder.up.%d.attn.%d", i, j), h, &zq); err != nil {
					return Map{}, err
				}
			}
		}
		if i != 0 {
			h = Nearest(h, 2*h.H, 2*h.W)
			if h, err = m.conv(fmt.Sprintf("decoder.up.%d.upsample.conv", i), h, h.C, 3, 1, same(3)); err != nil {
				return Map{}, err
			}
		}
	}
	if h, err = m.norm("decoder.norm_out", h, &zq); err != nil {
		return Map{}, err
	}
	return m.conv("decoder.conv_out", SiLU(h), c.OutChannels, 3, 1, same(3))
}

// ToRGB8 is the image processor's postprocess of a decoded frame (CHW, [-1, 1]): un-normalise
// (x - (-1)) / 2, rescale by 255, clip to [0, 255] and truncate to uint8 (astype, not rounding);
// interleaved RGB, row-major.
func ToRGB8(x Map) ([]byte, error) {
	if x.C != 3 {
		return nil, fmt.Errorf("vq: a frame of %d channels is not RGB", x.C)
	}
	n := x.H * x.W
	out := make([]byte, 3*n)
	for c := 0; c < 3; c++ {
		for i := 0; i < n; i++ {
			v := (x.X[c*n+i] + 1) / 2 * 255
			out[3*i+c] = byte(math.Trunc(math.Min(math.Max(v, 0), 255)))
		}
	}
	return out, nil
}
