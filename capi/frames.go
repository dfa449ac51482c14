package main

/*
#include "udvla.h"
*/
import "C"

import (
	"unsafe"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/frame"
)

// cFrame is the layout of udvla_frame (checked against the header below, at build time), so that
// decoding needs no cgo and can be fuzzed.
type cFrame struct {
	structSize, width, height, stride uint32
	pixels                            unsafe.Pointer
	pixelsLen                         uint
}

// A cFrame laid out otherwise than udvla_frame fails the build (a constant index outside [0, 1)).
func _() {
	var x [1]struct{}
	var c C.udvla_frame
	var g cFrame
	_ = x[unsafe.Sizeof(c)-unsafe.Sizeof(g)]
	_ = x[unsafe.Offsetof(c.width)-unsafe.Offsetof(g.width)]
	_ = x[unsafe.Offsetof(c.height)-unsafe.Offsetof(g.height)]
	_ = x[unsafe.Offsetof(c.stride)-unsafe.Offsetof(g.stride)]
	_ = x[unsafe.Offsetof(c.pixels)-unsafe.Offsetof(g.pixels)]
	_ = x[unsafe.Offsetof(c.pixels_len)-unsafe.Offsetof(g.pixelsLen)]
}

// decodeFrames reads the request's camera frames, if any, into req.Frames and its decode_future
// flag. The pixels are the caller's, read during the call only: the frames point into them.
func decodeFrames(fn string, r cRequest, mi *modelInfo, req *engine.Request) error {
	req.DecodeFuture = r.decodeFuture != 0
	if req.DecodeFuture && !mi.hasVQ {
		return errorf(statusUnsupported, "%s: decode_future: the model has no vision tokenizer", fn)
	}
	if r.frames == nil {
		return nil
	}
	cams := mi.decoding.Cameras
	if r.numCameras != uint64(len(cams)) {
		return errorf(statusInvalidArgument, "%s: frames for %d cameras, the model has %d", fn, r.numCameras, len(cams))
	}
	ptrs := unsafe.Slice((*unsafe.Pointer)(r.frames), len(cams))
	req.Frames = make([]*frame.Frame, len(cams))
	for c, cam := range cams {
		if ptrs[c] == nil {
			continue
		}
		if !mi.hasVQ {
			return errorf(statusUnsupported, "%s: camera %d (%s): the model has no vision tokenizer: pass codes", fn, c, cam.Name)
		}
		cf := (*cFrame)(ptrs[c])
		if cf.structSize != sizeofFrame {
			return errorf(statusStructSize, "%s: camera %d (%s): frame struct_size %d, want %d", fn, c, cam.Name, cf.structSize, sizeofFrame)
		}
		if cf.pixels == nil {
			return errorf(statusNullPointer, "%s: camera %d (%s): frame pixels is NULL", fn, c, cam.Name)
		}
		f := &frame.Frame{Width: int(cf.width), Height: int(cf.height), Stride: int(cf.stride)}
		if cf.width > frame.MaxSide || cf.height > frame.MaxSide || cf.stride > 3*frame.MaxSide+(1<<20) {
			return errorf(statusInvalidArgument, "%s: camera %d (%s): frame %dx%d with stride %d exceeds the limits (sides up to %d)",
				fn, c, cam.Name, cf.width, cf.height, cf.stride, frame.MaxSide)
		}
		// Only the bytes the frame needs are sliced: pixels_len bounds them, Validate checks it.
		need := 0
		if f.Width > 0 && f.Height > 0 {
			need = (f.Height-1)*f.RowStride() + 3*f.Width
		}
		n := min(uint64(cf.pixelsLen), uint64(need))
		f.Pix = unsafe.Slice((*byte)(cf.pixels), int(n))
		if err := f.Validate(); err != nil {
			return errorf(statusInvalidArgument, "%s: camera %d (%s): %v", fn, c, cam.Name, err)
		}
		req.Frames[c] = f
	}
	return nil
}
