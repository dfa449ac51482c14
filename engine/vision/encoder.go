package vision

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
)

// Epsilons of the modules (as engine/ref): GroupNorm 1e-6, BatchNorm3d 1e-5.
const (
	groupEps = 1e-6
	batchEps = 1e-5
	groups   = 32
)

// core is what the encoder and the decoder share: the device, the kernels and the weights of
// their half of the model.
type core struct {
	dev  *vk.Device
	cfg  *model.VQConfig
	mm   *gpu.Matmul
	conv *gpu.VQConv
	gn   *gpu.GroupNorm
	ops  *gpu.VQOps
	q    *gpu.Quantizer
	w    *weights
	ones *vk.Buffer // SiLU alone as an affine map: mul 1, add 0
	zero *vk.Buffer
	// timing records timestamps around every dispatch (per-layer times for benchmarks).
	timing bool
}

// Encoder is the vision tokenizer's encoder on a device: Encode turns a preprocessed still frame
// into codes (ref.VQ.Encode). One Encoder serves one goroutine at a time.
type Encoder struct {
	core
	plan [][][]timeSource
}

// NewEncoder uploads the encoder's tensors from get (a model file's Float32).
func NewEncoder(dev *vk.Device, cfg *model.VQConfig, get func(string) ([]float32, error)) (*Encoder, error) {
	e := &Encoder{plan: temporalPlan(cfg)}
	if err := e.core.open(dev, cfg, get, e.plan, false); err != nil {
		return nil, err
	}
	return e, nil
}

// open creates the kernels and uploads one half of the model; on failure it frees what it made.
func (e *core) open(dev *vk.Device, cfg *model.VQConfig, get func(string) ([]float32, error), plan [][][]timeSource, decoder bool) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.dev, e.cfg = dev, cfg
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.mm, err = gpu.NewMatmul(dev, quant.F32); err != nil {
		return err
	}
	if e.conv, err = gpu.NewVQConv(dev, e.mm); err != nil {
		return err
	}
	if e.gn, err = gpu.NewGroupNorm(dev); err != nil {
		return err
	}
	if e.ops, err = gpu.NewVQOps(dev); err != nil {
		return err
	}
	if e.q, err = gpu.NewQuantizer(dev); err != nil {
		return err
	}
	maxC := max(cfg.Ch, cfg.ZChannels)
	for _, m := range cfg.ChMult {
		maxC = max(maxC, cfg.Ch*m)
	}
	ones, zero := make([]float32, maxC), make([]float32, maxC)
	for i := range ones {
		ones[i] = 1
	}
	if e.ones, err = uploadFloats(dev, ones); err != nil {
		return err
	}
	if e.zero, err = uploadFloats(dev, zero); err != nil {
		return err
	}
	e.w, err = load(dev, cfg, get, plan, decoder)
	return err
}

// Close frees the device buffers.
func (e *core) Close() {
	if e == nil {
		return
	}
	if e.w != nil {
		e.w.close()
	}
	e.mm.Close()
	e.ones.Close()
	e.zero.Close()
	e.w, e.mm, e.ones, e.zero = nil, nil, nil, nil
}

// fmap is a feature map on the device: HWC [H][W][C].
type fmap struct {
	buf     *vk.Buffer
	b       vk.Binding
	c, h, w int
}

// run is one encode: the sequence being recorded and every buffer it allocated.
type run struct {
	e    *core
	s    *vk.Sequence
	bufs []*vk.Buffer
	mats []*gpu.Matrix
	err  error
	// col is the im2col scratch every convolution reuses (the sequence orders the reuse), grown
	// when a convolution needs more.
	col       vk.Binding
	colFloats int
	// kinds names the layer type of each dispatch recorded so far (tag), and gemms the matmul
	// shape of every convolution band, in order: the benchmarks' per-layer-type figures.
	kinds []string
	gemms []convGEMM
}

// convGEMM is the matrix product one band of a convolution runs: the kernel matrix by n patches.
type convGEMM struct {
	m *gpu.Matrix
	n int
}

// Layer types of the dispatches (tag).
const (
	kindConv      = "conv"
	kindNorm      = "norm"
	kindAttention = "attention"
	kindQuantizer = "quantizer"
)

// tag gives the dispatches recorded since the last tag the layer type kind.
func (r *run) tag(kind string) {
	for len(r.kinds) < len(r.s.Work()) {
		r.kinds = append(r.kinds, kind)
	}
}

func (r *run) close() {
	for _, b := range r.bufs {
		b.Close()
	}
	for _, m := range r.mats {
		m.Close()
	}
	r.s.Close()
}

