package vk

/*
#include <stdlib.h>
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Pipeline is a compute pipeline: one SPIR-V module specialized by constants, with nbind storage
// buffers (pushed as descriptors per dispatch) and push constants.
type Pipeline struct {
	Name                      string
	handle, layout, setLayout uint64
	NBind                     int
	PushSize                  int
}

type pipelineKey struct {
	name string
	spec string
}

// Pipeline returns the pipeline for (name, spec), creating it on first use. Creating one is a JIT
// compile on most drivers, so callers should keep the number of distinct specializations small.
// reqSubgroup, when non-zero and supported, pins the subgroup size.
func (d *Device) Pipeline(name string, spirv []byte, spec []uint32, nbind, pushSize int, reqSubgroup int) (*Pipeline, error) {
	if len(spirv) == 0 || len(spirv)%4 != 0 {
		return nil, fmt.Errorf("vulkan: pipeline %s: SPIR-V of %d bytes is not a whole number of words", name, len(spirv))
	}
	if nbind > C.UV_MAX_BINDINGS || pushSize > C.UV_MAX_PUSH || pushSize > d.Info.MaxPushConstants || pushSize%4 != 0 {
		return nil, fmt.Errorf("vulkan: pipeline %s: %d bindings / %d push bytes exceed the limits", name, nbind, pushSize)
	}
	if len(spec) > 64 {
		return nil, fmt.Errorf("vulkan: pipeline %s: %d specialization constants (max 64)", name, len(spec))
	}
	if err := d.use(); err != nil {
		return nil, err
	}
	defer d.release()
	key := pipelineKey{name, fmt.Sprint(spec, nbind, pushSize, reqSubgroup)}
	d.pipeMu.Lock()
	defer d.pipeMu.Unlock()
	if p, ok := d.pipelines[key]; ok {
		return p, nil
	}
	if reqSubgroup != 0 && (reqSubgroup < d.Info.MinSubgroup || reqSubgroup > d.Info.MaxSubgroup) {
		reqSubgroup = 0
	}
	code := C.CBytes(spirv)
	defer C.free(code)
	entry := C.CString("main")
	defer C.free(unsafe.Pointer(entry))
	var cspec *C.uint32_t
	if len(spec) > 0 {
		cs := C.malloc(C.size_t(4 * len(spec)))
		defer C.free(cs)
		copy(unsafe.Slice((*uint32)(cs), len(spec)), spec)
		cspec = (*C.uint32_t)(cs)
	}
	p := &Pipeline{Name: name, NBind: nbind, PushSize: pushSize}
	var errbuf [256]C.char
	r := C.uv_pipeline_create(d.c, (*C.uint32_t)(code), C.uint64_t(len(spirv)), entry, cspec, C.uint32_t(len(spec)),
		C.uint32_t(nbind), C.uint32_t(pushSize), C.uint32_t(reqSubgroup),
		(*C.uint64_t)(&p.handle), (*C.uint64_t)(&p.layout), (*C.uint64_t)(&p.setLayout), &errbuf[0], C.int(len(errbuf)))
	if r != 0 {
		return nil, &Error{Op: "create pipeline " + name, Result: int32(r), Detail: C.GoString(&errbuf[0])}
	}
	d.pipelines[key] = p
	return p, nil
}
