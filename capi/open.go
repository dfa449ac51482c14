package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"errors"
	"os"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/model"
)

// openEngine is what a handle stands for: the engine and a snapshot of what its model is (taken
// at open, so that describing a model never touches the engine's mapped file).
type openEngine struct {
	eng   *engine.Engine
	info  *modelInfo
	steps stepContexts // the steps udvla_cancel stops
}

var engines handleTable[*openEngine]

//export uvi_open
func uvi_open(path *C.char, opts *C.udvla_open_options, out *C.udvla_engine) C.int {
	return export(func() error {
		if out == nil {
			return errorf(statusNullPointer, "udvla_open: out is NULL")
		}
		*out = 0
		if path == nil {
			return errorf(statusNullPointer, "udvla_open: model_path is NULL")
		}
		o, err := openOptions(opts)
		if err != nil {
			return err
		}
		h, err := open(C.GoString(path), o)
		if err != nil {
			return err
		}
		*out = C.udvla_engine(h)
		return nil
	})
}

// openOptions checks the C options and turns them into the engine's. UDVLA_VALIDATE and
// UDVLA_DEVICE are the engine's to apply (vk.Options.WithEnv), read when the device opens.
func openOptions(opts *C.udvla_open_options) (engine.Options, error) {
	o := engine.Options{Backend: engine.BackendVulkan}
	if opts == nil {
		return o, nil
	}
	if opts.struct_size != C.sizeof_udvla_open_options {
		return o, errorf(statusStructSize, "udvla_open: options struct_size %d, want %d", opts.struct_size, C.sizeof_udvla_open_options)
	}
	switch opts.backend {
	case C.UDVLA_BACKEND_VULKAN:
	case C.UDVLA_BACKEND_REFERENCE:
		o.Backend = engine.BackendReference
	default:
		return o, errorf(statusInvalidArgument, "udvla_open: unknown backend %d", opts.backend)
	}
	switch opts.validate {
	case C.UDVLA_VALIDATE_FROM_ENV:
	case C.UDVLA_VALIDATE_ON:
		o.Validate = true
	default:
		return o, errorf(statusInvalidArgument, "udvla_open: unknown validate setting %d", opts.validate)
	}
	// the upper bound depends on the model: engine.OpenFile checks it (InstructionLimitError)
	if opts.max_instruction < 0 {
		return o, errorf(statusInvalidArgument, "udvla_open: max_instruction %d is negative (0 takes the default)", opts.max_instruction)
	}
	o.MaxInstruction = int(opts.max_instruction)
	if opts.device != nil {
		o.Device = C.GoString(opts.device)
	}
	return o, nil
}

// open opens the model file once (so that its failures get NOT_FOUND or MODEL), prepares the
// engine on it and gives it a handle.
func open(path string, o engine.Options) (uint64, error) {
	if path == "" {
		return 0, errorf(statusNotFound, "udvla_open: empty model path")
	}
	if st, err := os.Stat(path); err != nil {
		return 0, wrap(statusNotFound, err)
	} else if st.IsDir() {
		return 0, errorf(statusNotFound, "%s: is a directory, not a model file", path)
	}
	f, err := model.Open(path)
	if err != nil {
		return 0, classifyOpenFile(err)
	}
	e, err := engine.OpenFile(f, o)
	var le *engine.InstructionLimitError
	if errors.As(err, &le) {
		return 0, errorf(statusOutOfRange, "udvla_open: max_instruction %d exceeds this model's limit %d (one forward embeds at most %d tokens: BOS, the instruction, the camera blocks and the region)",
			le.Requested, le.Limit, gpu.MaxTokens)
	}
	if err != nil {
		return 0, classifyOpenEngine(err, o.Backend)
	}
	info := describe(e, o)
	return engines.add(&openEngine{eng: e, info: info}), nil
}

//export uvi_close
func uvi_close(h C.udvla_engine) C.int {
	return export(func() error {
		if h == 0 {
			return nil
		}
		oe, err := engines.remove(uint64(h))
		if err != nil {
			return err
		}
		// Close waits for a step in progress on the engine; steps that start later find the
		// handle gone (CLOSED), or the engine closed (engine.ErrClosed, also CLOSED).
		if err := oe.eng.Close(); err != nil {
			return wrap(statusEngine, err)
		}
		return nil
	})
}

//export uvi_validation_messages
func uvi_validation_messages(h C.udvla_engine, count *C.uint64_t) C.int {
	return export(func() error {
		if count == nil {
			return errorf(statusNullPointer, "count is NULL")
		}
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		n, _ := oe.eng.ValidationMessages()
		*count = C.uint64_t(n)
		return nil
	})
}

//export uvi_live_engines
func uvi_live_engines() C.uint64_t {
	var n int
	protect(func() error { n = engines.len(); return nil })
	return C.uint64_t(n)
}
