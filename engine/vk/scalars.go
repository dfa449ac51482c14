package vk

import "unsafe"

// The typed reads and writes of int32 and float32 arrays: the one codec between Go slices and the
// buffers shaders read as int[] and float[]. Vulkan buffers hold the host's byte order, and every
// host udvla builds for is little-endian (endian_guard.go stops a build for any other), so a slice's
// memory is already the buffer's bytes: no copy, no allocation.

func scalarBytes[T int32 | uint32 | float32](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// WriteInt32s writes v at byte off of b.
func WriteInt32s(b *Buffer, off int64, v []int32) error { return b.Write(off, scalarBytes(v)) }

// WriteFloat32s writes v at byte off of b.
func WriteFloat32s(b *Buffer, off int64, v []float32) error { return b.Write(off, scalarBytes(v)) }

// ReadInt32s fills dst from byte off of b.
func ReadInt32s(b *Buffer, off int64, dst []int32) error { return b.Read(off, scalarBytes(dst)) }

// ReadFloat32s fills dst from byte off of b.
func ReadFloat32s(b *Buffer, off int64, dst []float32) error { return b.Read(off, scalarBytes(dst)) }
