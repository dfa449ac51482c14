package model

import "fmt"

// VQTensor is one tensor of the vision tokenizer: its checkpoint name and shape, as the modules of
// Emu3VisionVQModel register them.
type VQTensor struct {
	Name  string
	Shape []int // the checkpoint's shape: [out, in, (t,) h, w] for a convolution kernel
}

// Stored is the shape in a model file: a convolution kernel becomes the matrix
// [out, in*(t*)h*w] (the same element order, and the A operand of a convolution as a GEMM);
// vectors and the codebook keep theirs.
func (t VQTensor) Stored() []int {
	if len(t.Shape) <= 2 {
		return t.Shape
	}
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return []int{t.Shape[0], n}
}

// vqTensorList collects tensors in the order of the checkpoint's state dict.
type vqTensorList []VQTensor

func (l *vqTensorList) add(name string, shape ...int) { *l = append(*l, VQTensor{name, shape}) }

func (l *vqTensorList) conv2d(p string, in, out, k int) {
	l.add(p+".weight", out, in, k, k)
	l.add(p+".bias", out)
}

// conv3d is a plain nn.Conv3d; the causal ones wrap it as "<p>.conv".
func (l *vqTensorList) conv3d(p string, in, out, kt, k int) {
	l.add(p+".weight", out, in, kt, k, k)
	l.add(p+".bias", out)
}

func (l *vqTensorList) groupNorm(p string, c int) {
	l.add(p+".weight", c)
	l.add(p+".bias", c)
}

// norm is a GroupNorm in the encoder and a SpatialNorm (GroupNorm modulated by the code vectors)
// in the decoder (zq > 0).
func (l *vqTensorList) norm(p string, c, zq int) {
	if zq == 0 {
		l.groupNorm(p, c)
		return
	}
	l.groupNorm(p+".norm_layer", c)
	l.conv2d(p+".conv_y", zq, c, 1)
	l.conv2d(p+".conv_b", zq, c, 1)
}

func (l *vqTensorList) resBlock(p string, in, out, zq int) {
	l.norm(p+".norm1", in, zq)
	l.norm(p+".norm2", out, zq)
	l.conv2d(p+".conv1", in, out, 3)
	l.conv2d(p+".conv2", out, out, 3)
	if in != out {
		l.conv2d(p+".nin_shortcut", in, out, 1)
	}
}

func (l *vqTensorList) attnBlock(p string, c, zq int) {
	l.norm(p+".norm", c, zq)
	for _, w := range []string{"q", "k", "v", "proj_out"} {
		l.conv2d(p+"."+w, c, c, 1)
	}
}

// temporalResBlock is a ResnetTemporalBlock: BatchNorm3d and causal 3x3x3 convolutions.
func (l *vqTensorList) temporalResBlock(p string, c int) {
	bn := func(q string) {
		for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
			l.add(q+"."+s, c)
		}
	}
	bn(p + ".norm1")
	l.conv3d(p+".conv1.conv", c, c, 3, 3)
	bn(p + ".norm2")
	l.conv3d(p+".conv2.conv", c, c, 3, 3)
}

