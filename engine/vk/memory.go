package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"sync"
)

// Memory property flags, in Vulkan's numbering.
const (
	memDeviceLocal  = 1
	memHostVisible  = 2
	memHostCoherent = 4
	memHostCached   = 8
)

// smallHostVisible is the largest device-local buffer placed in host-visible device-local memory
// when that memory is a small window (a discrete card's 256 MiB BAR): per-step parameter buffers,
// which the host writes every step, gain from a direct mapping; weights and activations, written
// once or never by the host, would only crowd the window.
const smallHostVisible = 64 << 10

// memoryPlanner picks a memory type for every buffer and keeps the bytes each heap has left.
type memoryPlanner struct {
	mu        sync.Mutex
	types     []memoryType
	heapSize  []uint64
	typeBits  uint32
	align     uint64
	hasBudget bool
	used      []uint64 // bytes this device holds per heap
	devUsed   []uint64 // the part of used in device-local buffers (the hook's heap limit counts these)
	hvdlUsed  uint64   // bytes this device holds in host-visible device-local memory
	limits    MemoryLimits
	// hostVisibleAll: the host-visible device-local memory is about as large as the device's
	// memory (UMA, resizable BAR, lavapipe), so every device-local buffer goes there.
	hostVisibleAll bool
	hvdl, dl       int // memory types: host-visible device-local, device-local (plain when there is one); -1 when none
	upload         int // memory type of the host's buffers (staging, upload and readback)
}

type memoryType struct {
	flags uint32
	heap  int
}

// placement is where a buffer goes: a memory type, and whether the host maps it.
type placement struct {
	typ    int
	mapped bool
}

func (d *Device) initMemory() error {
	var mi C.uv_memory_info
	if err := check("query memory properties", C.uv_memory_info_get(d.c, &mi), ""); err != nil {
		return err
	}
	lim, err := memoryLimitsFromEnv()
	if err != nil {
		return err
	}
	p := &d.mem
	p.typeBits, p.align, p.hasBudget = uint32(mi.buffer_type_bits), uint64(mi.buffer_align), mi.has_budget != 0
	for i := 0; i < int(mi.ntypes) && i < 32; i++ {
		p.types = append(p.types, memoryType{flags: uint32(mi.type_flags[i]), heap: int(mi.type_heap[i])})
	}
	for i := 0; i < int(mi.nheaps) && i < 16; i++ {
		p.heapSize = append(p.heapSize, uint64(mi.heap_size[i]))
	}
	p.used = make([]uint64, len(p.heapSize))
	p.devUsed = make([]uint64, len(p.heapSize))
	p.setLimits(lim)
	return nil
}

// setLimits applies the test hook's limits and chooses the memory types under them.
func (p *memoryPlanner) setLimits(lim MemoryLimits) {
	p.limits = lim
	p.hvdl = p.find(memDeviceLocal|memHostVisible|memHostCoherent, 0, true)
	if lim.HideHostVisibleDeviceLocal {
		p.hvdl = -1
	}
	p.dl = p.find(memDeviceLocal, memHostVisible, true)
	if p.dl < 0 {
		p.dl = p.find(memDeviceLocal, 0, true)
	}
	if p.dl < 0 { // no device-local memory at all: any memory will do
		p.dl = p.find(0, 0, true)
	}
	p.upload = p.find(memHostVisible|memHostCoherent|memHostCached, memDeviceLocal, false)
	if p.upload < 0 {
		p.upload = p.find(memHostVisible|memHostCoherent, memDeviceLocal, false)
	}
	if p.upload < 0 {
		p.upload = p.find(memHostVisible|memHostCoherent, 0, false)
	}
	var largest uint64
	for h, s := range p.heapSize {
		if p.deviceLocalHeap(h) {
			largest = max(largest, s)
		}
	}
	p.hostVisibleAll = false
	if p.hvdl >= 0 {
		hv := p.heapSize[p.types[p.hvdl].heap]
		if lim.HostVisibleBytes > 0 {
			hv = min(hv, uint64(lim.HostVisibleBytes))
		}
		p.hostVisibleAll = hv >= largest/10*9
	}
}

