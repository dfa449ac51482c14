package ref

import (
	"fmt"
	"math"
)

// The Emu3 vision tokenizer (spec §7) in float64: every activation of the modules is a float64
// feature map, so that a device's fp32 result is compared with the exact value. The ops follow
// the PyTorch modules of Emu3VisionVQModel one for one.

// Map is one frame of a feature map, channels first: element (c, y, x) at (c*H + y)*W + x.
type Map struct {
	C, H, W int
	X       []float64
}

// NewMap returns a zero map.
func NewMap(c, h, w int) Map { return Map{c, h, w, make([]float64, c*h*w)} }

// MapFromFloat32 widens a CHW float32 image (the preprocessed pixels) to a map.
func MapFromFloat32(px []float32, c, h, w int) (Map, error) {
	if c <= 0 || h <= 0 || w <= 0 || len(px) != c*h*w {
		return Map{}, fmt.Errorf("vq: %d pixel values for a %dx%dx%d image", len(px), c, h, w)
	}
	m := NewMap(c, h, w)
	for i, v := range px {
		m.X[i] = float64(v)
	}
	return m, nil
}

// Pad4 is a zero padding: rows above and below, columns left and right.
type Pad4 struct{ Top, Bottom, Left, Right int }

// Conv2D is nn.Conv2d on one frame: w [out, in, k, k] (the model file's [out, in*k*k]), bias
// [out], a square kernel, the same stride both ways, zero padding.
func Conv2D(x Map, w, bias []float32, out, k, stride int, pad Pad4) (Map, error) {
	if len(w) != out*x.C*k*k || len(bias) != out {
		return Map{}, fmt.Errorf("vq conv: %d weights and %d biases for %d -> %d channels of %dx%d", len(w), len(bias), x.C, out, k, k)
	}
	oh := (x.H+pad.Top+pad.Bottom-k)/stride + 1
	ow := (x.W+pad.Left+pad.Right-k)/stride + 1
	if oh <= 0 || ow <= 0 {
		return Map{}, fmt.Errorf("vq conv: a %dx%d kernel does not fit a padded %dx%d map", k, k, x.H, x.W)
	}
	y := NewMap(out, oh, ow)
	for o := 0; o < out; o++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				acc := float64(bias[o])
				for c := 0; c < x.C; c++ {
					for ky := 0; ky < k; ky++ {
						iy := oy*stride + ky - pad.Top
						if iy < 0 || iy >= x.H {
							continue
						}
						for kx := 0; kx < k; kx++ {
							ix := ox*stride + kx - pad.Left
							if ix < 0 || ix >= x.W {
								continue
							}
							acc += float64(w[((o*x.C+c)*k+ky)*k+kx]) * x.X[(c*x.H+iy)*x.W+ix]
						}
					}
				}
				y.X[(o*oh+oy)*ow+ox] = acc
			}
		}
	}
	return y, nil
}

// same is the padding of a stride-1 convolution that keeps the size (padding=k//2).
func same(k int) Pad4 { p := k / 2; return Pad4{p, p, p, p} }

// GroupNorm is nn.GroupNorm(groups, C, eps, affine): the biased mean and variance over each
// group's channels and pixels.
func GroupNorm(x Map, groups int, gamma, beta []float32, eps float64) (Map, error) {
	if groups <= 0 || x.C%groups != 0 || len(gamma) != x.C || len(beta) != x.C {
		return Map{}, fmt.Errorf("vq groupnorm: %d channels in %d groups, %d/%d affine values", x.C, groups, len(gamma), len(beta))
	}
	y := NewMap(x.C, x.H, x.W)
	per := x.C / groups * x.H * x.W
	for g := 0; g < groups; g++ {
		seg := x.X[g*per : (g+1)*per]
		var mean, v float64
		for _, a := range seg {
			mean += a
		}
		mean /= float64(per)
		for _, a := range seg {
			v += (a - mean) * (a - mean)
		}
		inv := 1 / math.Sqrt(v/float64(per)+eps)
		for i, a := range seg {
			c := (g*per + i) / (x.H * x.W)
			y.X[g*per+i] = (a-mean)*inv*float64(gamma[c]) + float64(beta[c])
		}
	}
	return y, nil
}

// SiLU is x*sigmoid(x), in place.
func SiLU(x Map) Map {
	for i, a := range x.X {
		x.X[i] = a / (1 + math.Exp(-a))
	}
	return x
}

// AddMaps returns a + b (the residual connections).
func AddMaps(a, b Map) (Map, error) {
	if a.C != b.C || a.H != b.H || a.W != b.W {
		return Map{}, fmt.Errorf("vq add: %dx%dx%d and %dx%dx%d", a.C, a.H, a.W, b.C, b.H, b.W)
	}
	y := NewMap(a.C, a.H, a.W)
	for i := range y.X {
		y.X[i] = a.X[i] + b.X[i]
	}
	return y, nil
}

// Nearest is F.interpolate(mode="nearest") to h x w: source index floor(dst * in/out), which is
// exact for the power-of-2 ratios of the model.
func Nearest(x Map, h, w int) Map {
	y := NewMap(x.C, h, w)
	for c := 0; c < x.C; c++ {
		for oy := 0; oy < h; oy++ {
			iy := min(int(math.Floor(float64(oy)*float64(x.H)/float64(h))), x.H-1)
			for ox := 0; ox < w; ox++ {
				ix := min(int(math.Floor(float64(ox)*float64(x.W)/float64(w))), x.W-1)
				y.X[(c*h+oy)*w+ox] = x.X[(c*x.H+iy)*x.W+ix]
			}
		}
	}
	return y
}

