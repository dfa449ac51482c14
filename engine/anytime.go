package engine

import (
	"context"
	"fmt"
	"time"
)

// anytime stops a JD3P loop before a step that would not finish by the request's deadline. Every
// JD3P step samples every position, so the last step's sampled tokens are always a complete
// answer; the result is then marked early (Result.Early, Result.StepsRun).
//
// A step's cost is judged by the longest step so far, measured between the starts of consecutive
// steps (host work and device wait together). The first step always runs: nothing is known about
// its cost before it, and without it there is no answer at all.
type anytime struct {
	deadline time.Time
	now      func() time.Time
	last     time.Time     // when the previous step started
	worst    time.Duration // the longest step so far
	stopped  bool
}

// newAnytime returns the controller of a request, or nil when it decodes to the end: a mode other
// than JD3P, or a context without a deadline.
func newAnytime(ctx context.Context, mode Mode, now func() time.Time) *anytime {
	d, ok := ctx.Deadline()
	if !ok || mode != ModeJD3P {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &anytime{deadline: d, now: now}
}

// next is asked before step s; false stops the loop before it (never before step 0).
func (a *anytime) next(s int) bool {
	if a == nil {
		return true
	}
	t := a.now()
	if s > 0 {
		a.worst = max(a.worst, t.Sub(a.last))
		if t.Add(a.worst).After(a.deadline) {
			a.stopped = true
			return false
		}
	}
	a.last = t
	return true
}

// startErr is the error of a step whose context is done before it starts: a cancelled context,
// or a passed deadline in a mode that does not decode anytime (JD3P still runs its first step).
func startErr(ctx context.Context, mode Mode) error {
	err := ctx.Err()
	if err == nil || (err == context.DeadlineExceeded && mode == ModeJD3P) {
		return nil
	}
	return fmt.Errorf("udvla: step not started: %w", err)
}

// expired tells whether err is the deadline this controller works to: the loop then stops with
// the last step's tokens instead of failing (the estimate fell short).
func (a *anytime) expired(ctx context.Context, s int) bool {
	if a == nil || s == 0 || ctx.Err() != context.DeadlineExceeded {
		return false
	}
	a.stopped = true
	return true
}

// proceed is the decode.Job.Proceed of a request under ctx: cancellation fails the job, and with a
// controller the deadline stops it early instead. It asks the controller step by step.
func (a *anytime) proceed(ctx context.Context) func(s, n int) (bool, error) {
	return func(s, n int) (bool, error) {
		if !a.next(s) || a.expired(ctx, s) {
			return false, nil
		}
		if err := ctx.Err(); err != nil && !(a != nil && err == context.DeadlineExceeded) {
			return false, err
		}
		return true, nil
	}
}