func (p *memoryPlanner) deviceLocalHeap(h int) bool {
	for _, t := range p.types {
		if t.heap == h && t.flags&memDeviceLocal != 0 {
			return true
		}
	}
	return false
}

// find returns the first memory type a buffer accepts that has every flag of want and none of
// avoid, or -1. For device-local buffers (device), the hook's hide-hvdl makes every device-local
// type look unmappable.
func (p *memoryPlanner) find(want, avoid uint32, device bool) int {
	for i, t := range p.types {
		f := t.flags
		if device && p.limits.HideHostVisibleDeviceLocal && f&memDeviceLocal != 0 {
			f &^= memHostVisible | memHostCoherent | memHostCached
		}
		if p.typeBits&(1<<i) != 0 && f&want == want && f&avoid == 0 {
			return i
		}
	}
	return -1
}

// left is the number of bytes heap h can still give this device: the budget VK_EXT_memory_budget
// reports less what the process already uses, or the heap's size less what this device holds,
// and, for device-local buffers, never more than the test hook allows (the hook leaves staging
// buffers out: on a discrete card they live in the host's memory, another heap).
func (p *memoryPlanner) left(d *Device, h int, device bool) uint64 {
	var left uint64
	if p.hasBudget {
		var budget, usage [16]C.uint64_t
		if n := int(C.uv_memory_budget(d.c, &budget[0], &usage[0])); h < n && budget[h] > 0 {
			left = sub(uint64(budget[h]), uint64(usage[h]))
		} else {
			left = sub(p.heapSize[h], p.used[h])
		}
	} else {
		left = sub(p.heapSize[h], p.used[h])
	}
	if device && p.limits.HeapBytes > 0 {
		left = min(left, sub(uint64(p.limits.HeapBytes), p.devUsed[h]))
	}
	return left
}

func sub(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return 0
}

// plans lists the placements to try for a buffer of size bytes, best first, and the bytes the
// heap of the last one has left when none has room.
func (p *memoryPlanner) plans(d *Device, size uint64, kind MemKind) ([]placement, uint64) {
	if kind != DeviceLocal {
		t := p.upload
		if t < 0 {
			return nil, 0
		}
		if l := p.left(d, p.types[t].heap, false); size > l {
			return nil, l
		}
		return []placement{{t, true}}, 0
	}
	var out []placement
	if p.hvdl >= 0 && (p.hostVisibleAll || size <= smallHostVisible) {
		l := p.left(d, p.types[p.hvdl].heap, true)
		if p.limits.HostVisibleBytes > 0 {
			l = min(l, sub(uint64(p.limits.HostVisibleBytes), p.hvdlUsed))
		}
		if size <= l {
			out = append(out, placement{p.hvdl, true})
		}
	}
	if p.dl < 0 {
		return out, 0
	}
	l := p.left(d, p.types[p.dl].heap, true)
	if size <= l {
		// A plain device-local type is never mapped; a host-visible one only when the hook
		// simulates no discrete card.
		mapped := p.types[p.dl].flags&memHostVisible != 0 && p.limits == MemoryLimits{}
		out = append(out, placement{p.dl, mapped})
	}
	return out, l
}

// fits checks up front that a buffer of size bytes (of one or many chunks) has room in the heap
// it would go to, so that a buffer far beyond the budget fails before any chunk is made.
func (d *Device) fits(size int64, kind MemKind) error {
	p := &d.mem
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.upload
	if kind == DeviceLocal {
		t = p.dl
	}
	if t < 0 {
		return nil // allocate reports the missing memory type
	}
	left := p.left(d, p.types[t].heap, kind == DeviceLocal)
	if kind == DeviceLocal && p.hvdl >= 0 && p.hostVisibleAll {
		left = max(left, p.left(d, p.types[p.hvdl].heap, true))
	}
	if need := uint64(size); need > left {
		return &Error{Op: fmt.Sprintf("allocate %d-byte %s buffer", size, kindName(kind)), Result: resultOutOfDeviceMemory,
			Detail: fmt.Sprintf("%s memory has %d bytes of budget left, %d bytes short", kindName(kind), left, need-left)}
	}
	return nil
}

