package main

/*
#include <stdlib.h>
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/udvla/udvla/engine"
)

//export uvi_step
func uvi_step(h C.udvla_engine, req *C.udvla_request, res *C.udvla_result) C.int {
	return export(func() error {
		if res == nil {
			return errorf(statusNullPointer, "udvla_step: result is NULL")
		}
		if res.struct_size != C.sizeof_udvla_result && uintptr(res.struct_size) != resultSizeABI1 && uintptr(res.struct_size) != resultSizeFrames {
			return errorf(statusStructSize, "udvla_step: result struct_size %d, want %d (or %d and %d, the earlier ABI 1 sizes)",
				res.struct_size, C.sizeof_udvla_result, resultSizeABI1, resultSizeFrames)
		}
		clearOutputs(res)
		if res.reserved != 0 {
			return errorf(statusInvalidArgument, "udvla_step: result.reserved is %d, must be 0", res.reserved)
		}
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		r, budget, err := request("udvla_step", req, oe.info)
		if err != nil {
			return err
		}
		if err := checkBuffers(res, oe.info.sizes); err != nil {
			return err
		}
		out, err := oe.step(r, budget)
		if err != nil {
			return classifyStep(err)
		}
		return writeResult(res, out)
	})
}

// clearOutputs zeroes the fields a step writes, so a failed step leaves nothing stale.
func clearOutputs(res *C.udvla_result) {
	res.region_len, res.future_codes_len, res.action_tokens_len, res.actions_len = 0, 0, 0, 0
	res.action_horizon, res.action_dims, res.actions_complete, res.eoa_found = 0, 0, 0, 0
	res.generated, res.reserved2 = 0, 0
	res.total_ns, res.loop_ns, res.prefill_ns, res.gpu_ns = 0, 0, 0, 0
	if uintptr(res.struct_size) != resultSizeABI1 {
		res.early, res.steps_run = 0, 0
	}
	if res.struct_size == C.sizeof_udvla_result {
		res.future_frames_len = 0
	}
}

// checkBuffers checks the caller's buffers before the step runs (see checkOutputs); a short one
// fails with every *_len set to the size it needs.
func checkBuffers(res *C.udvla_result, need resultSizes) error {
	err := checkOutputs(outputsOf(res), need)
	if err == nil && res.struct_size == C.sizeof_udvla_result {
		err = checkOutput(framesOutput(res), need.frames)
	}
	if statusOf(err) == statusBufferTooSmall {
		res.region_len, res.future_codes_len = C.size_t(need.region), C.size_t(need.future)
		res.action_tokens_len, res.actions_len = C.size_t(need.tokens), C.size_t(need.actions)
		if res.struct_size == C.sizeof_udvla_result {
			res.future_frames_len = C.size_t(need.frames)
		}
	}
	return err
}

// framesOutput is the caller's future-frames buffer (bytes).
func framesOutput(res *C.udvla_result) output {
	return output{"future_frames", unsafe.Pointer(res.future_frames), uint64(res.future_frames_capacity)}
}

// outputsOf is the caller's four buffers as plain values.
func outputsOf(res *C.udvla_result) [4]output {
	return [4]output{
		{"region", unsafe.Pointer(res.region), uint64(res.region_capacity)},
		{"future_codes", unsafe.Pointer(res.future_codes), uint64(res.future_codes_capacity)},
		{"action_tokens", unsafe.Pointer(res.action_tokens), uint64(res.action_tokens_capacity)},
		{"actions", unsafe.Pointer(res.actions), uint64(res.actions_capacity)},
	}
}

// writeResult copies a step's outputs into the caller's buffers (checked by checkBuffers; the
// copies are bounded by the capacities all the same, and a capacity above the length written,
// SIZE_MAX included, is only an upper bound).
func writeResult(res *C.udvla_result, r *engine.Result) error {
	var future []int32
	for _, c := range r.FutureCodes {
		future = append(future, c...)
	}
	var actions []float32
	for _, row := range r.Actions {
		actions = append(actions, row...)
	}
	lens := []struct {
		name string
		n    int
		cap  C.size_t
	}{
		{"region", len(r.Region), res.region_capacity},
		{"future_codes", len(future), res.future_codes_capacity},
		{"action_tokens", len(r.ActionTokens), res.action_tokens_capacity},
		{"actions", len(actions), res.actions_capacity},
	}
	res.region_len, res.future_codes_len = C.size_t(len(r.Region)), C.size_t(len(future))
	res.action_tokens_len, res.actions_len = C.size_t(len(r.ActionTokens)), C.size_t(len(actions))
	for _, l := range lens {
		if l.cap != 0 && uint64(l.cap) < uint64(l.n) {
			return errorf(statusBufferTooSmall, "udvla_step: result.%s holds %d elements, the step made %d", l.name, uint64(l.cap), l.n)
		}
	}
	bufs := outputsOf(res)
	copyOut(bufs[0], r.Region)
	copyOut(bufs[1], future)
	copyOut(bufs[2], r.ActionTokens)
	copyOut(bufs[3], actions)
	if len(r.Actions) > 0 {
		res.action_horizon, res.action_dims = C.int32_t(len(r.Actions)), C.int32_t(len(r.Actions[0]))
	}
	res.actions_complete = cbool(r.ActionsComplete)
	res.eoa_found = cbool(r.EOAFound)
	res.generated = C.int32_t(r.Generated)
	t := r.Timings
	res.total_ns, res.loop_ns = C.uint64_t(t.Total.Nanoseconds()), C.uint64_t(t.Loop.Nanoseconds())
	res.prefill_ns, res.gpu_ns = C.uint64_t(t.Prefill.Nanoseconds()), C.uint64_t(t.GPU.Nanoseconds())
	if uintptr(res.struct_size) != resultSizeABI1 { // a first-ABI-1 struct ends before them
		res.early, res.steps_run = cbool(r.Early), C.int32_t(r.StepsRun)
	}
	if res.struct_size == C.sizeof_udvla_result {
		return writeFutureFrames(res, r)
	}
	return nil
}

// writeFutureFrames copies the future frames, camera after camera, into the caller's buffer.
func writeFutureFrames(res *C.udvla_result, r *engine.Result) error {
	var px []byte
	for _, f := range r.FutureFrames {
		px = append(px, f.Pix...)
	}
	res.future_frames_len = C.size_t(len(px))
	b := framesOutput(res)
	if b.cap != 0 && b.cap < uint64(len(px)) {
		return errorf(statusBufferTooSmall, "udvla_step: result.future_frames holds %d bytes, the step made %d", b.cap, len(px))
	}
	copyOut(b, px)
	return nil
}

// allocs are the results udvla_step_alloc handed out, so that udvla_result_free can refuse a
// pointer it did not allocate or already freed. They are C memory: the key is only an address.
var allocs struct {
	sync.Mutex
	live map[uintptr]bool
}

//export uvi_step_alloc
func uvi_step_alloc(h C.udvla_engine, req *C.udvla_request, out **C.udvla_result) C.int {
	return export(func() error {
		if out == nil {
			return errorf(statusNullPointer, "udvla_step_alloc: out is NULL")
		}
		*out = nil
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		r, budget, err := request("udvla_step_alloc", req, oe.info)
		if err != nil {
			return err
		}
		res, err := oe.step(r, budget)
		if err != nil {
			return classifyStep(err)
		}
		p, err := allocResult(res)
		if err != nil {
			return err
		}
		*out = p
		return nil
	})
}

// allocResult puts a result and its four arrays in one C allocation.
func allocResult(r *engine.Result) (*C.udvla_result, error) {
	nFuture, nActions := 0, 0
	for _, c := range r.FutureCodes {
		nFuture += len(c)
	}
	for _, row := range r.Actions {
		nActions += len(row)
	}
	nFrames := 0
	for _, f := range r.FutureFrames {
		nFrames += len(f.Pix)
	}
	head := C.size_t(C.sizeof_udvla_result)
	ints := len(r.Region) + nFuture + len(r.ActionTokens)
	total := head + C.size_t(4*(ints+nActions)+nFrames)
	mem := C.calloc(1, total)
	if mem == nil {
		return nil, errorf(statusEngine, "udvla_step_alloc: out of memory (%d bytes)", uint64(total))
	}
	res := (*C.udvla_result)(mem)
	res.struct_size = C.sizeof_udvla_result
	at := unsafe.Add(mem, head)
	take := func(n int) unsafe.Pointer {
		p := at
		at = unsafe.Add(at, 4*n)
		return p
	}
	res.region, res.region_capacity = (*C.int32_t)(take(len(r.Region))), C.size_t(len(r.Region))
	res.future_codes, res.future_codes_capacity = (*C.int32_t)(take(nFuture)), C.size_t(nFuture)
	res.action_tokens, res.action_tokens_capacity = (*C.int32_t)(take(len(r.ActionTokens))), C.size_t(len(r.ActionTokens))
	res.actions, res.actions_capacity = (*C.float)(take(nActions)), C.size_t(nActions)
	if nFrames > 0 {
		res.future_frames, res.future_frames_capacity = (*C.uint8_t)(at), C.size_t(nFrames)
	}
	if err := writeResult(res, r); err != nil {
		C.free(mem)
		return nil, err
	}
	allocs.Lock()
	defer allocs.Unlock()
	if allocs.live == nil {
		allocs.live = map[uintptr]bool{}
	}
	allocs.live[uintptr(mem)] = true
	return res, nil
}

//export uvi_result_free
func uvi_result_free(res *C.udvla_result) C.int {
	return export(func() error {
		if res == nil {
			return nil
		}
		allocs.Lock()
		defer allocs.Unlock()
		p := uintptr(unsafe.Pointer(res))
		if !allocs.live[p] {
			return errorf(statusInvalidArgument, "udvla_result_free: %#x is not a live result of udvla_step_alloc", p)
		}
		delete(allocs.live, p)
		C.free(unsafe.Pointer(res))
		return nil
	})
}

//export uvi_live_results
func uvi_live_results() C.uint64_t {
	var n int
	protect(func() error {
		allocs.Lock()
		defer allocs.Unlock()
		n = len(allocs.live)
		return nil
	})
	return C.uint64_t(n)
}
