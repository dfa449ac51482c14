package main

import (
	"slices"
	"unsafe"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
)

// maxSteps is the engine's bound on denoising steps.
const maxSteps = 1024

// The udvla.h constants decodeRequest compares with (main.go checks them against the header at
// build time).
const (
	modeJD3P, modeARRestricted      = 0, 1
	modeID, modeAR                  = 2, 3
	maskDef, maskRelease, maskPaper = 0, 1, 2
	maskReleaseKV                   = 4
	// maskDefOld is UDVLA_MASK_MODEL_DEFAULT in headers before the release rule became the default
	maskDefOld = -1
)

// cRequest is a udvla_request's fields as plain values, so that decoding needs no cgo and can be
// fuzzed (decode_fuzz_test.go). Pointers are the caller's: instruction points to instructionLen
// int32s, instructionText to a NUL-terminated string, codes to numCameras pointers to int32s and
// codeCounts to numCameras size_t (uint on every platform Go supports).
type cRequest struct {
	structSize                     uint32
	mode                           int32
	instruction                    unsafe.Pointer
	instructionLen                 uint64
	instructionText                unsafe.Pointer
	codes, codeCounts              unsafe.Pointer
	numCameras                     uint64
	seed                           uint64
	steps, mask, noCache, reserved int32
	// appended to ABI 1: zero in a struct of the first ABI 1 size
	budgetUS               uint64
	actionSteps, reserved3 int32
	// appended again: zero unless structSize is sizeofRequest. frames points to numCameras
	// pointers to udvla_frame (cFrame).
	frames                  unsafe.Pointer
	decodeFuture, reserved4 int32
}

// maxBudgetUS bounds a step's time budget: a day.
const maxBudgetUS = 86400 * 1000000

// decodeRequest checks a request against the model and copies it into an engine request. Every
// check the engine would make is made here first, so that each failure gets its documented
// status; no array is read before its length has been checked against the model.
func decodeRequest(fn string, r cRequest, mi *modelInfo) (*engine.Request, error) {
	full := r.structSize == sizeofRequest
	if !full && uintptr(r.structSize) != requestSizeABI1 && uintptr(r.structSize) != requestSizeFrames {
		return nil, errorf(statusStructSize, "%s: request struct_size %d, want %d (or %d and %d, the earlier ABI 1 sizes)",
			fn, r.structSize, sizeofRequest, requestSizeABI1, requestSizeFrames)
	}
	if r.reserved != 0 || r.reserved3 != 0 || r.reserved4 != 0 {
		return nil, errorf(statusInvalidArgument, "%s: request.reserved, reserved3 and reserved4 must be 0", fn)
	}
	if mi.vocab == nil {
		return nil, errorf(statusUnsupported, "%s: %v", fn, engine.ErrNoLayout)
	}
	req := &engine.Request{Seed: r.seed, NoCache: r.noCache != 0}
	switch r.mode {
	case modeJD3P, modeARRestricted, modeID, modeAR:
		req.Mode = engine.Mode(r.mode) // the engine's values are the ABI's
	default:
		return nil, errorf(statusOutOfRange, "%s: unknown mode %d (want UDVLA_MODE_JD3P, _ID, _AR or _AR_RESTRICTED)", fn, r.mode)
	}
	switch r.mask {
	case maskDef, maskDefOld:
		req.Mask = model.MaskDefault
	case maskRelease:
		req.Mask = model.MaskRelease
	case maskPaper:
		req.Mask = model.MaskPaper
	case maskReleaseKV:
		req.Mask = model.MaskReleaseKV
	default:
		return nil, errorf(statusOutOfRange, "%s: unknown mask rule %d (want UDVLA_MASK_MODEL_DEFAULT, _RELEASE, _PAPER or _RELEASE_KV)", fn, r.mask)
	}
	if req.Mask.Resolve(mi.decoding) == model.MaskCausal && req.Mode != engine.ModeAR && req.Mode != engine.ModeARRestricted {
		return nil, errorf(statusUnsupported, "%s: the model's mask rule is causal (a checkpoint trained without a block mask): "+
			"it runs UDVLA_MODE_AR and _AR_RESTRICTED; name UDVLA_MASK_RELEASE or _PAPER to run the diffusion modes", fn)
	}
	if r.steps < 0 || r.steps > maxSteps {
		return nil, errorf(statusOutOfRange, "%s: steps %d outside [0, %d]", fn, r.steps, maxSteps)
	}
	req.Steps = int(r.steps)
	if r.actionSteps < 0 || r.actionSteps > maxSteps {
		return nil, errorf(statusOutOfRange, "%s: action_steps %d outside [0, %d]", fn, r.actionSteps, maxSteps)
	}
	if r.budgetUS > maxBudgetUS {
		return nil, errorf(statusOutOfRange, "%s: budget_us %d exceeds %d (a day)", fn, r.budgetUS, maxBudgetUS)
	}
	req.ActionSteps = int(r.actionSteps)
	if err := decodeInstruction(fn, r, mi, req); err != nil {
		return nil, err
	}
	if err := decodeFrames(fn, r, mi, req); err != nil {
		return nil, err
	}
	if err := decodeCodes(fn, r, mi, req); err != nil {
		return nil, err
	}
	return req, nil
}