// allocate makes one chunk of size bytes for a buffer of kind, falling back from host-visible
// device-local memory to plain device-local memory when the first is full or refuses.
func (d *Device) allocate(size int64, kind MemKind) (chunk, error) {
	p := &d.mem
	p.mu.Lock()
	defer p.mu.Unlock()
	need := (uint64(size) + p.align - 1) / p.align * p.align
	plans, left := p.plans(d, need, kind)
	var c chunk
	var last error
	for _, pl := range plans {
		if kind == DeviceLocal && pl.mapped && p.limits.FailHostVisible {
			last = &Error{Op: fmt.Sprintf("allocate %d bytes", size), Result: resultOutOfDeviceMemory,
				Detail: "host-visible device-local memory refused by the test hook " + MemoryEnv}
			continue
		}
		var errbuf [256]C.char
		r := C.uv_buffer_create(d.c, C.uint64_t(size), C.uint32_t(pl.typ), cbool(pl.mapped), (*C.uint64_t)(&c.buf),
			(*C.uint64_t)(&c.mem), &c.mapped, &errbuf[0], C.int(len(errbuf)))
		if r != 0 {
			last = &Error{Op: fmt.Sprintf("allocate %d bytes", size), Result: int32(r), Detail: C.GoString(&errbuf[0])}
			continue
		}
		c.size, c.heap, c.bytes = size, p.types[pl.typ].heap, need
		c.hvdl = pl.typ == p.hvdl && pl.mapped && kind == DeviceLocal
		p.used[c.heap] += need
		if kind == DeviceLocal {
			c.device = true
			p.devUsed[c.heap] += need
		}
		if c.hvdl {
			p.hvdlUsed += need
		}
		return c, nil
	}
	if last != nil {
		return c, last
	}
	if (kind == DeviceLocal && p.dl < 0) || (kind != DeviceLocal && p.upload < 0) {
		return c, &Error{Op: fmt.Sprintf("allocate %d bytes", size), Result: -8, Detail: "no memory type for " + kindName(kind) + " buffers"}
	}
	return c, &Error{Op: fmt.Sprintf("allocate %d bytes", size), Result: resultOutOfDeviceMemory,
		Detail: fmt.Sprintf("%s memory has %d bytes of budget left, %d bytes short", kindName(kind), left, need-min(need, left))}
}

// freeChunk destroys a chunk and returns its bytes to its heap.
func (d *Device) freeChunk(c chunk) {
	p := &d.mem
	p.mu.Lock()
	p.used[c.heap] = sub(p.used[c.heap], c.bytes)
	if c.device {
		p.devUsed[c.heap] = sub(p.devUsed[c.heap], c.bytes)
	}
	if c.hvdl {
		p.hvdlUsed = sub(p.hvdlUsed, c.bytes)
	}
	p.mu.Unlock()
	C.uv_buffer_destroy(d.c, C.uint64_t(c.buf), C.uint64_t(c.mem))
}

func kindName(k MemKind) string {
	switch k {
	case DeviceLocal:
		return "device-local"
	case Upload:
		return "upload"
	}
	return "readback"
}

// MemoryUse is what a device holds in its memory, for tests and reports.
type MemoryUse struct {
	HeapBytes              []uint64 // per heap
	DeviceLocalBytes       uint64   // the part of it in device-local buffers (staging left out)
	HostVisibleDeviceLocal uint64   // the part of it in host-visible device-local memory
	HostVisibleAll         bool     // every device-local buffer is placed host-visible
	Budget                 bool     // heap budgets come from VK_EXT_memory_budget
}

// MemoryUse reports the bytes this device holds.
func (d *Device) MemoryUse() MemoryUse {
	p := &d.mem
	p.mu.Lock()
	defer p.mu.Unlock()
	var dl uint64
	for _, n := range p.devUsed {
		dl += n
	}
	return MemoryUse{HeapBytes: append([]uint64(nil), p.used...), DeviceLocalBytes: dl, HostVisibleDeviceLocal: p.hvdlUsed,
		HostVisibleAll: p.hostVisibleAll, Budget: p.hasBudget}
}
