package vk

/*
#include <stdlib.h>
#include "vkc.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	vkgo "github.com/vulkan-go/vulkan"
)

// Options configure an Instance and the Device opened on it.
type Options struct {
	// Validate enables the Khronos validation layer; SyncValidate adds synchronization validation.
	// UDVLA_VALIDATE=1 in the environment turns both on.
	Validate     bool
	SyncValidate bool
	// Robust enables robustBufferAccess: out-of-bounds shader accesses are discarded instead of
	// writing into host memory (on lavapipe device memory is host memory). On by default with
	// validation; UDVLA_ROBUST=0 turns it off even then, so that tests run as production does
	// and their guard bands see an overrunning kernel.
	Robust bool
	// Device selects a device by index or by a case-insensitive name substring; empty chooses
	// UDVLA_DEVICE from the environment, else the best (discrete > integrated > virtual > CPU).
	Device string
	// Kernels overrides the per-device kernel table (engine/gpu/kernels.go), as
	// "family=variant,..."; empty takes UDVLA_KERNELS from the environment, else the table's choice.
	Kernels string
}

// Getenv reads the UDVLA_* settings. It is os.Getenv for Go programs; the C library replaces it
// with libc's getenv, because a Go runtime loaded into a C or Python process keeps its own copy
// of the environment taken at load, and the host's setenv after that must still be seen.
var Getenv = os.Getenv

// WithEnv returns o with the UDVLA_VALIDATE, UDVLA_ROBUST, UDVLA_DEVICE and UDVLA_KERNELS settings
// applied, read through Getenv at the time of the call. A device or kernel override named in o wins
// over the environment.
func (o Options) WithEnv() Options {
	if v := Getenv("UDVLA_VALIDATE"); v != "" && v != "0" {
		o.Validate, o.SyncValidate, o.Robust = true, true, true
	}
	if d := Getenv("UDVLA_DEVICE"); d != "" && o.Device == "" {
		o.Device = d
	}
	if k := Getenv("UDVLA_KERNELS"); k != "" && o.Kernels == "" {
		o.Kernels = k
	}
	if o.Validate {
		o.Robust = true
	}
	if Getenv("UDVLA_ROBUST") == "0" {
		o.Robust = false
	}
	return o
}

var loadOnce sync.Once
var loadErr error

// load opens libvulkan.so.1 (not the dev-only libvulkan.so that vulkan-go looks for) and hands
// vkGetInstanceProcAddr to vulkan-go.
func load() error {
	loadOnce.Do(func() {
		if msg := C.uv_load(); msg != nil {
			loadErr = fmt.Errorf("vulkan: cannot load libvulkan.so.1: %s (install the Vulkan loader: libvulkan1)", C.GoString(msg))
			return
		}
		vkgo.SetGetInstanceProcAddr(C.uv_get_instance_proc_addr())
		if err := vkgo.Init(); err != nil {
			loadErr = fmt.Errorf("vulkan: %v", err)
		}
	})
	return loadErr
}

// Instance is a Vulkan instance and the devices it sees.
type Instance struct {
	c       *C.uv_instance
	opts    Options
	devices []DeviceInfo
	phys    []uint64
	mu      sync.Mutex
	closed  bool
}

// NewInstance creates an instance with the given options (environment settings are not applied:
// call Options.WithEnv for that).
func NewInstance(opts Options) (*Instance, error) {
	if err := load(); err != nil {
		return nil, err
	}
	if opts.SyncValidate {
		opts.Validate = true
	}
	var c *C.uv_instance
	var errbuf [512]C.char
	r := C.uv_instance_create(cbool(opts.Validate), cbool(opts.SyncValidate), C.uint32_t(apiVersion13), &c, &errbuf[0], C.int(len(errbuf)))
	if r != 0 {
		err := &Error{Op: "create instance", Result: int32(r), Detail: C.GoString(&errbuf[0])}
		if opts.Validate && int32(r) == -6 {
			err.Detail += "; the validation layer is missing: install vulkan-validationlayers"
		}
		return nil, err
	}
	in := &Instance{c: c, opts: opts}
	h := uint64(C.uv_instance_handle(c))
	if err := vkgo.InitInstance(*(*vkgo.Instance)(unsafe.Pointer(&h))); err != nil {
		in.Close()
		return nil, fmt.Errorf("vulkan: %v", err)
	}
	if err := in.enumerate(); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

const apiVersion13 = 1<<22 | 3<<12

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Devices lists the physical devices in the driver's order.
func (in *Instance) Devices() []DeviceInfo { return append([]DeviceInfo(nil), in.devices...) }

// Close destroys the instance. Devices opened on it must be closed first.
func (in *Instance) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.closed = true
	C.uv_instance_destroy(in.c)
}

// MessageCount is the number of validation messages (warnings and errors) seen so far.
func (in *Instance) MessageCount() uint64 { return uint64(C.uv_message_count(in.c)) }

// Messages returns the kept texts of messages [from, MessageCount()).
func (in *Instance) Messages(from uint64) []string {
	var out []string
	buf := make([]C.char, 4096)
	for i, n := from, in.MessageCount(); i < n; i++ {
		if C.uv_message_get(in.c, C.uint64_t(i), &buf[0], C.int(len(buf))) != 0 {
			out = append(out, C.GoString(&buf[0]))
		} else {
			out = append(out, fmt.Sprintf("(message %d dropped: only the first 64 are kept)", i))
		}
	}
	return out
}

// InjectMessage adds a message as if the validation layer had sent it; the gate's self-test uses it.
func (in *Instance) InjectMessage(msg string) {
	cs := C.CString(msg)
	defer C.free(unsafe.Pointer(cs))
	C.uv_message_inject(in.c, cs)
}

// Validating reports whether the validation layer is on.
func (in *Instance) Validating() bool { return in.opts.Validate }

// ErrNoDevice is returned when no Vulkan device matches.
var ErrNoDevice = errors.New("vulkan: no device found (install a driver; lavapipe is in mesa-vulkan-drivers)")
