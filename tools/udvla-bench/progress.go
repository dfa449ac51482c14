package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress shows what a long task is doing on one terminal line of stderr. It stays silent when
// stderr is not a terminal (a pipe, a file, a test) and during a task's first second, so quick
// tasks print nothing.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	start time.Time
	last  time.Time
	shown bool
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: isTerminal(w)}
}

// begin starts a task.
func (p *progress) begin() {
	p.mu.Lock()
	p.start = time.Now()
	p.mu.Unlock()
}

// update shows the task's state, at most ten times a second, once it has run for a second.
func (p *progress) update(format string, a ...any) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K%s (%.0f s)", fmt.Sprintf(format, a...), now.Sub(p.start).Seconds())
}

// done clears the line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.shown = false
}

// ticker calls update with status() every 200 ms until the returned stop is called: for tasks
// that report nothing themselves (writing a model file, opening an engine).
func (p *progress) ticker(status func() string) (stop func()) {
	if !p.on {
		return func() {}
	}
	p.begin()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.update("%s", status())
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		p.done()
	}
}
