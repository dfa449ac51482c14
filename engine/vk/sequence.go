package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"slices"
	"time"
	"unsafe"
)

// Access is one buffer a dispatch binds, and whether the shader writes it.
type Access struct {
	Binding
	Write bool
}

// R and W make Accesses.
func R(b Binding) Access { return Access{b, false} }
func W(b Binding) Access { return Access{b, true} }

// Sequence is a list of commands recorded into one command buffer, submitted and waited on as a
// unit, and replayable without re-recording. Barriers are inserted where a command reads or
// writes a buffer that an earlier command since the last barrier wrote (or writes one it read).
// Adding commands allocates nothing once the sequence has grown to its size: Reset keeps capacity.
type Sequence struct {
	dev                 *Device
	pool, cb, fence, qp uint64
	qpSize              int
	cmds                []C.uv_cmd
	work                []Work // work[i] is what cmds[i] does, for profiles
	written, read       []uint64
	dirty               bool
	// Timing, when set before recording, writes a timestamp after every command.
	Timing bool
	stamps []uint64
	closed bool
}

// NewSequence creates an empty sequence with its own command pool and fence.
func (d *Device) NewSequence() (*Sequence, error) {
	if err := d.use(); err != nil {
		return nil, err
	}
	defer d.release()
	s := &Sequence{dev: d}
	if err := check("create command buffer", C.uv_cmdbuf_create(d.c, (*C.uint64_t)(&s.pool), (*C.uint64_t)(&s.cb), (*C.uint64_t)(&s.fence)), ""); err != nil {
		return nil, err
	}
	return s, nil
}

// Len is the number of commands.
func (s *Sequence) Len() int { return len(s.cmds) }

// Reset empties the sequence, keeping its memory.
func (s *Sequence) Reset() {
	s.cmds = s.cmds[:0]
	s.work = s.work[:0]
	s.written = s.written[:0]
	s.read = s.read[:0]
	s.dirty = true
}

func contains(list []uint64, b uint64) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// hazard reports whether an access conflicts with accesses since the last barrier.
func (s *Sequence) hazard(b uint64, write bool) bool {
	return contains(s.written, b) || (write && contains(s.read, b))
}

func (s *Sequence) note(b uint64, write bool) {
	if write {
		if !contains(s.written, b) {
			s.written = append(s.written, b)
		}
	} else if !contains(s.read, b) {
		s.read = append(s.read, b)
	}
}

func (s *Sequence) push(c *C.uv_cmd, acc []Access) {
	barrier := false
	for i := range acc {
		if s.hazard(acc[i].Buf, acc[i].Write) {
			barrier = true
		}
	}
	if barrier {
		c.flags |= C.UV_FLAG_BARRIER_BEFORE
		s.written = s.written[:0]
		s.read = s.read[:0]
	}
	for i := range acc {
		s.note(acc[i].Buf, acc[i].Write)
	}
	if s.Timing {
		c.flags |= C.UV_FLAG_TIMESTAMP_AFTER
	}
	s.dirty = true
}

// next returns a zeroed command at the end of the list, doing w, reusing capacity.
func (s *Sequence) next(w Work) *C.uv_cmd {
	s.work = append(s.work, w)
	if len(s.cmds) < cap(s.cmds) {
		s.cmds = s.cmds[:len(s.cmds)+1]
		c := &s.cmds[len(s.cmds)-1]
		*c = C.uv_cmd{}
		return c
	}
	s.cmds = append(s.cmds, C.uv_cmd{})
	return &s.cmds[len(s.cmds)-1]
}

// Dispatch adds a dispatch of p over groups doing w, with push constants and the buffers in
// binding order.
func (s *Sequence) Dispatch(p *Pipeline, w Work, gx, gy, gz uint32, push []byte, binds ...Access) {
	if len(binds) != p.NBind || len(push) > p.PushSize {
		panic(fmt.Sprintf("vk: dispatch of %s with %d bindings and %d push bytes (pipeline has %d and %d)",
			p.Name, len(binds), len(push), p.NBind, p.PushSize))
	}
	c := s.next(w)
	c.kind = C.UV_CMD_DISPATCH
	c.pipeline = C.uint64_t(p.handle)
	c.layout = C.uint64_t(p.layout)
	c.groups = [3]C.uint32_t{C.uint32_t(gx), C.uint32_t(gy), C.uint32_t(gz)}
	c.nbind = C.uint32_t(len(binds))
	for i := range binds {
		c.buf[i] = C.uint64_t(binds[i].Buf)
		c.off[i] = C.uint64_t(binds[i].Off)
		c.rng[i] = C.uint64_t(binds[i].Size + binds[i].Guard)
	}
	c.push_size = C.uint32_t(p.PushSize)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&c.push[0])), len(push)), push)
	s.push(c, binds)
}

// Copy adds a buffer-to-buffer copy of src.Size bytes: each byte read once and written once.
func (s *Sequence) Copy(src, dst Binding) {
	c := s.next(Work{Label: "copy", Bytes: 2 * float64(src.Size)})
	c.kind = C.UV_CMD_COPY
	c.buf[0], c.off[0], c.rng[0] = C.uint64_t(src.Buf), C.uint64_t(src.Off), C.uint64_t(src.Size)
	c.buf[1], c.off[1] = C.uint64_t(dst.Buf), C.uint64_t(dst.Off)
	s.push(c, []Access{R(src), W(dst)})
}

