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
// asks (host work and device wait together; a segment of several steps counts as its time over
// its steps). The first step always runs, alone: nothing is known about its cost before it, and
// without it there is no answer at all.
type anytime struct {
	deadline time.Time
	// now reads the clock before step s (time.Now; tests inject a clock of steps)
	now      func(s int) time.Time
	last     time.Time     // when the previous ask's steps started
	lastStep int           // the step they started at
	worst    time.Duration // the longest step so far
	stopped  bool
}

// newAnytime returns the controller of a request, or nil when it decodes to the end: a mode other
// than JD3P, or a context without a deadline.
func newAnytime(ctx context.Context, mode Mode, now func(s int) time.Time) *anytime {
	d, ok := ctx.Deadline()
	if !ok || mode != ModeJD3P {
		return nil
	}
	if now == nil {
		now = func(int) time.Time { return time.Now() }
	}
	return &anytime{deadline: d, now: now}
}

// grant is asked before steps [s, s+n): it returns how many of them would finish by the
// deadline, 0 stopping the loop before s (never before step 0, which runs alone).
func (a *anytime) grant(s, n int) int {
	if a == nil {
		return n
	}
	t := a.now(s)
	if s == 0 {
		a.last, a.lastStep = t, 0
		return min(n, 1)
	}
	if s > a.lastStep {
		a.worst = max(a.worst, t.Sub(a.last)/time.Duration(s-a.lastStep))
	}
	a.last, a.lastStep = t, s
	fit := n
	if a.worst > 0 {
		fit = int(min(int64(n), max(int64(a.deadline.Sub(t)/a.worst), 0)))
	}
	if fit == 0 {
		a.stopped = true
	}
	return fit
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
// controller the deadline stops it early instead.
func (a *anytime) proceed(ctx context.Context) func(s, n int) (int, error) {
	return func(s, n int) (int, error) {
		if a.expired(ctx, s) {
			return 0, nil
		}
		if err := ctx.Err(); err != nil && !(a != nil && err == context.DeadlineExceeded) {
			return 0, err
		}
		return a.grant(s, n), nil
	}
}
