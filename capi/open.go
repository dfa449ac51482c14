package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"os"

	"github.com/udvla/udvla/engine"
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

// maxInstructionLimit bounds udvla_open_options.max_instruction, which sizes device buffers.
const maxInstructionLimit = 1 << 16

//export udvla_open
func udvla_open(path *C.char, opts *C.udvla_open_options, out *C.udvla_engine) C.int {
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

// openOptions checks the C options and turns them into the engine's.
func openOptions(opts *C.udvla_open_options) (engine.Options, error) {
	o := engine.Options{Backend: engine.BackendVulkan}
	if v := os.Getenv("UDVLA_VALIDATE"); v != "" && v != "0" {
		o.Validate = true
	}
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
	if opts.max_instruction < 0 || opts.max_instruction > maxInstructionLimit {
		return o, errorf(statusInvalidArgument, "udvla_open: max_instruction %d outside [0, %d]", opts.max_instruction, maxInstructionLimit)
	}
	o.MaxInstruction = int(opts.max_instruction)
	if opts.device != nil {
		o.Device = C.GoString(opts.device)
	}
	return o, nil
}

// open checks the model file (so that its failures get NOT_FOUND or MODEL), opens the engine and
// gives it a handle.
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
	f.Close()
	e, err := engine.Open(path, o)
	if err != nil {
		return 0, classifyOpenEngine(err, o.Backend)
	}
	info := describe(e, o)
	return engines.add(&openEngine{eng: e, info: info}), nil
}

//export udvla_close
func udvla_close(h C.udvla_engine) C.int {
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

//export udvla_validation_messages
func udvla_validation_messages(h C.udvla_engine, count *C.uint64_t) C.int {
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

//export udvla_live_engines
func udvla_live_engines() C.uint64_t {
	var n int
	protect(func() error { n = engines.len(); return nil })
	return C.uint64_t(n)
}