// Record records the commands into the command buffer: one cgo call for the whole list.
func (s *Sequence) Record() error {
	if err := s.dev.use(); err != nil {
		return err
	}
	defer s.dev.release()
	nq := 0
	if s.Timing && s.dev.Info.Timestamps {
		nq = len(s.cmds) + 1
		if nq > s.qpSize {
			if s.qp != 0 {
				C.uv_querypool_destroy(s.dev.c, C.uint64_t(s.qp))
				s.qp, s.qpSize = 0, 0
			}
			if err := check("create query pool", C.uv_querypool_create(s.dev.c, C.uint32_t(nq), (*C.uint64_t)(&s.qp)), ""); err != nil {
				return err
			}
			s.qpSize = nq
		}
	}
	var first *C.uv_cmd
	if len(s.cmds) > 0 {
		first = &s.cmds[0]
	}
	qp := uint64(0)
	if nq > 0 {
		qp = s.qp
	}
	if err := check("record command buffer", C.uv_record(s.dev.c, C.uint64_t(s.cb), first, C.uint32_t(len(s.cmds)), C.uint64_t(qp), C.uint32_t(nq)), ""); err != nil {
		return err
	}
	s.dirty = false
	s.stamps = s.stamps[:0]
	return nil
}

// Submit runs the recorded command buffer and blocks until it has finished.
func (s *Sequence) Submit() error {
	s.stamps = s.stamps[:0]
	return s.submit(true)
}

// submitNoWait queues the recorded command buffer and returns; wait blocks until it has run.
func (s *Sequence) submitNoWait() error { return s.submit(false) }

func (s *Sequence) submit(wait bool) error {
	if err := s.dev.use(); err != nil {
		return err
	}
	defer s.dev.release()
	if r := s.dev.injectedFault(); r != 0 {
		if r == resultDeviceLost {
			s.dev.lost.Store(true)
		}
		return &Error{Op: "submit", Result: r, Detail: "injected by the test hook " + FaultEnv}
	}
	s.dev.submitMu.Lock()
	var r C.int
	if wait {
		r = C.uv_submit_wait(s.dev.c, C.uint64_t(s.cb), C.uint64_t(s.fence))
	} else {
		r = C.uv_submit(s.dev.c, C.uint64_t(s.cb), C.uint64_t(s.fence))
	}
	s.dev.submitMu.Unlock()
	if r == resultDeviceLost {
		s.dev.lost.Store(true)
	}
	return check("submit", r, "")
}

func (s *Sequence) wait() error {
	r := C.uv_wait(s.dev.c, C.uint64_t(s.fence))
	if r == resultDeviceLost {
		s.dev.lost.Store(true)
	}
	return check("wait for fence", r, "")
}

// Run records the sequence if it changed since the last recording, then submits it.
func (s *Sequence) Run() error {
	if s.dirty {
		if err := s.Record(); err != nil {
			return err
		}
	}
	return s.Submit()
}

// Durations returns the GPU time of each command of the last submission (Timing must have been
// set when recording; nil when the device has no timestamps).
func (s *Sequence) Durations() ([]time.Duration, error) {
	n, err := s.readStamps()
	if n == 0 || err != nil {
		return nil, err
	}
	out := make([]time.Duration, n-1)
	for i := range out {
		out[i] = time.Duration(float64(s.stamps[i+1]-s.stamps[i]) * s.dev.Info.TimestampPeriodNS)
	}
	return out, nil
}

// GPUTime is the device time of the last submission, first command to last (zero when Timing
// was not set or the device has no timestamps). It allocates nothing once the sequence has run.
func (s *Sequence) GPUTime() (time.Duration, error) {
	n, err := s.readStamps()
	if n == 0 || err != nil {
		return 0, err
	}
	return time.Duration(float64(s.stamps[n-1]-s.stamps[0]) * s.dev.Info.TimestampPeriodNS), nil
}

// readStamps reads the timestamps of the last submission once, into s.stamps; it returns how
// many there are (0 without timing).
func (s *Sequence) readStamps() (int, error) {
	if !s.Timing || s.qp == 0 || len(s.cmds) == 0 {
		return 0, nil
	}
	n := len(s.cmds) + 1
	if len(s.stamps) != n {
		s.stamps = slices.Grow(s.stamps[:0], n)[:n]
		if err := check("read timestamps", C.uv_timestamps(s.dev.c, C.uint64_t(s.qp), C.uint32_t(n), (*C.uint64_t)(&s.stamps[0])), ""); err != nil {
			s.stamps = s.stamps[:0]
			return 0, err
		}
	}
	return n, nil
}

// Close frees the sequence's command buffer, fence and query pool.
func (s *Sequence) Close() {
	if s == nil || s.closed {
		return
	}
	s.dev.closeMu.RLock()
	defer s.dev.closeMu.RUnlock()
	if s.dev.closed {
		s.closed = true
		return
	}
	s.destroy()
}

func (s *Sequence) destroy() {
	if s.closed {
		return
	}
	s.closed = true
	C.uv_cmdbuf_destroy(s.dev.c, C.uint64_t(s.pool), C.uint64_t(s.cb), C.uint64_t(s.fence))
	if s.qp != 0 {
		C.uv_querypool_destroy(s.dev.c, C.uint64_t(s.qp))
	}
}
