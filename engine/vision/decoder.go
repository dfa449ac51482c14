package vision

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk"
)

// Decoder is the vision tokenizer's decoder on a device: Decode turns a grid of codes into the
// first frame of the decoded clip (ref.VQ.Decode), the frame a still image decodes to. One
// Decoder serves one goroutine at a time.
//
// Frame 0 depends on frame 0 alone, through the last tap of every causal temporal convolution:
// post_quant_conv and the temporal res stack see one frame, and each temporal upsampling doubles
// the clip before a convolution whose output frame 0 reads [0, 0, f0]. So the temporal modules
// are 2-D convolutions with their last taps here, on the latents and on the code vectors alike.
type Decoder struct {
	core
	book []float32 // the codebook [codes][embed], looked up on the host
}

// NewDecoder uploads the decoder's tensors from get (a model file's Float32).
func NewDecoder(dev *vk.Device, cfg *model.VQConfig, get func(string) ([]float32, error)) (*Decoder, error) {
	d := &Decoder{}
	if err := d.core.open(dev, cfg, get, nil, true); err != nil {
		return nil, err
	}
	book, err := get("quantize.embedding.weight")
	if err != nil || len(book) != cfg.CodebookSize*cfg.EmbedDim {
		d.Close()
		return nil, fmt.Errorf("vision: a codebook of %d values for %d codes of %d (%v)", len(book), cfg.CodebookSize, cfg.EmbedDim, err)
	}
	d.book = append([]float32(nil), book...)
	return d, nil
}

// spatialNorm records SpatialNorm: GroupNorm(x) * conv_y(zq) + conv_b(zq), the code vectors zq
// brought to x's size by nearest upsampling after their 1x1 convolutions (which commute with it),
// then SiLU when silu.
func (r *run) spatialNorm(p string, x, zq fmap, silu bool) fmap {
	g := r.norm(p+".norm_layer", x, false)
	y := r.conv(p+".conv_y", zq, gpu.ConvShape{}, nil)
	b := r.conv(p+".conv_b", zq, gpu.ConvShape{}, nil)
	out := r.newMap(x.c, x.h, x.w)
	if r.err != nil {
		return fmap{}
	}
	r.fail(r.e.ops.Modulate(r.s, g.b, y.b, b.b, out.b, x.h, x.w, x.c, zq.h, zq.w, silu))
	r.tag(kindNorm)
	return out
}

// resBlockSpatial is the decoder's ResnetBlock: SpatialNorms conditioned on zq.
func (r *run) resBlockSpatial(p string, x, zq fmap, out int) fmap {
	h := r.spatialNorm(p+".norm1", x, zq, true)
	h = r.conv(p+".conv1", h, same3(), nil)
	h = r.spatialNorm(p+".norm2", h, zq, true)
	if x.c != out {
		sc := r.conv(p+".nin_shortcut", x, gpu.ConvShape{}, nil)
		return r.conv(p+".conv2", h, same3(), &sc)
	}
	return r.conv(p+".conv2", h, same3(), &x)
}

// temporalLastTap records the decoder's temporal modules on frame 0 of one clip (the latents or
// the code vectors), in place where the residuals allow.
func (r *run) temporalLastTap(x fmap) fmap {
	c := r.e.cfg
	for i := 0; i < c.NumResBlocks; i++ {
		p := fmt.Sprintf("decoder.time_res_stack.%d", i)
		t := r.affineSiLU(p+".norm1", x)
		t = r.conv(p+".conv1.conv", t, same3(), nil)
		t = r.affineSiLU(p+".norm2", t)
		x = r.conv(p+".conv2.conv", t, same3(), &x)
	}
	for i := 0; i < c.TemporalBlocks(); i++ {
		x = r.conv(fmt.Sprintf("decoder.time_conv.%d.conv.conv", i), x, same3(), nil)
		r.siluInPlace(x)
	}
	return x
}

// Decode returns frame 0 of the codes (row-major gh x gw) in the model's [-1, 1] scale, CHW
// float32 (gh*f x gw*f pixels, f the spatial factor).
func (d *Decoder) Decode(codes []int32, gh, gw int) ([]float32, error) {
	c := d.cfg
	if gh <= 0 || gw <= 0 || len(codes) != gh*gw {
		return nil, fmt.Errorf("vision: %d codes for a %dx%d grid", len(codes), gw, gh)
	}
	vecs := make([]float32, gh*gw*c.EmbedDim)
	for i, k := range codes {
		if k < 0 || int(k) >= c.CodebookSize {
			return nil, fmt.Errorf("vision: code %d at %d outside the codebook [0, %d)", k, i, c.CodebookSize)
		}
		copy(vecs[i*c.EmbedDim:(i+1)*c.EmbedDim], d.book[int(k)*c.EmbedDim:])
	}
	s, err := d.dev.NewSequence()
	if err != nil {
		return nil, err
	}
	s.Timing = d.timing
	r := &run{e: &d.core, s: s}
	defer r.close()
	quant := r.newMap(c.EmbedDim, gh, gw)
	if r.err != nil {
		return nil, r.err
	}
	if err := vk.WriteFloat32s(quant.buf, 0, vecs); err != nil {
		return nil, err
	}
	z := r.conv("post_quant_conv.conv", quant, gpu.ConvShape{}, nil)
	z = r.temporalLastTap(z)
	zq := r.temporalLastTap(quant) // in place: post_quant_conv has read the code vectors already

	levels := len(c.ChMult)
	h := r.conv("decoder.conv_in", z, same3(), nil)
	h = r.resBlockSpatial("decoder.mid.block_1", h, zq, h.c)
	h = r.attnNormed("decoder.mid.attn_1", h, r.spatialNorm("decoder.mid.attn_1.norm", h, zq, false))
	h = r.resBlockSpatial("decoder.mid.block_2", h, zq, h.c)
	for i := levels - 1; i >= 0; i-- {
		for j := 0; j <= c.NumResBlocks; j++ {
			h = r.resBlockSpatial(fmt.Sprintf("decoder.up.%d.block.%d", i, j), h, zq, c.Ch*c.ChMult[i])
			if c.HasAttn(i) {
				p := fmt.Sprintf("decoder.up.%d.attn.%d", i, j)
				h = r.attnNormed(p, h, r.spatialNorm(p+".norm", h, zq, false))
			}
		}
		if i != 0 {
			up := same3()
			up.Up2 = true
			h = r.conv(fmt.Sprintf("decoder.up.%d.upsample.conv", i), h, up, nil)
		}
	}
	h = r.spatialNorm("decoder.norm_out", h, zq, true)
	h = r.conv("decoder.conv_out", h, same3(), nil)
	if r.err != nil {
		return nil, r.err
	}
	if err := r.s.Run(); err != nil {
		return nil, err
	}
	hwc := make([]float32, h.c*h.h*h.w)
	if err := vk.ReadFloat32s(h.buf, 0, hwc); err != nil {
		return nil, err
	}
	n := h.h * h.w
	out := make([]float32, len(hwc))
	for i := 0; i < n; i++ {
		for ch := 0; ch < h.c; ch++ {
			out[ch*n+i] = hwc[i*h.c+ch]
		}
	}
	return out, nil
}
