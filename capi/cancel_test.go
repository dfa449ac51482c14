package main

import (
	"context"
	"fmt"
	"testing"
)

// A cancel reaches the steps registered at the time of the call, not those that register later,
// and a step's registration ends with it.
func TestStepContextsCancelRegisteredOnly(t *testing.T) {
	var s stepContexts
	a, doneA := s.start()
	b, doneB := s.start()
	doneB()
	s.cancelAll()
	if a.Err() == nil {
		t.Fatal("a registered step was not cancelled")
	}
	later, doneLater := s.start()
	defer doneLater()
	if later.Err() != nil {
		t.Fatal("a step registered after the cancel was cancelled")
	}
	doneA()
	if b.Err() == nil {
		t.Error("a finished step's context is still live")
	}
	if n := len(s.live); n != 1 {
		t.Errorf("%d steps registered, want 1 (the live one)", n)
	}
}

// The engine's cancellation error, however it is wrapped, is reported as CANCELLED.
func TestClassifyCancelled(t *testing.T) {
	err := fmt.Errorf("udvla: step cancelled after 3 of 1024 denoising steps: %w", context.Canceled)
	if got := statusOf(classifyStep(err)); got != statusCancelled {
		t.Errorf("status %v, want CANCELLED", got)
	}
}
