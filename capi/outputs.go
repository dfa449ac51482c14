package main

import "unsafe"

// output is one of a result's four caller-owned buffers as plain values: its field name, the
// pointer and the capacity in elements (int32 or float, both 4 bytes).
type output struct {
	name string
	ptr  unsafe.Pointer
	cap  uint64
}

// checkOutputs checks the buffers before a step runs. A NULL buffer with capacity 0 skips its
// output; a NULL one with a capacity is NULL_POINTER; one whose capacity is below the size a step
// needs is BUFFER_TOO_SMALL. A capacity is an upper bound: any larger one is fine.
func checkOutputs(bufs [4]output, need resultSizes) error {
	needs := [4]int{need.region, need.future, need.tokens, need.actions}
	for _, b := range bufs {
		if b.ptr == nil && b.cap != 0 {
			return errorf(statusNullPointer, "udvla_step: result.%s is NULL with capacity %d", b.name, b.cap)
		}
	}
	for i, b := range bufs {
		if err := checkOutput(b, needs[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkOutput checks one buffer whose NULL-with-capacity case checkOutputs has ruled out, or
// checks that too for a buffer outside the four.
func checkOutput(b output, need int) error {
	if b.ptr == nil && b.cap != 0 {
		return errorf(statusNullPointer, "udvla_step: result.%s is NULL with capacity %d", b.name, b.cap)
	}
	if b.ptr != nil && b.cap < uint64(need) {
		return errorf(statusBufferTooSmall, "udvla_step: result.%s holds %d elements, a step needs %d", b.name, b.cap, need)
	}
	return nil
}

// copyOut copies src into the buffer, at most its capacity: the slice is min(capacity, len(src))
// long, so a capacity beyond any int (SIZE_MAX) is never converted.
func copyOut[T int32 | float32 | byte](b output, src []T) {
	if b.ptr == nil || b.cap == 0 {
		return
	}
	n := len(src)
	if b.cap < uint64(n) {
		n = int(b.cap)
	}
	copy(unsafe.Slice((*T)(b.ptr), n), src)
}
