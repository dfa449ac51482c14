package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// MemKind says where a buffer lives and who touches it.
type MemKind int

const (
	DeviceLocal MemKind = iota // read and written by shaders; host access goes through staging when it is not mappable
	Upload                     // written by the host, read by the device
	Readback                   // written by the device, read by the host (cached)
)

// Buffer is device memory. A buffer larger than one allocation or one storage binding allows is
// made of chunks; a Binding always lies inside one chunk.
type Buffer struct {
	dev       *Device
	size      int64
	kind      MemKind
	chunkSize int64
	chunks    []chunk
	// base is where a view (Slice) starts in the buffer it was cut from, which owns the chunks.
	base int64
	view bool
}

type chunk struct {
	buf, mem uint64
	mapped   unsafe.Pointer
	size     int64
	heap     int    // the memory heap it was allocated from
	bytes    uint64 // the bytes it takes there (size rounded up to the allocation alignment)
	hvdl     bool   // placed in host-visible device-local memory
	device   bool   // made for a device-local buffer
}

// Binding is a range of one Vulkan buffer, as a shader sees it.
type Binding struct {
	Buf       uint64
	Off, Size int64
	// Guard is a number of bytes past Size that a dispatch's descriptor also covers, and that no
	// size check counts: tests put a guard band there, so that a kernel that overruns its data
	// reaches the band even on a device (lavapipe) that clamps every access to the bound range.
	Guard int64
}

// NewBuffer allocates size bytes. unit (a multiple of 4, or 0 for 256) is the granularity at which
// the buffer may be split into chunks: pass a matrix's row size so rows never straddle two chunks.
func (d *Device) NewBuffer(size int64, kind MemKind, unit int64) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("vulkan: buffer size %d must be positive", size)
	}
	if unit <= 0 {
		unit = 256
	}
	if unit%4 != 0 {
		return nil, fmt.Errorf("vulkan: buffer split unit %d must be a multiple of 4", unit)
	}
	if err := d.use(); err != nil {
		return nil, err
	}
	defer d.release()
	limit := int64(d.Info.MaxStorageBufferRange)
	if a := int64(d.Info.MaxAllocationSize); a > 0 && a < limit {
		limit = a
	}
	limit &^= 255
	cs := limit / unit * unit
	if cs <= 0 {
		return nil, fmt.Errorf("vulkan: split unit %d exceeds the device's binding limit %d", unit, limit)
	}
	if err := d.fits(size, kind); err != nil {
		return nil, err
	}
	b := &Buffer{dev: d, size: size, kind: kind, chunkSize: cs}
	for off := int64(0); off < size; off += cs {
		c, err := d.allocate(min(cs, size-off), kind)
		if err != nil {
			b.free()
			if e, ok := err.(*Error); ok {
				e.Op = fmt.Sprintf("allocate %d-byte %s buffer", size, kindName(kind))
			}
			return nil, err
		}
		b.chunks = append(b.chunks, c)
	}
	d.liveBuffers.Add(1)
	return b, nil
}

// Size is the buffer's size in bytes.
func (b *Buffer) Size() int64 { return b.size }

// ChunkSize is the largest range a single Binding of this buffer can cover.
func (b *Buffer) ChunkSize() int64 {
	if b.view {
		return b.size
	}
	return b.chunkSize
}

// Slice returns a view of [off, off+size) of b, which must lie inside one chunk and start at a
// multiple of the device's storage alignment: its Bind, Write and Read count from off and stay
// inside the view. The view shares b's memory; closing it does nothing, b must still be closed.
// Tests use it to surround a binding with guard bands of the same allocation.
func (b *Buffer) Slice(off, size int64) (*Buffer, error) {
	if _, err := b.Bind(off, size); err != nil {
		return nil, err
	}
	return &Buffer{dev: b.dev, size: size, kind: b.kind, chunkSize: b.chunkSize, chunks: b.chunks, base: b.base + off, view: true}, nil
}

// Bind returns the binding of [off, off+size), which must lie inside one chunk.
func (b *Buffer) Bind(off, size int64) (Binding, error) {
	if off < 0 || size <= 0 || off+size > b.size {
		return Binding{}, fmt.Errorf("vulkan: binding [%d,+%d) outside buffer of %d bytes", off, size, b.size)
	}
	off += b.base
	ci := off / b.chunkSize
	in := off - ci*b.chunkSize
	if in+size > b.chunks[ci].size {
		return Binding{}, fmt.Errorf("vulkan: binding [%d,+%d) straddles a %d-byte chunk boundary", off, size, b.chunkSize)
	}
	if a := int64(b.dev.Info.MinStorageAlign); a > 1 && in%a != 0 {
		return Binding{}, fmt.Errorf("vulkan: binding offset %d is not a multiple of the device's alignment %d", in, a)
	}
	return Binding{Buf: b.chunks[ci].buf, Off: in, Size: size}, nil
}

// All binds the whole buffer; it fails for a buffer of several chunks.
func (b *Buffer) All() (Binding, error) { return b.Bind(0, b.size) }

// Mappable reports whether the host reads and writes the buffer directly; when it does not,
// Write and Read go through the device's staging ring.
func (b *Buffer) Mappable() bool {
	for _, c := range b.chunks {
		if c.mapped == nil {
			return false
		}
	}
	return true
}

// Write copies data into the buffer at off.
func (b *Buffer) Write(off int64, data []byte) error {
	if off < 0 || off+int64(len(data)) > b.size {
		return fmt.Errorf("vulkan: write [%d,+%d) outside buffer of %d bytes", off, len(data), b.size)
	}
	off += b.base
	if !b.Mappable() {
		return b.dev.staged(b, off, data, true)
	}
	return b.eachChunk(off, int64(len(data)), func(c *chunk, in, pos, n int64) {
		copy(unsafe.Slice((*byte)(unsafe.Add(c.mapped, in)), n), data[pos:pos+n])
	})
}

// Read copies len(dst) bytes from off into dst. Call it after the work that wrote them has finished.
func (b *Buffer) Read(off int64, dst []byte) error {
	if off < 0 || off+int64(len(dst)) > b.size {
		return fmt.Errorf("vulkan: read [%d,+%d) outside buffer of %d bytes", off, len(dst), b.size)
	}
	off += b.base
	if !b.Mappable() {
		return b.dev.staged(b, off, dst, false)
	}
	return b.eachChunk(off, int64(len(dst)), func(c *chunk, in, pos, n int64) {
		if b.kind == Readback {
			C.uv_invalidate(b.dev.c, C.uint64_t(c.mem))
		}
		copy(dst[pos:pos+n], unsafe.Slice((*byte)(unsafe.Add(c.mapped, in)), n))
	})
}

func (b *Buffer) eachChunk(off, n int64, f func(c *chunk, in, pos, n int64)) error {
	for pos := int64(0); pos < n; {
		ci := (off + pos) / b.chunkSize
		in := off + pos - ci*b.chunkSize
		k := min(n-pos, b.chunks[ci].size-in)
		f(&b.chunks[ci], in, pos, k)
		pos += k
	}
	return nil
}

// Close frees the buffer. The device must not be using it.
func (b *Buffer) Close() {
	if b == nil || b.chunks == nil || b.view {
		return
	}
	b.free()
	b.dev.liveBuffers.Add(-1)
}

func (b *Buffer) free() {
	for _, c := range b.chunks {
		b.dev.freeChunk(c)
	}
	b.chunks = nil
}