// Tensors lists every tensor of the model in the order of the checkpoint's state dict, without the
// BatchNorm counters (num_batches_tracked), which evaluation does not read. The configuration must
// be valid.
func (c *VQConfig) Tensors() []VQTensor {
	var l vqTensorList
	z, levels := c.ZChannels, len(c.ChMult)

	// Encoder.
	l.conv2d("encoder.conv_in", c.InChannels, c.Ch, 3)
	in := c.Ch
	for i := 0; i < levels; i++ {
		out := c.Ch * c.ChMult[i]
		for j := 0; j < c.NumResBlocks; j++ {
			l.resBlock(fmt.Sprintf("encoder.down.%d.block.%d", i, j), in, out, 0)
			in = out
		}
		if c.HasAttn(i) {
			for j := 0; j < c.NumResBlocks; j++ {
				l.attnBlock(fmt.Sprintf("encoder.down.%d.attn.%d", i, j), in, 0)
			}
		}
		if i != levels-1 {
			l.conv2d(fmt.Sprintf("encoder.down.%d.downsample.conv", i), in, in, 3)
		}
	}
	l.resBlock("encoder.mid.block_1", in, in, 0)
	l.attnBlock("encoder.mid.attn_1", in, 0)
	l.resBlock("encoder.mid.block_2", in, in, 0)
	l.groupNorm("encoder.norm_out", in)
	l.conv2d("encoder.conv_out", in, z, 3)
	for i := 0; i < c.TemporalBlocks(); i++ {
		l.conv3d(fmt.Sprintf("encoder.time_conv.%d.conv.conv", i), z, z, 4, 3)
	}
	for i := 0; i < c.NumResBlocks; i++ {
		l.temporalResBlock(fmt.Sprintf("encoder.time_res_stack.%d", i), z)
	}

	// Decoder.
	zq := c.EmbedDim
	for i := 0; i < c.NumResBlocks; i++ {
		l.temporalResBlock(fmt.Sprintf("decoder.time_res_stack.%d", i), z)
	}
	for i := 0; i < c.TemporalBlocks(); i++ {
		l.conv3d(fmt.Sprintf("decoder.time_conv.%d.conv.conv", i), z, z, 3, 3)
	}
	in = c.Ch * c.ChMult[levels-1]
	l.conv2d("decoder.conv_in", z, in, 3)
	l.resBlock("decoder.mid.block_1", in, in, zq)
	l.attnBlock("decoder.mid.attn_1", in, zq)
	l.resBlock("decoder.mid.block_2", in, in, zq)
	// The up levels are built from the top level down but registered as up.0 (level 0) first.
	ups := make([]vqTensorList, levels)
	for i := levels - 1; i >= 0; i-- {
		u := &ups[i]
		out := c.Ch * c.ChMult[i]
		for j := 0; j <= c.NumResBlocks; j++ {
			u.resBlock(fmt.Sprintf("decoder.up.%d.block.%d", i, j), in, out, zq)
			in = out
		}
		if c.HasAttn(i) {
			for j := 0; j <= c.NumResBlocks; j++ {
				u.attnBlock(fmt.Sprintf("decoder.up.%d.attn.%d", i, j), in, zq)
			}
		}
		if i != 0 {
			u.conv2d(fmt.Sprintf("decoder.up.%d.upsample.conv", i), in, in, 3)
		}
	}
	for _, u := range ups {
		l = append(l, u...)
	}
	l.norm("decoder.norm_out", in, zq)
	l.conv2d("decoder.conv_out", in, c.OutChannels, 3)

	l.add("quantize.embedding.weight", c.CodebookSize, c.EmbedDim)
	l.conv3d("quant_conv.conv", z, c.EmbedDim, 3, 1)
	l.conv3d("post_quant_conv.conv", c.EmbedDim, z, 3, 1)
	return l
}

// VQTensorShape returns the stored shape of a tensor of the model, and false for a name the model
// does not have.
func (c *VQConfig) TensorShape(name string) ([]int, bool) {
	for _, t := range c.Tensors() {
		if t.Name == name {
			return t.Stored(), true
		}
	}
	return nil, false
}

// HasLM reports whether the file holds a language model: a file may hold a VQ model alone, and
// then its architecture is absent (zero).
func (c *Config) HasLM() bool { return c.Arch != Arch{} }

// TensorNames lists every tensor of the file in file order: the language model's, then the
// vision tokenizer's.
func (c *Config) TensorNames() []string {
	var names []string
	if c.HasLM() {
		names = c.Arch.TensorNames()
	}
	if c.VQ != nil {
		for _, t := range c.VQ.Tensors() {
			names = append(names, t.Name)
		}
	}
	return names
}

// TensorShapes maps every tensor of the file to its stored shape.
func (c *Config) TensorShapes() map[string][]int {
	out := map[string][]int{}
	if c.HasLM() {
		for _, n := range c.Arch.TensorNames() {
			out[n], _ = c.Arch.TensorShape(n)
		}
	}
	if c.VQ != nil {
		for _, t := range c.VQ.Tensors() {
			out[t.Name] = t.Stored()
		}
	}
	return out
}
