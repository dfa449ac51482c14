package main

import "sync"

// handleTable maps the integer handles C holds to Go values. Handles count up from 1 and are never
// reused, so a handle that was given out and removed is told apart from one never given out: the
// first is CLOSED, the second INVALID_HANDLE.
type handleTable[T any] struct {
	mu    sync.RWMutex
	last  uint64
	items map[uint64]T
}

// add stores v and returns its new handle.
func (t *handleTable[T]) add(v T) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.items == nil {
		t.items = map[uint64]T{}
	}
	t.last++
	t.items[t.last] = v
	return t.last
}

// get returns the value of a live handle.
func (t *handleTable[T]) get(h uint64) (T, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lookup(h)
}

// remove takes a live handle out of the table and returns its value.
func (t *handleTable[T]) remove(h uint64) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, err := t.lookup(h)
	if err == nil {
		delete(t.items, h)
	}
	return v, err
}

func (t *handleTable[T]) lookup(h uint64) (T, error) {
	var zero T
	if h == 0 || h > t.last {
		return zero, errorf(statusInvalidHandle, "udvla: %d is not an engine handle", h)
	}
	v, ok := t.items[h]
	if !ok {
		return zero, errorf(statusClosed, "udvla: engine %d is closed", h)
	}
	return v, nil
}

// len is the number of live handles.
func (t *handleTable[T]) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.items)
}
