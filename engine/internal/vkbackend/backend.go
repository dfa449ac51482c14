// Package vkbackend runs the model with Vulkan compute: it uploads the weights, records each
// request shape's forward passes and decoding loop once (a plan) and replays them for every
// request of that shape. It is the engine's device backend; package engine/vk below it is the
// Vulkan binding it records with.
package vkbackend

import (
	"fmt"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// vkKernels are the pipelines of every shader the forward and the decoding loop use.
type vkKernels struct {
	embed   *gpu.Embed
	rms     *gpu.RMSNorm
	rope    *gpu.RoPE
	attn    *gpu.Attention
	silu    *gpu.SiLUMul
	mm      *gpu.Matmul
	sample  *gpu.Sample
	sel     *gpu.Select
	relMask *gpu.ReleaseMask
	argmax  *gpu.ArgmaxAR
}

// vkActs are the activations, sized once per engine for the longest sequence it accepts.
type vkActs struct {
	x, h, q, kt, att, gate, up, act *vk.Buffer // [maxL][width]
	kc, vc                          []*vk.Buffer
	fin                             *vk.Buffer // final-normed rows that feed lm_head [maxL][hidden]
	idsAll, idsRegion               *vk.Buffer // int32 [maxL], [maxN]
	posAll, posRegion               *vk.Buffer // int32 [maxL], [maxN]
	idsTail, posTail                *vk.Buffer // int32 [maxL]: the positions after a cached text
	mask                            *vk.Buffer // int32 mask words [maxL]
	reach                           *vk.Buffer // int32 [maxL]: one past the last key each position sees
	logits                          *vk.Buffer // float32 [maxN*maxAllowed] or [maxL*vocab rows]
	state, sampled, conf, c, out    *vk.Buffer // [maxN]
	arToken, arPos                  *vk.Buffer // int32 [1]: the token an AR pass forwards, and its position
	params                          *vk.Buffer // StepParams slots: each step of the loops, or the AR pass
	vocabIDs                        *vk.Buffer // int32 [vocab]: 0, 1, ..., the space of unconstrained AR
	all                             []*vk.Buffer
}

// vkSpaces are the decoding spaces' ids: int32 [the model's largest space of each kind], sized
// and allocated once per engine, since every recording of a request shape binds them.
type vkSpaces [seq.NumSpaces]*vk.Buffer

// Backend runs the model with Vulkan compute. Its methods are not safe for concurrent use.
type Backend struct {
	dev  *vk.Device
	cfg  *model.Config
	a    model.Arch
	w    *vkWeights
	k    vkKernels
	acts vkActs
	// allowed holds a request's decoding spaces
	allowed vkSpaces
	maxL    int
	maxN    int
	// logitsRows is the number of float32s the logits buffer holds.
	logitsFloats int64
	// recordings per request shape, replayed for every request of that shape
	plans     map[planKey]*vkPlan
	planOrder []planKey // oldest first: at most MaxPlans recordings are kept
	// the plan the last Decode ran, its job and the loop segments it ran: what Profile reads
	last     *vkPlan
	lastJob  *decode.Job
	lastRuns []loopRun
	// segments is the number of segments a denoising loop is cut into (loopSegments; tests and
	// benchmarks set others)
	segments int
	// trace, when set (tests only), reads the region state back after every step into states:
	// a readback the decoding loop otherwise never does.
	trace  bool
	states [][]int32

	// kernels names the variant of each op family the pipelines were built from.
	kernels gpu.Kernels
}

// Options configure Open.
type Options struct {
	Device         string // a device index or name substring; empty takes UDVLA_DEVICE, else the best
	Validate       bool   // the Khronos validation layer
	Kernels        string // the kernel table's overrides, "family=variant,..." (vk.Options.Kernels)
	MaxInstruction int    // sizes the buffers with decode.SequenceLimits
	Header         func(h, w int) []int32
}

// Open uploads a model file's weights to a Vulkan device and allocates the buffers of the longest
// request the options allow.
func Open(f *model.File, opts Options) (_ *Backend, err error) {
	// vk.Open applies UDVLA_VALIDATE, and UDVLA_DEVICE when no device is named
	vo := vk.Options{Device: opts.Device, Validate: opts.Validate, SyncValidate: opts.Validate, Robust: opts.Validate,
		Kernels: opts.Kernels}
	dev, err := vk.Open(vo)
	if err != nil {
		return nil, err
	}
	b := &Backend{dev: dev, cfg: &f.Config, a: f.Config.Arch, plans: map[planKey]*vkPlan{}, segments: loopSegments}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	b.maxL, b.maxN = decode.SequenceLimits(&f.Config, opts.MaxInstruction, opts.Header)
	if b.w, err = uploadWeights(dev, f); err != nil {
		return nil, err
	}
	if err = b.makeKernels(); err != nil {
		return nil, err
	}
	for sp, n := range spaceLimits(b.cfg) {
		if b.allowed[sp], err = dev.NewBuffer(4*int64(max(n, 1)), vk.DeviceLocal, 0); err != nil {
			return nil, fmt.Errorf("udvla: allocate decoding spaces: %w", err)
		}
	}
	if err = b.allocate(); err != nil {
		return nil, err
	}
	return b, nil
}

// spaceLimits bounds the size of each decoding space of the model's layout (seq.Build): the
// image space is the codebook, IMG, EOF and the size-header ids, the action space the FAST ids
// and EOA. Zero without a layout.
func spaceLimits(cfg *model.Config) (n [seq.NumSpaces]int) {
	v := cfg.Vocab
	if v == nil || cfg.Decoding == nil {
		return n
	}
	n[seq.SpaceImage] = int(v.CodebookSize) + 2 + max(len(v.HeaderIDs), len(v.HeaderIDSet(cfg.Decoding.Cameras)))
	n[seq.SpaceAction] = int(v.FastSize) + 1
	return n
}

// Name names the backend and its device.
func (b *Backend) Name() string { return "vulkan: " + b.dev.Info.Name }

func (b *Backend) makeKernels() (err error) {
	a, dev, k := b.a, b.dev, &b.k
	if b.kernels, err = gpu.KernelsFor(dev); err != nil {
		return err
	}
	if k.embed, err = gpu.NewEmbed(dev); err != nil {
		return err
	}
	if k.rms, err = gpu.NewRMSNorm(dev, a.RMSEps); err != nil {
		return err
	}
	if k.rope, err = gpu.NewRoPE(dev, a.Heads, a.KVHeads, a.HeadDim, a.RopeTheta, b.maxL); err != nil {
		return err
	}
	if k.attn, err = gpu.NewAttention(dev, gpu.AttentionShape{Heads: a.Heads, KVHeads: a.KVHeads, HeadDim: a.HeadDim}); err != nil {
		return err
	}
	b.kernels.Attention = k.attn.Variant() // a head dim the chosen variant cannot take falls back
	if k.silu, err = gpu.NewSiLUMul(dev); err != nil {
		return err
	}
	if k.mm, err = gpu.NewMatmul(dev, b.w.dtypes()...); err != nil {
		return err
	}
	if v := b.cfg.Vocab; v != nil {
		t := gpu.Tokens{Mask: v.Mask, BOA: v.BOA, EOA: v.EOA, BOI: v.BOI, EOI: v.EOI, Pad: v.Pad}
		if k.sample, err = gpu.NewSample(dev, t); err != nil {
			return err
		}
		if k.sel, err = gpu.NewSelect(dev, t); err != nil {
			return err
		}
		if b.maxN > k.sel.MaxPositions() {
			return fmt.Errorf("udvla: a region of %d positions exceeds the device's selection limit %d", b.maxN, k.sel.MaxPositions())
		}
		if k.relMask, err = gpu.NewReleaseMask(dev, t); err != nil {
			return err
		}
		if k.argmax, err = gpu.NewArgmaxAR(dev, t); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) allocate() error {
	a, L, N := b.a, b.maxL, max(b.maxN, 1)
	qw, kw := a.Heads*a.HeadDim, a.KVHeads*a.HeadDim
	acts := &b.acts
	f32 := func(name string, dst **vk.Buffer, rows, width int) error {
		buf, err := b.dev.NewBuffer(int64(rows)*int64(width)*4, vk.DeviceLocal, int64(width)*4)
		if err != nil {
			return fmt.Errorf("udvla: allocate activations %s: %w", name, err)
		}
		*dst = buf
		acts.all = append(acts.all, buf)
		return nil
	}
	for _, s := range []struct {
		name  string
		dst   **vk.Buffer
		rows  int
		width int
	}{
		{"x", &acts.x, L, a.Hidden}, {"h", &acts.h, L, a.Hidden}, {"q", &acts.q, L, qw}, {"k", &acts.kt, L, kw},
		{"attention", &acts.att, L, qw}, {"gate", &acts.gate, L, a.FFN}, {"up", &acts.up, L, a.FFN},
		{"act", &acts.act, L, a.FFN}, {"final", &acts.fin, L, a.Hidden},
		{"ids", &acts.idsAll, L, 1}, {"region ids", &acts.idsRegion, N, 1}, {"positions", &acts.posAll, L, 1},
		{"region positions", &acts.posRegion, N, 1}, {"tail ids", &acts.idsTail, L, 1}, {"tail positions", &acts.posTail, L, 1},
		{"mask", &acts.mask, L, 1}, {"reach", &acts.reach, L, 1}, {"state", &acts.state, N, 1}, {"sampled", &acts.sampled, N, 1},
		{"confidence", &acts.conf, N, 1}, {"c", &acts.c, N, 1}, {"out", &acts.out, N, 1},
		{"AR token", &acts.arToken, 1, 1}, {"AR position", &acts.arPos, 1, 1},
		{"step parameters", &acts.params, 2 * maxLoopSteps, b.paramsStride() / 4}, {"vocabulary ids", &acts.vocabIDs, a.Vocab, 1},
	} {
		if err := f32(s.name, s.dst, s.rows, s.width); err != nil {
			return err
		}
	}
	acts.kc = make([]*vk.Buffer, a.Layers)
	acts.vc = make([]*vk.Buffer, a.Layers)
	for i := 0; i < a.Layers; i++ {
		if err := f32(fmt.Sprintf("key cache %d", i), &acts.kc[i], L, kw); err != nil {
			return err
		}
		if err := f32(fmt.Sprintf("value cache %d", i), &acts.vc[i], L, kw); err != nil {
			return err
		}
	}
	// Logits: the restricted lm_head of the region (each space's rows), or full rows for Logits()
	// in chunks of the sequence.
	spaces := spaceLimits(b.cfg)
	maxAllowed := max(spaces[seq.SpaceImage], spaces[seq.SpaceAction])
	// the action logits start at an offset aligned to 64 floats
	b.logitsFloats = max(int64(N)*int64(maxAllowed)+64, int64(a.Vocab))
	width := int64(max(maxAllowed, a.Vocab))
	if err := f32("logits", &acts.logits, int((b.logitsFloats+width-1)/width), int(width)); err != nil {
		return err
	}
	b.logitsFloats = acts.logits.Size() / 4
	pos := make([]int32, max(L, a.Vocab))
	for i := range pos {
		pos[i] = int32(i)
	}
	if err := vk.WriteInt32s(acts.vocabIDs, 0, pos[:a.Vocab]); err != nil {
		return err
	}
	return vk.WriteInt32s(acts.posAll, 0, pos[:L])
}

func (w *vkWeights) dtypes() []quant.DType {
	seen := map[quant.DType]bool{}
	var out []quant.DType
	add := func(m *gpu.Matrix) {
		if m != nil && !seen[m.DType] {
			seen[m.DType] = true
			out = append(out, m.DType)
		}
	}
	for _, l := range w.layers {
		for _, m := range []*gpu.Matrix{l.wq, l.wk, l.wv, l.wo, l.wgate, l.wup, l.wdown} {
			add(m)
		}
	}
	add(w.lmHead)
	return out
}

// Close frees every device resource.
func (b *Backend) Close() {
	for _, p := range b.plans {
		p.close()
	}
	for _, buf := range b.acts.all {
		buf.Close()
	}
	for _, buf := range b.allowed {
		buf.Close()
	}
	b.w.close()
	if b.k.mm != nil {
		b.k.mm.Close()
	}
	if b.k.rope != nil {
		b.k.rope.Close()
	}
	b.dev.Close()
}

// recorder appends to a sequence and keeps the first error, so that recording code reads as a
// list of operations.
type recorder struct {
	s   *vk.Sequence
	err error
}

func (r *recorder) check(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// rows returns rows [r0, r0+n) of a buffer of rows of width 4-byte elements.
func (r *recorder) rows(buf *vk.Buffer, r0, n, width int) vk.Binding {
	bd, err := buf.Bind(int64(r0)*int64(width)*4, int64(n)*int64(width)*4)
	r.check(err)
	return bd
}

// DeviceInfo describes the backend's device.
func (b *Backend) DeviceInfo() vk.DeviceInfo { return b.dev.Info }

// Device is the backend's device, on which the engine runs the model's vision tokenizer beside
// the language model.
func (b *Backend) Device() *vk.Device { return b.dev }

// ValidationMessages is the count of the device's validation messages since it was opened, and
// the kept texts of the first ones.
func (b *Backend) ValidationMessages() (uint64, []string) {
	in := b.dev.Instance()
	return in.MessageCount(), in.Messages(0)
}

// Kernels names the variant of each op family the pipelines were built from.
func (b *Backend) Kernels() gpu.Kernels { return b.kernels }