// MapAttention is the single-head attention of an AttnBlock on the normed map nx: q, k, v and
// proj_out are 1x1 convolutions, scores q.k / sqrt(C) softmaxed over the keys, and the result
// is added to x.
func MapAttention(x, nx Map, q, qb, k, kb, v, vb, p, pb []float32) (Map, error) {
	C, n := x.C, x.H*x.W
	qm, err := Conv2D(nx, q, qb, C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	km, err := Conv2D(nx, k, kb, C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	vm, err := Conv2D(nx, v, vb, C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	out := NewMap(C, x.H, x.W)
	score := make([]float64, n)
	scale := math.Sqrt(float64(C))
	for i := 0; i < n; i++ {
		best := math.Inf(-1)
		for j := 0; j < n; j++ {
			var s float64
			for c := 0; c < C; c++ {
				s += qm.X[c*n+i] * km.X[c*n+j]
			}
			score[j] = s / scale
			best = max(best, score[j])
		}
		var sum float64
		for j := range score {
			score[j] = math.Exp(score[j] - best)
			sum += score[j]
		}
		for c := 0; c < C; c++ {
			var acc float64
			for j := 0; j < n; j++ {
				acc += vm.X[c*n+j] * score[j]
			}
			out.X[c*n+i] = acc / sum
		}
	}
	proj, err := Conv2D(out, p, pb, C, 1, 1, Pad4{})
	if err != nil {
		return Map{}, err
	}
	return AddMaps(x, proj)
}

// BatchNormEval is nn.BatchNorm3d in evaluation: (x - running_mean) / sqrt(running_var + eps)
// * weight + bias, per channel.
func BatchNormEval(x Map, mean, variance, gamma, beta []float32, eps float64) (Map, error) {
	if len(mean) != x.C || len(variance) != x.C || len(gamma) != x.C || len(beta) != x.C {
		return Map{}, fmt.Errorf("vq batchnorm: %d channels, %d/%d/%d/%d statistics", x.C, len(mean), len(variance), len(gamma), len(beta))
	}
	y := NewMap(x.C, x.H, x.W)
	n := x.H * x.W
	for c := 0; c < x.C; c++ {
		inv := 1 / math.Sqrt(float64(variance[c])+eps)
		for i := 0; i < n; i++ {
			y.X[c*n+i] = (x.X[c*n+i]-float64(mean[c]))*inv*float64(gamma[c]) + float64(beta[c])
		}
	}
	return y, nil
}

// CausalConv3D is the causal 3-D convolution on a clip of frames: time padded by 2 zero frames in
// front and none behind, space by (k-1)/2 rounded up before and down after, then nn.Conv3d with
// w [out, in, kt, k, k], time stride st and space stride 1. Output frame t sums tap τ over input
// frame t*st + τ - 2; taps on the padding add nothing.
func CausalConv3D(frames []Map, w, bias []float32, out, kt, k, st int) ([]Map, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("vq conv3d: no frames")
	}
	in := frames[0].C
	if len(w) != out*in*kt*k*k || len(bias) != out {
		return nil, fmt.Errorf("vq conv3d: %d weights and %d biases for %d -> %d channels of %dx%dx%d", len(w), len(bias), in, out, kt, k, k)
	}
	p := k - 1
	pad := Pad4{p/2 + p%2, p / 2, p/2 + p%2, p / 2}
	tOut := (len(frames)+2-kt)/st + 1
	if tOut <= 0 {
		return nil, fmt.Errorf("vq conv3d: %d frames are too few for a kernel of %d", len(frames), kt)
	}
	zero := make([]float32, out)
	res := make([]Map, tOut)
	for t := 0; t < tOut; t++ {
		var acc Map
		for tau := 0; tau < kt; tau++ {
			src := t*st + tau - 2
			if src < 0 || src >= len(frames) {
				continue
			}
			// The tap's kernel [out, in, k, k]: rows of w with the time index fixed.
			tap := make([]float32, out*in*k*k)
			for o := 0; o < out; o++ {
				for c := 0; c < in; c++ {
					copy(tap[(o*in+c)*k*k:(o*in+c+1)*k*k], w[((o*in+c)*kt+tau)*k*k:((o*in+c)*kt+tau+1)*k*k])
				}
			}
			part, err := Conv2D(frames[src], tap, zero, out, k, 1, pad)
			if err != nil {
				return nil, err
			}
			if acc.X == nil {
				acc = part
			} else if acc, err = AddMaps(acc, part); err != nil {
				return nil, err
			}
		}
		if acc.X == nil { // every tap on the padding (not reached with the model's shapes)
			h, wd := frames[0].H+pad.Top+pad.Bottom-k+1, frames[0].W+pad.Left+pad.Right-k+1
			acc = NewMap(out, h, wd)
		}
		n := acc.H * acc.W
		for o := 0; o < out; o++ {
			for i := 0; i < n; i++ {
				acc.X[o*n+i] += float64(bias[o])
			}
		}
		res[t] = acc
	}
	return res, nil
}