// fail keeps the first error; later steps become no-ops.
func (r *run) fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

func (r *run) alloc(floats int) (*vk.Buffer, vk.Binding) {
	if r.err != nil {
		return nil, vk.Binding{}
	}
	b, err := r.e.dev.NewBuffer(4*int64(floats), vk.DeviceLocal, 0)
	if err != nil {
		r.fail(err)
		return nil, vk.Binding{}
	}
	r.bufs = append(r.bufs, b)
	bd, err := b.All()
	r.fail(err)
	return b, bd
}

func (r *run) newMap(c, h, w int) fmap {
	b, bd := r.alloc(c * h * w)
	return fmap{b, bd, c, h, w}
}

// conv records a convolution of x by the kernel named p into a new map, or into *acc (added to
// it).
func (r *run) conv(p string, x fmap, shape gpu.ConvShape, acc *fmap) fmap {
	return r.convTo(p, x, shape, acc, acc != nil)
}

// convTo records a convolution into dst (a new map when nil), added to it when accumulate.
func (r *run) convTo(p string, x fmap, shape gpu.ConvShape, dst *fmap, accumulate bool) fmap {
	if r.err != nil {
		return fmap{}
	}
	cw := r.e.w.convs[p]
	if cw == nil {
		r.fail(fmt.Errorf("vision: no kernel %q", p))
		return fmap{}
	}
	return r.convWith(cw, x, shape, dst, accumulate)
}

func (r *run) convWith(cw *gpu.ConvWeight, x fmap, shape gpu.ConvShape, dst *fmap, accumulate bool) fmap {
	if r.err != nil {
		return fmap{}
	}
	shape.H, shape.W = x.h, x.w
	if shape.Stride == 0 {
		shape.Stride = 1
	}
	oh, ow := shape.Out(cw.K)
	if need := r.e.conv.ColFloats(cw, shape); need > r.colFloats {
		_, r.col = r.alloc(need)
		r.colFloats = need
	}
	col := r.col
	var y fmap
	if dst != nil {
		y = *dst
	} else {
		y = r.newMap(cw.Out, oh, ow)
	}
	if r.err != nil {
		return fmap{}
	}
	r.fail(r.e.conv.Record(r.s, cw, shape, gpu.VQConvArgs{X: x.b, Col: col, Y: y.b, Accumulate: accumulate}))
	r.tag(kindConv)
	band := max(r.e.conv.ColFloats(cw, shape)/cw.M.Cols, 1)
	for p0 := 0; p0 < oh*ow; p0 += band {
		r.gemms = append(r.gemms, convGEMM{cw.M, min(band, oh*ow-p0)})
	}
	return y
}

func same3() gpu.ConvShape { return gpu.ConvShape{Top: 1, Bottom: 1, Left: 1, Right: 1} }

// vectors binds two per-channel vectors of the weights (a norm's scale and shift).
func (r *run) vectors(a, b string) (vk.Binding, vk.Binding, bool) {
	va, vb := r.e.w.vecs[a], r.e.w.vecs[b]
	if va == nil || vb == nil {
		r.fail(fmt.Errorf("vision: no vectors %q and %q", a, b))
		return vk.Binding{}, vk.Binding{}, false
	}
	ba, err := va.All()
	r.fail(err)
	bb, err := vb.All()
	r.fail(err)
	return ba, bb, r.err == nil
}

// norm records GroupNorm (then SiLU when silu) of x into a new map.
func (r *run) norm(p string, x fmap, silu bool) fmap {
	y := r.newMap(x.c, x.h, x.w)
	if r.err != nil {
		return fmap{}
	}
	gb, bb, ok := r.vectors(p+".weight", p+".bias")
	if !ok {
		return fmap{}
	}
	r.fail(r.e.gn.Record(r.s, gpu.GroupNormArgs{X: x.b, Gamma: gb, Beta: bb, Y: y.b, N: x.h * x.w, C: x.c,
		Groups: groups, Eps: groupEps, SiLU: silu}))
	r.tag(kindNorm)
	return y
}

// resBlock records a ResnetBlock of x (which it may consume) with out channels.
func (r *run) resBlock(p string, x fmap, out int) fmap {
	h := r.norm(p+".norm1", x, true)
	h = r.conv(p+".conv1", h, same3(), nil)
	h = r.norm(p+".norm2", h, true)
	if x.c != out {
		sc := r.conv(p+".nin_shortcut", x, gpu.ConvShape{}, nil)
		return r.conv(p+".conv2", h, same3(), &sc)
	}
	return r.conv(p+".conv2", h, same3(), &x) // x + conv2(h), in place
}

