package main

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/udvla/udvla/engine"
)

// The frames of a request as decodeFrames reads them: a model without a vision tokenizer refuses
// frames and decode_future as UNSUPPORTED naming the camera; each bad frame gets its status; a
// good frame points into the caller's pixels, no more bytes than it needs.
func TestDecodeFrames(t *testing.T) {
	withVQ := fuzzModel(t)
	noVQ := *withVQ
	noVQ.hasVQ = false
	px := make([]byte, 3*7*5+4)
	good := cFrame{structSize: sizeofFrame, width: 7, height: 5, pixels: unsafe.Pointer(&px[0]), pixelsLen: uint(len(px))}
	request := func(main, wrist *cFrame, future int32) cRequest {
		ptrs := []unsafe.Pointer{unsafe.Pointer(main), unsafe.Pointer(wrist)}
		return cRequest{structSize: sizeofRequest, numCameras: 2, frames: unsafe.Pointer(&ptrs[0]), decodeFuture: future}
	}
	bad := func(edit func(*cFrame)) *cFrame {
		f := good
		edit(&f)
		return &f
	}
	for _, c := range []struct {
		mi     *modelInfo
		r      cRequest
		status status
		says   string
	}{
		{&noVQ, request(&good, nil, 0), statusUnsupported, "camera 0 (main): the model has no vision tokenizer"},
		{&noVQ, request(nil, nil, 1), statusUnsupported, "decode_future: the model has no vision tokenizer"},
		{withVQ, request(nil, bad(func(f *cFrame) { f.pixels = nil }), 0), statusNullPointer, "camera 1 (wrist): frame pixels is NULL"},
		{withVQ, request(bad(func(f *cFrame) { f.structSize = 4 }), nil, 0), statusStructSize, "frame struct_size 4"},
		{withVQ, request(bad(func(f *cFrame) { f.pixelsLen = 3*7*5 - 1 }), nil, 0), statusInvalidArgument, "pixel buffer holds 104 bytes"},
		{withVQ, request(bad(func(f *cFrame) { f.stride = 20 }), nil, 0), statusInvalidArgument, "stride 20"},
		{withVQ, request(bad(func(f *cFrame) { f.height = 1 << 20 }), nil, 0), statusInvalidArgument, "exceeds the limits"},
	} {
		err := decodeFrames("udvla_step", c.r, c.mi, new(engine.Request))
		if statusOf(err) != c.status || err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("status %d (%v), want %d saying %q", statusOf(err), err, c.status, c.says)
		}
	}
	req := new(engine.Request)
	if err := decodeFrames("udvla_step", request(&good, nil, 1), withVQ, req); err != nil {
		t.Fatal(err)
	}
	f := req.Frames[0]
	if len(req.Frames) != 2 || req.Frames[1] != nil || !req.DecodeFuture || f.Width != 7 || f.Height != 5 ||
		len(f.Pix) != 3*7*5 || &f.Pix[0] != &px[0] {
		t.Fatalf("decoded %+v", req)
	}
}
