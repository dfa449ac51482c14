package ref

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/model"
)

// VQ is the reference vision tokenizer: Emu3VisionVQModel's encode (a still image to codes) and
// decode (codes to the first frame) in float64.
type VQ struct {
	Cfg *model.VQConfig
	w   map[string][]float32
}

// Epsilons of the modules: GroupNorm (and SpatialNorm's) 1e-6, BatchNorm3d's default 1e-5.
const (
	vqGroupEps = 1e-6
	vqBatchEps = 1e-5
	vqGroups   = 32
)

// NewVQ loads every tensor of the configuration through get (a model file's Float32, or random
// values) and checks its size.
func NewVQ(cfg *model.VQConfig, get func(name string) ([]float32, error)) (*VQ, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &VQ{Cfg: cfg, w: map[string][]float32{}}
	for _, t := range cfg.Tensors() {
		x, err := get(t.Name)
		if err != nil {
			return nil, err
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if len(x) != n {
			return nil, fmt.Errorf("vq: tensor %q has %d values, want %d (%v)", t.Name, len(x), n, t.Shape)
		}
		m.w[t.Name] = x
	}
	return m, nil
}

func (m *VQ) conv(p string, x Map, out, k, stride int, pad Pad4) (Map, error) {
	return Conv2D(x, m.w[p+".weight"], m.w[p+".bias"], out, k, stride, pad)
}

// norm is the GroupNorm of the encoder (zq nil) or the decoder's SpatialNorm:
// GroupNorm(x) * conv_y(up(zq)) + conv_b(up(zq)), zq brought to x's size by nearest interpolation.
func (m *VQ) norm(p string, x Map, zq *Map) (Map, error) {
	if zq == nil {
		return GroupNorm(x, vqGroups, m.w[p+".weight"], m.w[p+".bias"], vqGroupEps)
	}
	n, err := GroupNorm(x, vqGroups, m.w[p+".norm_layer.weight"], m.w[p+".norm_layer.bias"], vqGroupEps)
	if err != nil {
		return Map{}, err
	}
	up := Nearest(*zq, x.H, x.W)
	y, err := m.conv(p+".conv_y", up, x.C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	b, err := m.conv(p+".conv_b", up, x.C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	for i := range n.X {
		n.X[i] = n.X[i]*y.X[i] + b.X[i]
	}
	return n, nil
}

// resBlock is a ResnetBlock: norm1, SiLU, conv1, norm2, SiLU, (dropout,) conv2, plus x through a
// 1x1 nin_shortcut when the channels change.
func (m *VQ) resBlock(p string, x Map, out int, zq *Map) (Map, error) {
	h, err := m.norm(p+".norm1", x, zq)
	if err != nil {
		return Map{}, err
	}
	if h, err = m.conv(p+".conv1", SiLU(h), out, 3, 1, same(3)); err != nil {
		return Map{}, err
	}
	if h, err = m.norm(p+".norm2", h, zq); err != nil {
		return Map{}, err
	}
	if h, err = m.conv(p+".conv2", SiLU(h), out, 3, 1, same(3)); err != nil {
		return Map{}, err
	}
	if x.C != out {
		if x, err = m.conv(p+".nin_shortcut", x, out, 1, 1, Pad4{}); err != nil {
			return Map{}, err
		}
	}
	return AddMaps(x, h)
}

func (m *VQ) attn(p string, x Map, zq *Map) (Map, error) {
	nx, err := m.norm(p+".norm", x, zq)
	if err != nil {
		return Map{}, err
	}
	w := func(s string) []float32 { return m.w[p+"."+s] }
	return MapAttention(x, nx, w("q.weight"), w("q.bias"), w("k.weight"), w("k.bias"), w("v.weight"), w("v.bias"),
		w("proj_out.weight"), w("proj_out.bias"))
}

// temporalResBlock is a ResnetTemporalBlock on a clip: BatchNorm (eval), SiLU, causal 3x3x3
// conv, twice, plus x (its channels never change in the model).
func (m *VQ) temporalResBlock(p string, frames []Map) ([]Map, error) {
	bn := func(q string, fs []Map) ([]Map, error) {
		out := make([]Map, len(fs))
		for i, f := range fs {
			y, err := BatchNormEval(f, m.w[q+".running_mean"], m.w[q+".running_var"], m.w[q+".weight"], m.w[q+".bias"], vqBatchEps)
			if err != nil {
				return nil, err
			}
			out[i] = SiLU(y)
		}
		return out, nil
	}
	c := frames[0].C
	h, err := bn(p+".norm1", frames)
	if err != nil {
		return nil, err
	}
	if h, err = CausalConv3D(h, m.w[p+".conv1.conv.weight"], m.w[p+".conv1.conv.bias"], c, 3, 3, 1); err != nil {
		return nil, err
	}
	if h, err = bn(p+".norm2", h); err != nil {
		return nil, err
	}
	if h, err = CausalConv3D(h, m.w[p+".conv2.conv.weight"], m.w[p+".conv2.conv.bias"], c, 3, 3, 1); err != nil {
		return nil, err
	}
	for i := range h {
		if h[i], err = AddMaps(frames[i], h[i]); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// checkImage refuses an input the modules cannot take: a side not a multiple of the spatial
// factor (the release's sizes always are), or the wrong channel count.
func (m *VQ) checkImage(c, h, w int) error {
	f := m.Cfg.SpatialFactor()
	if c != m.Cfg.InChannels || h <= 0 || w <= 0 || h%f != 0 || w%f != 0 {
		return fmt.Errorf("vq: a %dx%d image of %d channels; the tokenizer takes %d channels and sides that are multiples of %d",
			w, h, c, m.Cfg.InChannels, f)
	}
	return nil
}

// Encode2D is the 2-D encoder on one frame (CHW): conv_in, the down levels, the mid block,
// norm_out, SiLU and conv_out.
func (m *VQ) Encode2D(x Map) (Map, error) {
	c := m.Cfg
	if err := m.checkImage(x.C, x.H, x.W); err != nil {
		return Map{}, err
	}
	h, err := m.conv("encoder.conv_in", x, c.Ch, 3, 1, same(3))
	if err != nil {
		return Map{}, err
	}
	for i, mult := range c.ChMult {
		for j := 0; j < c.NumResBlocks; j++ {
			if h, err = m.resBlock(fmt.Sprintf("encoder.down.%d.block.%d", i, j), h, c.Ch*mult, nil); err != nil {
				return Map{}, err
			}
			if c.HasAttn(i) {
				if h, err = m.attn(fmt.Sprintf("encoder.down.%d.attn.%d", i, j), h, nil); err != nil {
					return Map{}, err
				}
			}
		}
		if i != len(c.ChMult)-1 {
			// Pad one zero column right and one row below, then a stride-2 3x3 conv without padding.
			if h, err = m.conv(fmt.Sprintf("encoder.down.%d.downsample.conv", i), h, h.C, 3, 2, Pad4{0, 1, 0, 1}); err != nil {
				return Map{}, err
			}
		}
	}
	if h, err = m.resBlock("encoder.mid.block_1", h, h.C, nil); err != nil {
		return Map{}, err
	}
	if h, err = m.attn("encoder.mid.attn_1", h, nil); err != nil {
		return Map{}, err
	}
	if h, err = m.resBlock("encoder.mid.block_2", h, h.C, nil); err != nil {
		return Map{}, err
	}
	if h, err = m.norm("encoder.norm_out", h, nil); err != nil {
		return Map{}, err
	}
	return m.conv("encoder.conv_out", SiLU(h), c.ZChannels, 3, 1, same(3))
}

// Latent is encode() up to the quantizer for a still image: the frame repeated over the temporal
// factor (the 2-D encoder runs once: every copy gives the same map), the temporal downsampling
// convolutions each followed by SiLU, the temporal res stack, and quant_conv. One frame remains.
func (m *VQ) Latent(x Map) (Map, error) {
	h, err := m.Encode2D(x)
	if err != nil {
		return Map{}, err
	}
	c := m.Cfg
	frames := make([]Map, c.TemporalDownsampleFactor)
	for i := range frames {
		frames[i] = h
	}
	for i := 0; i < c.TemporalBlocks(); i++ {
		p := fmt.Sprintf("encoder.time_conv.%d.conv.conv", i)
		if frames, err = CausalConv3D(frames, m.w[p+".weight"], m.w[p+".bias"], c.ZChannels, 4, 3, 2); err != nil {
			return Map{}, err
		}
		for j := range frames {
			frames[j] = SiLU(frames[j])
		}
	}
	for i := 0; i < c.NumResBlocks; i++ {
		if frames, err = m.temporalResBlock(fmt.Sprintf("encoder.time_res_stack.%d", i), frames); err != nil {
			return Map{}, err
		}
	}
	if frames, err = CausalConv3D(frames, m.w["quant_conv.conv.weight"], m.w["quant_conv.conv.bias"], c.EmbedDim, 3, 1, 1); err != nil {
		return Map{}, err
	}
	if len(frames) != 1 {
		return Map{}, fmt.Errorf("vq: %d latent frames for a still image, want 1", len(frames))
	}
	return frames[0], nil
}

// Quantize is the nearest code of every position of z [embed, h, w] in the model's codebook
// (NearestCodes).
func (m *VQ) Quantize(z Map) (codes []int32, margin []float64, err error) {
	if z.C != m.Cfg.EmbedDim {
		return nil, nil, fmt.Errorf("vq quantize: %d channels, the codebook has %d", z.C, m.Cfg.EmbedDim)
	}
	return NearestCodes(z, m.w["quantize.embedding.weight"], m.Cfg.CodebookSize)
}

// NearestCodes is the quantizer: for every position of z [e, h, w] the argmin over the codebook
// book [k][e] of |z|^2 + |e|^2 - 2 z.e, the first index on ties. Margin is, per position, the gap
// between the second-best and the best distance relative to the best (a near-tie below 1e-4).
func NearestCodes(z Map, book []float32, k int) (codes []int32, margin []float64, err error) {
	e := z.C
	if k <= 0 || len(book) != k*e {
		return nil, nil, fmt.Errorf("vq quantize: a codebook of %d values for %d codes of %d", len(book), k, e)
	}
	norms := make([]float64, k)
	for r := range norms {
		for d := 0; d < e; d++ {
			v := float64(book[r*e+d])
			norms[r] += v * v
		}
	}
	n := z.H * z.W
	codes, margin = make([]int32, n), make([]float64, n)
	for i := 0; i < n; i++ {
		var zz float64
		for d := 0; d < e; d++ {
			zz += z.X[d*n+i] * z.X[d*n+i]
		}
		best, second := math.Inf(1), math.Inf(1)
		for r := 0; r < k; r++ {
			var dot float64
			for d := 0; d < e; d++ {
				dot += z.X[d*n+i] * float64(book[r*e+d])
			}
			dist := zz + norms[r] - 2*dot
			switch {
			case dist < best:
				best, second, codes[i] = dist, best, int32(r)
			case dist < second:
				second = dist
			}
		}
		margin[i] = (second - best) / math.Max(math.Abs(best), 1e-30)
	}
	return codes, margin, nil
}

// Encode turns a preprocessed still image (CHW float32, Emu3's normalisation) into its codes,
// row-major h/f x w/f, with the near-tie margins of Quantize.
func (m *VQ) Encode(px []float32, h, w int) (codes []int32, margin []float64, err error) {
	x, err := MapFromFloat32(px, m.Cfg.InChannels, h, w)
	if err != nil {
		return nil, nil, err
	}
	z, err := m.Latent(x)
	if err != nil {
		return nil, nil, err
	}
	return m.Quantize(z)
}