// attn records an AttnBlock on x in place: one head of width C, scores q.k / sqrt(C).
func (r *run) attn(p string, x fmap) fmap {
	return r.attnNormed(p, x, r.norm(p+".norm", x, false))
}

// attnNormed is the attention of an AttnBlock whose norm gave nx (a GroupNorm in the encoder, a
// SpatialNorm in the decoder), added to x in place.
func (r *run) attnNormed(p string, x, nx fmap) fmap {
	if r.err != nil {
		return fmap{}
	}
	n, c := x.h*x.w, x.c
	q := r.conv(p+".q", nx, gpu.ConvShape{}, nil)
	v := r.conv(p+".v", nx, gpu.ConvShape{}, nil)
	km, err := gpu.NewActivationMatrix(r.e.dev, n, c) // keys as the weight of the score product
	if err != nil {
		r.fail(err)
		return fmap{}
	}
	r.mats = append(r.mats, km)
	kb, err := km.Buffer().All()
	r.fail(err)
	k := fmap{km.Buffer(), kb, c, x.h, x.w}
	if gpu.ActivationStride(c) != c {
		r.fail(fmt.Errorf("vision: attention width %d is not a multiple of 32", c))
		return fmap{}
	}
	r.convTo(p+".k", nx, gpu.ConvShape{}, &k, false)
	vt, err := gpu.NewActivationMatrix(r.e.dev, c, n) // values transposed, rows padded with zeros
	if err != nil {
		r.fail(err)
		return fmap{}
	}
	r.mats = append(r.mats, vt)
	vtb, err := vt.Buffer().All()
	r.fail(err)
	_, scores := r.alloc(n * n)
	o := r.newMap(c, x.h, x.w)
	if r.err != nil {
		return fmap{}
	}
	r.fail(r.e.ops.Transpose(r.s, v.b, vtb, n, c, gpu.ActivationStride(n)))
	r.fail(r.e.mm.Record(r.s, km, gpu.MatmulArgs{X: q.b, Y: scores, N: n}))
	r.fail(r.e.ops.Softmax(r.s, scores, n, n, float32(1/math.Sqrt(float64(c)))))
	r.fail(r.e.mm.Record(r.s, vt, gpu.MatmulArgs{X: scores, Y: o.b, N: n}))
	r.tag(kindAttention)
	return r.conv(p+".proj_out", o, gpu.ConvShape{}, &x)
}

// affine records y = silu(x*mul + add) into a new map (BatchNorm in evaluation, then SiLU).
func (r *run) affineSiLU(p string, x fmap) fmap {
	y := r.newMap(x.c, x.h, x.w)
	if r.err != nil {
		return fmap{}
	}
	mb, ab, ok := r.vectors(p+".mul", p+".add")
	if !ok {
		return fmap{}
	}
	r.fail(r.e.ops.Affine(r.s, x.b, mb, ab, y.b, x.h*x.w, x.c, true))
	r.tag(kindNorm)
	return y
}

// siluInPlace applies SiLU to x.
func (r *run) siluInPlace(x fmap) {
	if r.err != nil {
		return
	}
	ob, err := r.e.ones.Bind(0, 4*int64(x.c))
	r.fail(err)
	zb, err := r.e.zero.Bind(0, 4*int64(x.c))
	r.fail(err)
	r.fail(r.e.ops.Affine(r.s, x.b, ob, zb, x.b, x.h*x.w, x.c, true))
	r.tag(kindNorm) // an activation: counted with the norms, which carry the other SiLUs
}

// Latent records the encoder up to quant_conv for a preprocessed frame (CHW float32, the
// processor's output) and returns the latent z HWC [h/f][w/f][embed] and its grid.
func (e *Encoder) Latent(px []float32, h, w int) ([]float32, int, int, error) {
	r, z, err := e.record(px, h, w)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		return nil, 0, 0, err
	}
	if err := r.s.Run(); err != nil {
		return nil, 0, 0, err
	}
	res := make([]float32, z.c*z.h*z.w)
	if err := vk.ReadFloat32s(z.buf, 0, res); err != nil {
		return nil, 0, 0, err
	}
	return res, z.h, z.w, nil
}

// Encode returns the codes of a preprocessed frame, row-major h/f x w/f.
func (e *Encoder) Encode(px []float32, h, w int) ([]int32, error) {
	r, cb, n, err := e.recordCodes(px, h, w)
	if r != nil {
		defer r.close()
	}
	if err != nil {
		return nil, err
	}
	if err := r.s.Run(); err != nil {
		return nil, err
	}
	out := make([]int32, n)
	if err := vk.ReadInt32s(cb, 0, out); err != nil {
		return nil, err
	}
	return out, nil
}

