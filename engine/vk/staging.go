package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"unsafe"
)

// The staging ring bounds the host memory that transfers to and from unmappable (device-local)
// buffers take, however large the transfer: a weight of gigabytes streams through it slot by slot.
// While the device copies one slot the host fills the next, and every wait blocks on a fence.
const (
	ringSlots     = 4
	ringSlotBytes = 4 << 20
	ringMinBytes  = 64 << 10 // the smallest slot tried when host-visible memory is short
)

type stagingRing struct {
	slots []stagingSlot
	next  int
}

type stagingSlot struct {
	mem  chunk
	seq  *Sequence
	busy bool   // submitted and not yet waited on
	dst  []byte // for a read: where the slot's bytes go once its copy has finished
}

// stagingRing returns the device's ring, making it at the first use. The slots shrink when the
// host-visible memory cannot hold them at full size.
func (d *Device) stagingRing() (*stagingRing, error) {
	if d.ring != nil {
		return d.ring, nil
	}
	r := &stagingRing{}
	size := int64(ringSlotBytes)
	for len(r.slots) < ringSlots {
		c, err := d.allocate(size, Upload)
		if err != nil {
			if size/2 >= ringMinBytes && len(r.slots) == 0 {
				size /= 2
				continue
			}
			if len(r.slots) > 0 {
				break // fewer slots still work, with less overlap
			}
			return nil, err
		}
		s, err := d.NewSequence()
		if err != nil {
			d.freeChunk(c)
			r.destroy(d)
			return nil, err
		}
		r.slots = append(r.slots, stagingSlot{mem: c, seq: s})
	}
	d.ring = r
	return r, nil
}

func (r *stagingRing) destroy(d *Device) {
	if r == nil {
		return
	}
	for _, s := range r.slots {
		s.seq.destroy()
		d.freeChunk(s.mem)
	}
	r.slots = nil
}

// finish waits for a slot's copy and, for a read, hands its bytes over.
func (r *stagingRing) finish(s *stagingSlot) error {
	if !s.busy {
		return nil
	}
	s.busy = false
	if err := s.seq.wait(); err != nil {
		return err
	}
	if s.dst != nil {
		copy(s.dst, unsafe.Slice((*byte)(s.mem.mapped), len(s.dst)))
		s.dst = nil
	}
	return nil
}

// drain waits for every slot in flight, keeping the first error.
func (r *stagingRing) drain(err error) error {
	for i := range r.slots {
		if e := r.finish(&r.slots[i]); err == nil {
			err = e
		}
	}
	return err
}

// staged moves data between the host and a buffer that is not mapped, through the ring.
func (d *Device) staged(b *Buffer, off int64, data []byte, toDevice bool) error {
	d.xferMu.Lock()
	defer d.xferMu.Unlock()
	r, err := d.stagingRing()
	if err != nil {
		return err
	}
	for pos := int64(0); pos < int64(len(data)); {
		s := &r.slots[r.next]
		r.next = (r.next + 1) % len(r.slots)
		if err := r.finish(s); err != nil {
			return r.drain(err)
		}
		n := min(s.mem.size, int64(len(data))-pos)
		s.seq.Reset()
		b.eachChunk(off+pos, n, func(c *chunk, in, p, k int64) {
			src := Binding{Buf: s.mem.buf, Off: p, Size: k}
			dst := Binding{Buf: c.buf, Off: in, Size: k}
			if !toDevice {
				src, dst = dst, src
			}
			s.seq.Copy(src, dst)
		})
		if toDevice {
			copy(unsafe.Slice((*byte)(s.mem.mapped), n), data[pos:pos+n])
		} else {
			s.dst = data[pos : pos+n]
		}
		if err := s.seq.Record(); err != nil {
			return r.drain(err)
		}
		if err := s.seq.submitNoWait(); err != nil {
			s.dst = nil
			return r.drain(err)
		}
		s.busy = true
		pos += n
	}
	return r.drain(nil)
}
