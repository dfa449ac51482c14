// Package vision runs the Emu3 vision tokenizer's encoder (spec §7) on the Vulkan device: a
// still frame in, its codes out, as engine/ref's VQ computes them in float64. Feature maps are
// HWC float32 buffers; every convolution is an im2col and the project's matmul (gpu.VQConv).
package vision

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk"
)

// weights are the encoder's tensors on the device.
type weights struct {
	convs map[string]*gpu.ConvWeight // by module prefix (".weight" and ".bias" stripped)
	vecs  map[string]*vk.Buffer      // norm scales and shifts, BatchNorm's folded affine maps
	book  *vk.Buffer                 // the codebook [codes][embed]
	// time[i][t] are the kernels of temporal downsampling i for output frame t, one per distinct
	// input frame (see temporalPlan).
	time [][][]*gpu.ConvWeight
}

func (w *weights) close() {
	for _, c := range w.convs {
		c.Close()
	}
	for _, b := range w.vecs {
		b.Close()
	}
	w.book.Close()
	for _, lv := range w.time {
		for _, t := range lv {
			for _, c := range t {
				c.Close()
			}
		}
	}
}

func uploadFloats(dev *vk.Device, x []float32) (*vk.Buffer, error) {
	b, err := dev.NewBuffer(int64(4*len(x)), vk.DeviceLocal, 0)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		u := math.Float32bits(v)
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	if err := b.Write(0, raw); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// tap is the 2-D kernel [out, in, k, k] of time tap tau of a 3-D kernel [out, in, kt, k, k].
func tap(w []float32, out, in, kt, k, tau int) []float32 {
	res := make([]float32, out*in*k*k)
	for o := 0; o < out; o++ {
		for c := 0; c < in; c++ {
			src := ((o*in+c)*kt + tau) * k * k
			copy(res[(o*in+c)*k*k:(o*in+c+1)*k*k], w[src:src+k*k])
		}
	}
	return res
}

// sumTaps is the sum of the 2-D kernels of the given taps, formed in float64: a frame that several
// taps read is convolved once with their sum.
func sumTaps(w []float32, out, in, kt, k int, taus []int) []float32 {
	acc := make([]float64, out*in*k*k)
	for _, tau := range taus {
		for i, v := range tap(w, out, in, kt, k, tau) {
			acc[i] += float64(v)
		}
	}
	res := make([]float32, len(acc))
	for i, v := range acc {
		res[i] = float32(v)
	}
	return res
}

// load uploads the encoder's tensors (with the codebook and quant_conv), or with decoder the
// decoder's (with post_quant_conv). Causal 3-D kernels become their last tap, which is all a single
// frame reads (the decoder's frame 0 included), except the encoder's temporal downsampling, which
// the plan sums.
func load(dev *vk.Device, cfg *model.VQConfig, get func(string) ([]float32, error), plan [][][]timeSource, decoder bool) (*weights, error) {
	w := &weights{convs: map[string]*gpu.ConvWeight{}, vecs: map[string]*vk.Buffer{}}
	done := false
	defer func() {
		if !done {
			w.close()
		}
	}()
	shapes := map[string][]int{}
	for _, t := range cfg.Tensors() {
		shapes[t.Name] = t.Shape
	}
	tensor := func(name string) ([]float32, error) {
		x, err := get(name)
		if err != nil {
			return nil, err
		}
		n := 1
		for _, d := range shapes[name] {
			n *= d
		}
		if shapes[name] == nil || len(x) != n {
			return nil, fmt.Errorf("vision: tensor %q has %d values, want %v", name, len(x), shapes[name])
		}
		return x, nil
	}
	for _, t := range cfg.Tensors() {
		name := t.Name
		side := isEncoderSide(name)
		if decoder {
			side = hasPrefix(name, "decoder.") || hasPrefix(name, "post_quant_conv.")
		}
		if !side || !hasSuffix(name, ".weight") {
			continue
		}
		p := name[:len(name)-len(".weight")]
		switch {
		case len(t.Shape) == 4 || (len(t.Shape) == 5 && (decoder || !isTimeConv(p))):
			// A 2-D convolution, or a causal 3-D one on a single frame: its last tap.
			wt, err := tensor(name)
			if err != nil {
				return nil, err
			}
			b, err := tensor(p + ".bias")
			if err != nil {
				return nil, err
			}
			out, in, k := t.Shape[0], t.Shape[1], t.Shape[len(t.Shape)-1]
			if len(t.Shape) == 5 {
				wt = tap(wt, out, in, t.Shape[2], k, t.Shape[2]-1)
			}
			if w.convs[p], err = gpu.UploadConvWeight(dev, wt, b, out, in, k); err != nil {
				return nil, err
			}
		case len(t.Shape) == 1:
			if hasBatchNorm(name, shapes) {
				if err := w.batchNorm(dev, p, tensor); err != nil {
					return nil, err
				}
				continue
			}
			g, err := tensor(name)
			if err != nil {
				return nil, err
			}
			bb, err := tensor(p + ".bias")
			if err != nil {
				return nil, err
			}
			if w.vecs[p+".weight"], err = uploadFloats(dev, g); err != nil {
				return nil, err
			}
			if w.vecs[p+".bias"], err = uploadFloats(dev, bb); err != nil {
				return nil, err
			}
		case name == "quantize.embedding.weight":
			x, err := tensor(name)
			if err != nil {
				return nil, err
			}
			if w.book, err = uploadFloats(dev, x); err != nil {
				return nil, err
			}
		}
	}
	if err := w.loadTime(dev, cfg, tensor, plan); err != nil {
		return nil, err
	}
	done = true
	return w, nil
}

// batchNorm folds an evaluation BatchNorm into y = x*mul + add (float64, then float32).
func (w *weights) batchNorm(dev *vk.Device, p string, tensor func(string) ([]float32, error)) error {
	var v [4][]float32
	for i, s := range []string{"weight", "bias", "running_mean", "running_var"} {
		x, err := tensor(p + "." + s)
		if err != nil {
			return err
		}
		v[i] = x
	}
	mul, add := make([]float32, len(v[0])), make([]float32, len(v[0]))
	for c := range mul {
		m := float64(v[0][c]) / math.Sqrt(float64(v[3][c])+batchEps)
		mul[c], add[c] = float32(m), float32(float64(v[1][c])-float64(v[2][c])*m)
	}
	var err error
	if w.vecs[p+".mul"], err = uploadFloats(dev, mul); err != nil {
		return err
	}
	w.vecs[p+".add"], err = uploadFloats(dev, add)
	return err
}

// loadTime uploads the temporal downsampling kernels the plan needs: per output frame, one
// kernel per distinct input frame, the sum of the taps that read it; the bias goes with the first.
func (w *weights) loadTime(dev *vk.Device, cfg *model.VQConfig, tensor func(string) ([]float32, error), plan [][][]timeSource) error {
	z := cfg.ZChannels
	for i, level := range plan {
		p := fmt.Sprintf("encoder.time_conv.%d.conv.conv", i)
		wt, err := tensor(p + ".weight")
		if err != nil {
			return err
		}
		b, err := tensor(p + ".bias")
		if err != nil {
			return err
		}
		zero := make([]float32, z)
		var lv [][]*gpu.ConvWeight
		for _, frame := range level {
			var ks []*gpu.ConvWeight
			for j, src := range frame {
				bias := zero
				if j == 0 {
					bias = b
				}
				cw, err := gpu.UploadConvWeight(dev, sumTaps(wt, z, z, 4, 3, src.taps), bias, z, z, 3)
				if err != nil {
					return err
				}
				ks = append(ks, cw)
			}
			lv = append(lv, ks)
		}
		w.time = append(w.time, lv)
	}
	return nil
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func isEncoderSide(name string) bool {
	return hasPrefix(name, "encoder.") || hasPrefix(name, "quant_conv.") || name == "quantize.embedding.weight"
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func isTimeConv(p string) bool { return hasPrefix(p, "encoder.time_conv.") }

// hasBatchNorm tells a BatchNorm's weight (it has running statistics beside it) from a GroupNorm's.
func hasBatchNorm(name string, shapes map[string][]int) bool {
	p := name[:len(name)-len(".weight")]
	_, ok := shapes[p+".running_var"]
	return ok
}
