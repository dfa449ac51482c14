package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"context"
	"sync"
	"time"

	"github.com/udvla/udvla/engine"
)

// stepContexts holds the cancel functions of an engine's steps in progress or waiting for the
// engine, so that udvla_cancel can stop them from another thread. C callers have no context of
// their own: each step registers one for its duration.
type stepContexts struct {
	mu   sync.Mutex
	next uint64
	live map[uint64]context.CancelFunc
}

// start registers a new step and returns its context and the function that ends it.
func (s *stepContexts) start() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[uint64]context.CancelFunc{}
	}
	s.next++
	id := s.next
	s.live[id] = cancel
	return ctx, func() {
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
		cancel()
	}
}

// cancelAll cancels every step registered now; steps registered later are not affected.
func (s *stepContexts) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.live {
		cancel()
	}
}

// step runs one step of the engine under a context udvla_cancel can cancel, with the request's
// time budget (0: none) as its deadline.
func (oe *openEngine) step(r *engine.Request, budget time.Duration) (*engine.Result, error) {
	ctx, done := oe.steps.start()
	defer done()
	if budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	return oe.eng.Step(ctx, r)
}

//export udvla_cancel
func udvla_cancel(h C.udvla_engine) C.int {
	return export(func() error {
		oe, err := engines.get(uint64(h))
		if err != nil {
			return err
		}
		oe.steps.cancelAll()
		return nil
	})
}