// recordCodes records the whole encoder, quantizer included: the returned buffer receives the n
// codes.
func (e *Encoder) recordCodes(px []float32, h, w int) (*run, *vk.Buffer, int, error) {
	r, z, err := e.record(px, h, w)
	if err != nil {
		return r, nil, 0, err
	}
	n := z.h * z.w
	cb, codes := r.alloc(n)
	bb, err := e.w.book.All()
	if err != nil {
		return r, nil, 0, err
	}
	r.fail(e.q.Record(r.s, z.b, bb, codes, n, e.cfg.CodebookSize, e.cfg.EmbedDim))
	r.tag(kindQuantizer)
	return r, cb, n, r.err
}

// record records the encoder up to quant_conv: the returned map is the latent.
func (e *Encoder) record(px []float32, h, w int) (*run, fmap, error) {
	c := e.cfg
	f := c.SpatialFactor()
	if h <= 0 || w <= 0 || h%f != 0 || w%f != 0 || len(px) != c.InChannels*h*w {
		return nil, fmap{}, fmt.Errorf("vision: %d values for a %dx%d frame of %d channels; sides must be multiples of %d",
			len(px), w, h, c.InChannels, f)
	}
	s, err := e.dev.NewSequence()
	if err != nil {
		return nil, fmap{}, err
	}
	s.Timing = e.timing
	r := &run{e: &e.core, s: s}
	// The frame, CHW to HWC.
	x := r.newMap(c.InChannels, h, w)
	if r.err != nil {
		return r, fmap{}, r.err
	}
	hwc := make([]float32, len(px))
	n := h * w
	for ch := 0; ch < c.InChannels; ch++ {
		for i := 0; i < n; i++ {
			hwc[i*c.InChannels+ch] = px[ch*n+i]
		}
	}
	if err := vk.WriteFloat32s(x.buf, 0, hwc); err != nil {
		return r, fmap{}, err
	}

	hm := r.conv("encoder.conv_in", x, same3(), nil)
	for i, mult := range c.ChMult {
		for j := 0; j < c.NumResBlocks; j++ {
			hm = r.resBlock(fmt.Sprintf("encoder.down.%d.block.%d", i, j), hm, c.Ch*mult)
			if c.HasAttn(i) {
				hm = r.attn(fmt.Sprintf("encoder.down.%d.attn.%d", i, j), hm)
			}
		}
		if i != len(c.ChMult)-1 {
			// One zero row below and one column right, a stride-2 3x3 conv without other padding.
			hm = r.conv(fmt.Sprintf("encoder.down.%d.downsample.conv", i), hm, gpu.ConvShape{Stride: 2, Bottom: 1, Right: 1}, nil)
		}
	}
	hm = r.resBlock("encoder.mid.block_1", hm, hm.c)
	hm = r.attn("encoder.mid.attn_1", hm)
	hm = r.resBlock("encoder.mid.block_2", hm, hm.c)
	hm = r.norm("encoder.norm_out", hm, true)
	hm = r.conv("encoder.conv_out", hm, same3(), nil)

	// The temporal part: the 2-D encoder ran once; each level's output frames convolve each
	// distinct input frame once with the sum of its taps (temporalPlan), then SiLU.
	frames := make([]fmap, c.TemporalDownsampleFactor)
	for i := range frames {
		frames[i] = hm
	}
	for i, level := range e.plan {
		out := make([]fmap, len(level))
		for t, srcs := range level {
			for j, src := range srcs {
				if j == 0 {
					out[t] = r.convWith(e.w.time[i][t][j], frames[src.frame], same3(), nil, false)
				} else {
					r.convWith(e.w.time[i][t][j], frames[src.frame], same3(), &out[t], true)
				}
			}
			r.siluInPlace(out[t])
		}
		frames = out
	}
	if len(frames) != 1 {
		return r, fmap{}, fmt.Errorf("vision: %d frames after the temporal downsampling, want 1", len(frames))
	}
	// One frame remains: every causal 3-D conv from here reads only its last tap (loaded as 2-D).
	z := frames[0]
	for i := 0; i < c.NumResBlocks; i++ {
		p := fmt.Sprintf("encoder.time_res_stack.%d", i)
		t := r.affineSiLU(p+".norm1", z)
		t = r.conv(p+".conv1.conv", t, same3(), nil)
		t = r.affineSiLU(p+".norm2", t)
		z = r.conv(p+".conv2.conv", t, same3(), &z)
	}
	z = r.conv("quant_conv.conv", z, gpu.ConvShape{}, nil)
	return r, z, r.err
}
