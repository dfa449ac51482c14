package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"unsafe"

	"github.com/udvla/udvla/engine"
)

// sizeofRequest is sizeof(udvla_request), the struct_size a request must carry.
const sizeofRequest = C.sizeof_udvla_request

// request checks a C request against the model and copies it into an engine request; fn names
// the calling function in messages.
func request(fn string, r *C.udvla_request, mi *modelInfo) (*engine.Request, error) {
	if r == nil {
		return nil, errorf(statusNullPointer, "%s: request is NULL", fn)
	}
	return decodeRequest(fn, cRequest{
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
	}, mi)
}
