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
)

// sizeofRequest is sizeof(udvla_request), the struct_size a request must carry.
const sizeofRequest = C.sizeof_udvla_request

// requestSizeABI1 and resultSizeABI1 are the sizes of the structs before the appended fields:
// callers built against the first ABI 1 header keep working. requestSizeFrames and
// resultSizeFrames are the second ABI 1 sizes, before the camera frames.
var (
	requestSizeABI1   = unsafe.Offsetof(C.udvla_request{}.budget_us)
	resultSizeABI1    = unsafe.Offsetof(C.udvla_result{}.early)
	requestSizeFrames = unsafe.Offsetof(C.udvla_request{}.frames)
	resultSizeFrames  = unsafe.Offsetof(C.udvla_result{}.future_frames)
)

// sizeofFrame is sizeof(udvla_frame).
const sizeofFrame = C.sizeof_udvla_frame

// request checks a C request against the model and copies it into an engine request, with its
// time budget (0: none); fn names the calling function in messages. The appended fields are read
// only from a struct that holds them.
func request(fn string, r *C.udvla_request, mi *modelInfo) (*engine.Request, time.Duration, error) {
	if r == nil {
		return nil, 0, errorf(statusNullPointer, "%s: request is NULL", fn)
	}
	cr := cRequest{
		structSize:      uint32(r.struct_size),
		mode:            int32(r.mode),
		instruction:     unsafe.Pointer(r.instruction),
		instructionLen:  uint64(r.instruction_len),
		instructionText: unsafe.Pointer(r.instruction_text),
		codes:           unsafe.Pointer(r.codes),
		codeCounts:      unsafe.Pointer(r.code_counts),
		numCameras:      uint64(r.num_cameras),
		seed:            uint64(r.seed),
		steps:           int32(r.steps),
		mask:            int32(r.mask),
		noCache:         int32(r.no_cache),
		reserved:        int32(r.reserved),
	}
	if uintptr(r.struct_size) == requestSizeFrames || r.struct_size == C.sizeof_udvla_request {
		cr.budgetUS, cr.actionSteps, cr.reserved3 = uint64(r.budget_us), int32(r.action_steps), int32(r.reserved3)
	}
	if r.struct_size == C.sizeof_udvla_request {
		cr.frames, cr.decodeFuture, cr.reserved4 = unsafe.Pointer(r.frames), int32(r.decode_future), int32(r.reserved4)
	}
	req, err := decodeRequest(fn, cr, mi)
	if err != nil {
		return nil, 0, err
	}
	return req, time.Duration(cr.budgetUS) * time.Microsecond, nil
}