func decodeInstruction(fn string, r cRequest, mi *modelInfo, req *engine.Request) error {
	v := mi.vocab
	if n := r.instructionLen; n > 0 {
		if r.instruction == nil {
			return errorf(statusNullPointer, "%s: instruction is NULL, instruction_len %d", fn, n)
		}
		if n > uint64(mi.maxInstruction) {
			return errorf(statusOutOfRange, "%s: instruction of %d tokens exceeds the engine's max_instruction %d", fn, n, mi.maxInstruction)
		}
		ids := unsafe.Slice((*int32)(r.instruction), int(n)) // n <= max_instruction < 2^31
		for i, id := range ids {
			if id < 0 || id >= v.TextSize {
				return errorf(statusOutOfRange, "%s: instruction token %d is %d, not a text id [0, %d)", fn, i, id, v.TextSize)
			}
		}
		req.Instruction = append([]int32(nil), ids...)
		return nil
	}
	if text := cString(r.instructionText); text != "" {
		if !mi.hasText {
			return errorf(statusUnsupported, "%s: the model packs no text vocabulary: pass instruction tokens", fn)
		}
		req.InstructionText = text
	}
	return nil
}

func decodeCodes(fn string, r cRequest, mi *modelInfo, req *engine.Request) error {
	cams, v := mi.decoding.Cameras, mi.vocab
	if r.numCameras != uint64(len(cams)) {
		return errorf(statusInvalidArgument, "%s: codes for %d cameras, the model has %d", fn, r.numCameras, len(cams))
	}
	framed := func(c int) bool { return c < len(req.Frames) && req.Frames[c] != nil }
	if r.codes == nil || r.codeCounts == nil {
		if len(req.Frames) == len(cams) && !slices.Contains(req.Frames, nil) {
			return nil // every camera takes a frame
		}
		return errorf(statusNullPointer, "%s: codes or code_counts is NULL", fn)
	}
	ptrs := unsafe.Slice((*unsafe.Pointer)(r.codes), len(cams))
	counts := unsafe.Slice((*uint)(r.codeCounts), len(cams))
	req.Codes = make([][]int32, 0, len(cams))
	for c, cam := range cams {
		if framed(c) {
			if ptrs[c] != nil {
				return errorf(statusInvalidArgument, "%s: camera %d (%s) has both codes and a frame: set codes[%d] to NULL", fn, c, cam.Name, c)
			}
			req.Codes = append(req.Codes, nil)
			continue
		}
		if uint64(counts[c]) != uint64(cam.H*cam.W) {
			return errorf(statusInvalidArgument, "%s: camera %d (%s) has %d codes, its %dx%d grid needs %d",
				fn, c, cam.Name, uint64(counts[c]), cam.H, cam.W, cam.H*cam.W)
		}
		if ptrs[c] == nil {
			return errorf(statusNullPointer, "%s: codes[%d] is NULL", fn, c)
		}
		codes := unsafe.Slice((*int32)(ptrs[c]), cam.H*cam.W)
		for i, code := range codes {
			if code < 0 || code >= v.CodebookSize {
				return errorf(statusOutOfRange, "%s: camera %d (%s) code %d is %d, outside the codebook [0, %d)",
					fn, c, cam.Name, i, code, v.CodebookSize)
			}
		}
		req.Codes = append(req.Codes, append([]int32(nil), codes...))
	}
	return nil
}

// cString copies a NUL-terminated C string; nil is "".
func cString(p unsafe.Pointer) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}
