package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Device is a logical device with one compute queue. Its methods are safe for concurrent use;
// a Sequence is used by one goroutine at a time.
type Device struct {
	Info DeviceInfo
	// Kernels is the kernel-table override the device was opened with (Options.Kernels); the
	// kernels of engine/gpu apply it over their per-device choice.
	Kernels string
	inst    *Instance
	ownsIn  bool
	c       *C.uv_device

	submitMu sync.Mutex // the queue is externally synchronized

	pipeMu    sync.Mutex
	pipelines map[pipelineKey]*Pipeline

	mem    memoryPlanner
	ring   *stagingRing // made at the first transfer to or from unmappable memory
	xferMu sync.Mutex   // one staged transfer at a time: they share the ring

	liveBuffers atomic.Int64
	closeMu     sync.RWMutex
	closed      bool

	// lost is set when a submission returned VK_ERROR_DEVICE_LOST: later work is refused.
	lost atomic.Bool
	// submits counts queue submissions; the fault hook (faults.go) fails number faultAt with
	// faultResult.
	submits, faultAt atomic.Int64
	faultResult      atomic.Int32
}

// Open creates an instance and opens the device the options select (environment applied).
// Closing the device closes the instance.
func Open(opts Options) (*Device, error) {
	opts = opts.WithEnv()
	in, err := NewInstance(opts)
	if err != nil {
		return nil, err
	}
	d, err := in.OpenDevice(opts.Device, opts.Robust)
	if err != nil {
		in.Close()
		return nil, err
	}
	d.ownsIn = true
	d.Kernels = opts.Kernels
	return d, nil
}

// OpenDevice opens the selected device (see Choose) on this instance.
func (in *Instance) OpenDevice(sel string, robust bool) (*Device, error) {
	info, err := in.Choose(sel)
	if err != nil {
		return nil, err
	}
	var c *C.uv_device
	var errbuf [512]C.char
	r := C.uv_device_create(in.c, C.uint64_t(in.phys[info.Index]), cbool(robust), &c, &errbuf[0], C.int(len(errbuf)))
	if r != 0 {
		return nil, &Error{Op: fmt.Sprintf("open device %q", info.Name), Result: int32(r), Detail: C.GoString(&errbuf[0])}
	}
	d := &Device{Info: info, inst: in, c: c, pipelines: map[pipelineKey]*Pipeline{}}
	if err := d.initMemory(); err != nil {
		C.uv_device_destroy(c)
		return nil, err
	}
	fr, at, err := faultFromEnv()
	if err != nil {
		C.uv_device_destroy(c)
		return nil, err
	}
	if at > 0 {
		d.InjectFaultForTest(fr, at)
	}
	return d, nil
}

// Instance returns the instance the device was opened on.
func (d *Device) Instance() *Instance { return d.inst }

// LiveBuffers is the number of buffers not yet closed (for leak tests).
func (d *Device) LiveBuffers() int64 { return d.liveBuffers.Load() }

// use guards an operation against a concurrent Close; release must be called after.
func (d *Device) use() error {
	d.closeMu.RLock()
	if d.closed {
		d.closeMu.RUnlock()
		return fmt.Errorf("vulkan: device %q is closed", d.Info.Name)
	}
	if d.lost.Load() {
		d.closeMu.RUnlock()
		return d.errLost()
	}
	return nil
}

func (d *Device) release() { d.closeMu.RUnlock() }

// Close waits for the device to go idle and frees its pipelines and staging resources. Buffers and
// sequences are owned by their creators and must be closed before.
func (d *Device) Close() {
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		return
	}
	d.closed = true
	d.closeMu.Unlock()
	d.ring.destroy(d)
	for _, p := range d.pipelines {
		C.uv_pipeline_destroy(d.c, C.uint64_t(p.handle), C.uint64_t(p.layout), C.uint64_t(p.setLayout))
	}
	d.pipelines = nil
	C.uv_device_destroy(d.c)
	if d.ownsIn {
		d.inst.Close()
	}
}
