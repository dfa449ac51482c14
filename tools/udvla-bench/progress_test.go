package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The progress line stays silent off a terminal and during a task's first second, then rewrites
// one line, and done clears it.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf); p.on {
		t.Fatal("a buffer is not a terminal")
	}
	p := &progress{w: &buf, on: true}
	p.begin()
	p.update("quick %d", 1)
	if buf.Len() != 0 {
		t.Fatalf("printed during the first second: %q", buf.String())
	}
	p.start = time.Now().Add(-3 * time.Second)
	p.update("slow %d of %d", 2, 5)
	if got := buf.String(); !strings.HasPrefix(got, "\r\033[K") || !strings.Contains(got, "slow 2 of 5 (3 s)") {
		t.Fatalf("progress line %q", got)
	}
	p.update("too soon")
	if strings.Contains(buf.String(), "too soon") {
		t.Errorf("updated twice within 100 ms: %q", buf.String())
	}
	n := buf.Len()
	p.done()
	if buf.String()[n:] != "\r\033[K" {
		t.Errorf("done wrote %q", buf.String()[n:])
	}
	silent := &progress{w: &buf}
	silent.start = time.Now().Add(-3 * time.Second)
	n = buf.Len()
	silent.update("x")
	silent.done()
	silent.ticker(func() string { return "y" })()
	if buf.Len() != n {
		t.Errorf("a progress off a terminal wrote %q", buf.String()[n:])
	}
}
