package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
)

// modelInfo is what the C API says about a model, copied out of its configuration at open.
type modelInfo struct {
	arch           model.Arch
	vocab          *model.Vocab    // nil for a plain Llama checkpoint
	decoding       *model.Decoding // nil when vocab is nil
	hasText        bool
	hasActions     bool
	hasStats       bool
	hasVQ          bool // the model packs a vision tokenizer: frames in, future frames out
	horizon, dims  int
	maxInstruction int
	backend        engine.Backend
	backendName    string
	sizes          resultSizes
}

// resultSizes are the element counts of a step's outputs (tokens is the most action tokens).
type resultSizes struct {
	region, future, tokens, actions int
	frames                          int // bytes of the future frames, with a vision tokenizer
}

// describe snapshots an engine's model.
func describe(e *engine.Engine, o engine.Options) *modelInfo {
	return describeConfig(e.Config(), o, e.BackendName())
}

// describeConfig snapshots a model's configuration as opened with o.
func describeConfig(cfg *model.Config, o engine.Options, backendName string) *modelInfo {
	mi := &modelInfo{
		arch:           cfg.Arch,
		hasText:        len(cfg.TextBPE) > 0,
		maxInstruction: o.MaxInstruction,
		backend:        o.Backend,
		backendName:    backendName,
		hasVQ:          cfg.VQ != nil,
	}
	if mi.maxInstruction == 0 {
		mi.maxInstruction = 128 // engine.Options' default
	}
	if cfg.Vocab != nil && cfg.Decoding != nil {
		v := *cfg.Vocab
		v.HeaderIDs = append([]int32(nil), v.HeaderIDs...)
		d := *cfg.Decoding
		d.Cameras = append([]model.Camera(nil), d.Cameras...)
		mi.vocab, mi.decoding = &v, &d
		for _, c := range d.Cameras {
			// a future image block: BOI, the "1*H*W" header, IMG, H*W codes, EOF, EOI
			mi.sizes.region += 4 + len(v.HeaderTokens(c.H, c.W)) + c.H*c.W
			mi.sizes.future += c.H * c.W
			if cfg.VQ != nil {
				f := cfg.VQ.SpatialFactor()
				mi.sizes.frames += 3 * c.H * f * c.W * f
			}
		}
		mi.sizes.region += d.ActionLen
		mi.sizes.tokens = d.ActionLen - 1
		if cfg.Fast != nil {
			mi.hasActions = true
			mi.hasStats = len(cfg.Fast.Q01) > 0
			mi.horizon, mi.dims = cfg.Fast.Horizon, cfg.Fast.Dims
			mi.sizes.actions = mi.horizon * mi.dims
		}
	}
	return mi
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

//export uvi_get_model_info
func uvi_get_model_info(h C.udvla_engine, out *C.udvla_model_info) C.int {
	return export(func() error {
		if out == nil {
			return errorf(statusNullPointer, "udvla_get_model_info: out is NULL")
		}
		if out.struct_size != C.sizeof_udvla_model_info {
			return errorf(statusStructSize, "udvla_get_model_info: struct_size %d, want %d", out.struct_size, C.sizeof_udvla_model_info)
		}
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		mi := oe.info
		*out = C.udvla_model_info{struct_size: C.sizeof_udvla_model_info}
		out.has_layout = cbool(mi.vocab != nil)
		out.has_text_vocab = cbool(mi.hasText)
		out.has_actions = cbool(mi.hasActions)
		out.has_action_stats = cbool(mi.hasStats)
		a := mi.arch
		out.layers, out.hidden, out.heads = C.int32_t(a.Layers), C.int32_t(a.Hidden), C.int32_t(a.Heads)
		out.kv_heads, out.head_dim, out.ffn = C.int32_t(a.KVHeads), C.int32_t(a.HeadDim), C.int32_t(a.FFN)
		out.vocab_size = C.int32_t(a.Vocab)
		out.rope_theta, out.rms_eps = C.double(a.RopeTheta), C.double(a.RMSEps)
		if v := mi.vocab; v != nil {
			d := mi.decoding
			putVocab(&out.vocab, v, d.Cameras)
			out.default_steps = C.int32_t(d.Steps)
			out.action_len = C.int32_t(d.ActionLen)
			out.default_mask = cMask(d.Mask)
			out.num_cameras = C.int32_t(len(d.Cameras))
		}
		out.region_size = C.size_t(mi.sizes.region)
		out.future_codes_size = C.size_t(mi.sizes.future)
		out.action_tokens_max = C.size_t(mi.sizes.tokens)
		out.actions_size = C.size_t(mi.sizes.actions)
		out.action_horizon, out.action_dims = C.int32_t(mi.horizon), C.int32_t(mi.dims)
		out.max_instruction = C.int32_t(mi.maxInstruction)
		out.backend = C.int32_t(mi.backend)
		putString(out.backend_name[:], mi.backendName)
		return nil
	})
}

func putVocab(o *C.udvla_vocab_layout, v *model.Vocab, cams []model.Camera) {
	o.text_size, o.pad, o.boa, o.eoa = C.int32_t(v.TextSize), C.int32_t(v.Pad), C.int32_t(v.BOA), C.int32_t(v.EOA)
	o.eol, o.eof, o.mask, o.bos = C.int32_t(v.EOL), C.int32_t(v.EOF), C.int32_t(v.Mask), C.int32_t(v.BOS)
	o.eos, o.img, o.boi, o.eoi = C.int32_t(v.EOS), C.int32_t(v.IMG), C.int32_t(v.BOI), C.int32_t(v.EOI)
	o.visual_offset, o.codebook_size = C.int32_t(v.VisualOffset), C.int32_t(v.CodebookSize)
	o.fast_base, o.fast_size, o.fast_reversed = C.int32_t(v.FastBase), C.int32_t(v.FastSize), cbool(v.FastReversed)
	for i, d := range v.Digits {
		o.digits[i] = C.int32_t(d)
	}
	o.star = C.int32_t(v.Star)
	// a layout without explicit header ids decodes image positions over the ids its cameras'
	// headers spell (engine/seq); report those so the list is never empty
	ids := v.HeaderIDs
	if len(ids) == 0 {
		ids = v.HeaderIDSet(cams)
	}
	n := min(len(ids), len(o.header_ids))
	for i := 0; i < n; i++ {
		o.header_ids[i] = C.int32_t(ids[i])
	}
	o.num_header_ids = C.int32_t(n)
}

//export uvi_get_camera_info
func uvi_get_camera_info(h C.udvla_engine, index C.size_t, out *C.udvla_camera_info) C.int {
	return export(func() error {
		if out == nil {
			return errorf(statusNullPointer, "udvla_get_camera_info: out is NULL")
		}
		if out.struct_size != C.sizeof_udvla_camera_info {
			return errorf(statusStructSize, "udvla_get_camera_info: struct_size %d, want %d", out.struct_size, C.sizeof_udvla_camera_info)
		}
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		var cams []model.Camera
		if oe.info.decoding != nil {
			cams = oe.info.decoding.Cameras
		}
		if uint64(index) >= uint64(len(cams)) {
			return errorf(statusOutOfRange, "udvla_get_camera_info: camera %d of %d", uint64(index), len(cams))
		}
		c := cams[index]
		*out = C.udvla_camera_info{struct_size: C.sizeof_udvla_camera_info, height: C.int32_t(c.H), width: C.int32_t(c.W)}
		putString(out.name[:], c.Name)
		return nil
	})
}

// cMask is a model's rule as udvla.h numbers it.
func cMask(m model.MaskRule) C.int32_t {
	switch m {
	case model.MaskRelease:
		return C.UDVLA_MASK_RELEASE
	case model.MaskPaper:
		return C.UDVLA_MASK_PAPER
	}
	return C.UDVLA_MASK_CAUSAL
}
