package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
)

// maxSteps is the engine's bound on denoising steps.
const maxSteps = 1024

// requestBudget is a request's time budget, 0 for none (read only from a struct large enough to
// hold it; request has checked it).
func requestBudget(r *C.udvla_request) time.Duration {
	if r.struct_size != C.sizeof_udvla_request {
		return 0
	}
	return time.Duration(r.budget_us) * time.Microsecond
}

// maxBudgetUS bounds a step's time budget: a day.
const maxBudgetUS = 86400 * 1000000

// requestSizeABI1 and resultSizeABI1 are the sizes of the structs before the appended fields:
// callers built against the first ABI 1 header keep working.
var (
	requestSizeABI1 = unsafe.Offsetof(C.udvla_request{}.budget_us)
	resultSizeABI1  = unsafe.Offsetof(C.udvla_result{}.early)
)

// request checks a C request against the model and copies it into an engine request. Every check
// the engine would make is made here first, so that each failure gets its documented status.
func request(r *C.udvla_request, mi *modelInfo) (*engine.Request, error) {
	if r == nil {
		return nil, errorf(statusNullPointer, "udvla_step: request is NULL")
	}
	full := r.struct_size == C.sizeof_udvla_request
	if !full && uintptr(r.struct_size) != requestSizeABI1 {
		return nil, errorf(statusStructSize, "udvla_step: request struct_size %d, want %d (or %d, the first ABI 1 size)",
			r.struct_size, C.sizeof_udvla_request, requestSizeABI1)
	}
	if r.reserved != 0 || (full && r.reserved3 != 0) {
		return nil, errorf(statusInvalidArgument, "udvla_step: request.reserved and reserved3 must be 0")
	}
	if mi.vocab == nil {
		return nil, wrap(statusUnsupported, engine.ErrNoLayout)
	}
	req := &engine.Request{Seed: uint64(r.seed), NoCache: r.no_cache != 0}
	switch r.mode {
	case C.UDVLA_MODE_JD3P, C.UDVLA_MODE_AR_RESTRICTED, C.UDVLA_MODE_ID, C.UDVLA_MODE_AR:
		req.Mode = engine.Mode(r.mode) // the engine's values are the ABI's
	default:
		return nil, errorf(statusOutOfRange, "udvla_step: unknown mode %d (want UDVLA_MODE_JD3P, _ID, _AR or _AR_RESTRICTED)", r.mode)
	}
	switch r.mask {
	case C.UDVLA_MASK_MODEL_DEFAULT, -1: // -1: MODEL_DEFAULT in headers before the release rule became the default
		req.Mask = model.MaskDefault
	case C.UDVLA_MASK_RELEASE:
		req.Mask = model.MaskRelease
	case C.UDVLA_MASK_PAPER:
		req.Mask = model.MaskPaper
	default:
		return nil, errorf(statusOutOfRange, "udvla_step: unknown mask rule %d (want UDVLA_MASK_MODEL_DEFAULT, _RELEASE or _PAPER)", r.mask)
	}
	if req.Mask.Resolve(mi.decoding) == model.MaskCausal && req.Mode != engine.ModeAR && req.Mode != engine.ModeARRestricted {
		return nil, errorf(statusUnsupported, "udvla_step: the model's mask rule is causal (a checkpoint trained without a block mask): "+
			"it runs UDVLA_MODE_AR and _AR_RESTRICTED; name UDVLA_MASK_RELEASE or _PAPER to run the diffusion modes")
	}
	if r.steps < 0 || r.steps > maxSteps {
		return nil, errorf(statusOutOfRange, "udvla_step: steps %d outside [0, %d]", r.steps, maxSteps)
	}
	req.Steps = int(r.steps)
	if full {
		if r.action_steps < 0 || r.action_steps > maxSteps {
			return nil, errorf(statusOutOfRange, "udvla_step: action_steps %d outside [0, %d]", r.action_steps, maxSteps)
		}
		if r.budget_us > maxBudgetUS {
			return nil, errorf(statusOutOfRange, "udvla_step: budget_us %d exceeds %d (a day)", uint64(r.budget_us), maxBudgetUS)
		}
		req.ActionSteps = int(r.action_steps)
	}

	v := mi.vocab
	if n := uint64(r.instruction_len); n > 0 {
		if r.instruction == nil {
			return nil, errorf(statusNullPointer, "udvla_step: instruction is NULL, instruction_len %d", n)
		}
		if n > uint64(mi.maxInstruction) {
			return nil, errorf(statusOutOfRange, "udvla_step: instruction of %d tokens exceeds the engine's max_instruction %d", n, mi.maxInstruction)
		}
		ids := unsafe.Slice((*int32)(unsafe.Pointer(r.instruction)), int(n))
		for i, id := range ids {
			if id < 0 || id >= v.TextSize {
				return nil, errorf(statusOutOfRange, "udvla_step: instruction token %d is %d, not a text id [0, %d)", i, id, v.TextSize)
			}
		}
		req.Instruction = append([]int32(nil), ids...)
	} else if r.instruction_text != nil && *r.instruction_text != 0 {
		if !mi.hasText {
			return nil, errorf(statusUnsupported, "udvla_step: the model packs no text vocabulary: pass instruction tokens")
		}
		req.InstructionText = C.GoString(r.instruction_text)
	}

	cams := mi.decoding.Cameras
	if uint64(r.num_cameras) != uint64(len(cams)) {
		return nil, errorf(statusInvalidArgument, "udvla_step: codes for %d cameras, the model has %d", uint64(r.num_cameras), len(cams))
	}
	if r.codes == nil || r.code_counts == nil {
		return nil, errorf(statusNullPointer, "udvla_step: codes or code_counts is NULL")
	}
	ptrs := unsafe.Slice(r.codes, len(cams))
	counts := unsafe.Slice(r.code_counts, len(cams))
	for c, cam := range cams {
		if uint64(counts[c]) != uint64(cam.H*cam.W) {
			return nil, errorf(statusInvalidArgument, "udvla_step: camera %d (%s) has %d codes, its %dx%d grid needs %d",
				c, cam.Name, uint64(counts[c]), cam.H, cam.W, cam.H*cam.W)
		}
		if ptrs[c] == nil {
			return nil, errorf(statusNullPointer, "udvla_step: codes[%d] is NULL", c)
		}
		codes := unsafe.Slice((*int32)(unsafe.Pointer(ptrs[c])), cam.H*cam.W)
		for i, code := range codes {
			if code < 0 || code >= v.CodebookSize {
				return nil, errorf(statusOutOfRange, "udvla_step: camera %d (%s) code %d is %d, outside the codebook [0, %d)",
					c, cam.Name, i, code, v.CodebookSize)
			}
		}
		req.Codes = append(req.Codes, append([]int32(nil), codes...))
	}
	return req, nil
}
